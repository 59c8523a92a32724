"""TensorBoard conventions: run names that overlay, a custom-scalars layout, hparams.

Runs live at ``<root>/<env>/<method>/seed<k>`` (``<env>`` is the environment id with ``/``
replaced by ``-``), so ``tensorboard --logdir <root>`` shows every method and seed of every
environment side by side, and a run filter such as ``RewardFlip.*/fade/`` picks one method.
Methods use the project's vocabulary: ``none``, ``wd``, ``reset``, ``snp``, ``redo``,
``fade``.

Example:
    >>> import tempfile
    >>> from stable_baselines3 import DQN
    >>> from fade_rl.metrics import PlasticityCallback
    >>> from fade_rl.metrics.tensorboard import configure_run, write_hparams
    >>> root = tempfile.mkdtemp()
    >>> model = DQN("MlpPolicy", "CartPole-v1", learning_starts=100, seed=0)
    >>> path = configure_run(model, root, "CartPole-v1", method="none", seed=0)
    >>> callback = PlasticityCallback(interval=200, batch_size=64, probe_interval=None)
    >>> _ = model.learn(400, callback=callback)
    >>> write_hparams(model, "none", "CartPole-v1", 0, {"learning_rate": 1e-4},
    ...               callback.final_metrics())
    >>> path.relative_to(root).as_posix()
    'CartPole-v1/none/seed_0'
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from stable_baselines3.common.logger import HParam, Logger, TensorBoardOutputFormat, configure

from fade_rl.metrics import registry

__all__ = [
    "configure_run",
    "env_slug",
    "layout",
    "run_dir",
    "run_name",
    "seed_folder",
    "write_hparams",
    "write_layout",
]

_SLUG = re.compile(r"[^A-Za-z0-9_.=+-]+")


def env_slug(env_id: str) -> str:
    """The environment id as one path component: ``fade_rl/CartPole-RewardFlip-v0`` ->
    ``fade_rl-CartPole-RewardFlip-v0``."""
    if not env_id:
        raise ValueError("env_id must be a non-empty environment id, e.g. 'CartPole-v1'")
    return _SLUG.sub("-", env_id.replace("/", "-")).strip("-")


def _check_method(method: str) -> None:
    """A method name is one path component (the vocabulary itself is the experiments')."""
    if not isinstance(method, str) or not method or _SLUG.search(method):
        raise ValueError(
            f"method must be a non-empty name of letters, digits and _.=+- (e.g. 'fade'), "
            f"got {method!r}"
        )


def _check_seed(seed: int) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")


def seed_folder(seed: int) -> str:
    """``seed_<seed>``: a seed's run folder, for library runs and CLI runs alike."""
    _check_seed(seed)
    return f"seed_{seed}"


def run_name(env_id: str, method: str, seed: int) -> str:
    """``<env>/<method>/seed_<seed>``: the run's name under the TensorBoard log root."""
    _check_method(method)
    return f"{env_slug(env_id)}/{method}/{seed_folder(seed)}"


def run_dir(root: str | Path, env_id: str, method: str, seed: int) -> Path:
    """The run's directory: ``root / run_name(env_id, method, seed)``."""
    return Path(root) / run_name(env_id, method, seed)


def _tensorboard_outputs(target: Any) -> list[TensorBoardOutputFormat]:
    logger = target if isinstance(target, Logger) else target.logger
    return [f for f in logger.output_formats if isinstance(f, TensorBoardOutputFormat)]


def layout() -> dict[str, dict[str, list[Any]]]:
    """The custom-scalars layout, ``{section: {title: ["Multiline", [regex, ...]]}}``: the
    panels of :data:`fade_rl.metrics.registry.METRICS`, in their order (the return, plasticity
    and FADE sections); entries with the same section and title share a chart."""
    out: dict[str, dict[str, list[Any]]] = {}
    for metric in registry.METRICS:
        for section, title, regexes in metric.charts():
            out.setdefault(section, {}).setdefault(title, ["Multiline", []])[1].extend(regexes)
    return out


def write_layout(target: Any) -> None:
    """Write :func:`layout` to every TensorBoard output of an SB3 logger (or a model's)."""
    outputs = _tensorboard_outputs(target)
    if not outputs:
        raise ValueError(
            "the logger has no TensorBoard output; configure one with configure_run(...) or "
            "the model's tensorboard_log=... before writing the layout"
        )
    for output in outputs:
        output.writer.add_custom_scalars(layout())
        output.writer.flush()


def configure_run(
    model: Any,
    root: str | Path,
    env_id: str,
    method: str,
    seed: int,
    formats: Sequence[str] = ("tensorboard",),
) -> Path:
    """Point ``model``'s SB3 logger at ``run_dir(root, env_id, method, seed)``; write the layout.

    SB3's ``learn`` then keeps this logger (no ``_1`` suffixes). Returns the run directory.
    """
    if "tensorboard" not in formats:
        raise ValueError(
            f"formats {list(formats)} lack 'tensorboard'; the run directory holds TensorBoard "
            "event files (add 'tensorboard', and e.g. 'csv' or 'stdout' beside it)"
        )
    path = run_dir(root, env_id, method, seed)
    path.mkdir(parents=True, exist_ok=True)
    logger = configure(str(path), list(formats))
    model.set_logger(logger)
    write_layout(logger)
    return path


def _hparam_value(value: Any) -> bool | str | float | int:
    if isinstance(value, (bool, str, int, float)):
        return value
    if value is None:
        return "None"
    return str(value)


def write_hparams(
    target: Any,
    method: str,
    env_id: str,
    seed: int,
    hyperparameters: Mapping[str, Any],
    metrics: Mapping[str, float],
    step: int | None = None,
) -> None:
    """Record the run's hparams (method, env, seed, hyperparameters) with its final metrics.

    The metrics are also written as scalars (their tags, e.g. ``final/return``) at ``step``
    (default: the model's ``num_timesteps``), which is where TensorBoard's HPARAMS tab reads
    their values. Hyperparameter values that are not bool, str, int or float are written
    as text.
    """
    _check_method(method)
    _check_seed(seed)
    if not metrics:
        raise ValueError(
            "metrics is empty; TensorBoard shows hparams only with at least one metric "
            "(e.g. callback.final_metrics())"
        )
    outputs = _tensorboard_outputs(target)
    if not outputs:
        raise ValueError("the logger has no TensorBoard output; see configure_run(...)")
    if step is None:
        step = int(getattr(target, "num_timesteps", 0))
    hparams: dict[str, Any] = {"method": method, "env": env_id, "seed": seed}
    for key, value in hyperparameters.items():
        if key in hparams:
            raise ValueError(f"hyperparameters must not redefine {key!r}; pass it as an argument")
        hparams[key] = _hparam_value(value)
    values: dict[str, Any] = {k: float(v) for k, v in metrics.items()}
    values["hparams"] = HParam(hparams, dict(values))
    excluded: dict[str, tuple[str, ...]] = {k: () for k in values}
    for output in outputs:
        output.write(values, excluded, step)
