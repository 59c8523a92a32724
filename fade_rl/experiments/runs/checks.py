"""Checks of config values that go beyond types: devices, NaN/infinity, SB3 arguments.

Each failure is a :class:`ConfigError` (or a ``ValueError`` inside a pydantic validator)
with a one-line message that names the key and the fix.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import AfterValidator

__all__ = [
    "ConfigError",
    "check_budget",
    "check_device",
    "check_hyperparams",
    "non_finite_key",
    "one_of",
]


class ConfigError(ValueError):
    """A bad config: the message is one line that names the key or the file.

    Example:
        >>> from fade_rl.experiments.runs.config import validate_config
        >>> validate_config({"env": {"id": "CartPole-v1"}, "bugdet": {}}, "example")
        Traceback (most recent call last):
        ...
        fade_rl.experiments.runs.checks.ConfigError: example: bugdet: unknown key
    """


def one_of(known: Sequence[str], what: str) -> AfterValidator:
    """A field's check (``Annotated[str, one_of(...)]``): its value must be in ``known``.

    Example:
        >>> from typing import Annotated
        >>> from pydantic import BaseModel
        >>> class Pick(BaseModel):
        ...     color: Annotated[str, one_of(("red", "blue"), "color")] = "red"
        >>> Pick(color="blue").color
        'blue'
        >>> Pick(color="green")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        pydantic_core._pydantic_core.ValidationError: 1 validation error for Pick
        color
          Value error, unknown color 'green'; use one of red, blue ...
    """

    def check(value: str) -> str:
        if value not in known:
            raise ValueError(f"unknown {what} {value!r}; use one of {', '.join(known)}")
        return value

    return AfterValidator(check)


def check_device(value: str) -> str:
    """``value`` if it names a torch device this machine has (or ``auto``); else ValueError."""
    import torch

    if value == "auto":
        return value
    fix = "use --device cpu or auto"
    try:
        device = torch.device(value)
    except (RuntimeError, ValueError):
        raise ValueError(f"unknown torch device {value!r}; {fix}") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {value!r} is not available (no CUDA on this machine); {fix}")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(
                f"device {value!r} is not available ({torch.cuda.device_count()} CUDA devices); "
                f"{fix}"
            )
    elif device.type == "mps":
        if not torch.backends.mps.is_available():
            raise ValueError(f"device {value!r} is not available on this machine; {fix}")
    elif device.type != "cpu":
        raise ValueError(f"device {value!r} is not supported; {fix}")
    return value


_NON_FINITE = {"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}


def non_finite_key(data: Any, where: str = "") -> str | None:
    """The dotted key of the first NaN or infinity in ``data`` (numbers or such strings)."""
    if isinstance(data, Mapping):
        for key, value in data.items():
            found = non_finite_key(value, f"{where}.{key}" if where else str(key))
            if found is not None:
                return found
    elif isinstance(data, (list, tuple)):
        for i, value in enumerate(data):
            found = non_finite_key(value, f"{where}[{i}]")
            if found is not None:
                return found
        return None
    if isinstance(data, float):
        return None if math.isfinite(data) else where or "value"
    if isinstance(data, str) and data.strip().lower().replace(".", "") in _NON_FINITE:
        return where or "value"
    return None


#: SB3 hyperparameters with a range: name -> (lowest, highest), both allowed.
_RANGES: dict[str, tuple[float, float]] = {
    "buffer_size": (1, math.inf),
    "batch_size": (1, math.inf),
    "learning_starts": (0, math.inf),
    "learning_rate": (0, math.inf),
    "gamma": (0, 1),
    "tau": (0, 1),
    "target_update_interval": (1, math.inf),
    "gradient_steps": (-1, 10_000),  # -1: as many as environment steps were collected
}


def check_budget(algo: Any, n_timesteps: int) -> None:
    """Refuse a ``train_freq`` longer than the run: SB3 collects a whole ``train_freq`` of
    steps before it looks at the budget, so such a run never ends.

    Example:
        >>> from types import SimpleNamespace
        >>> check_budget(SimpleNamespace(hyperparams={"train_freq": [10**9, "step"]}), 1000)
        Traceback (most recent call last):
        ...
        fade_rl.experiments.runs.checks.ConfigError: algo.hyperparams.train_freq: 1000000000 ...
    """
    freq = algo.hyperparams.get("train_freq")
    if isinstance(freq, (list, tuple)) and freq and freq[-1] == "step":
        freq = freq[0]
    if isinstance(freq, int) and not isinstance(freq, bool) and freq > n_timesteps:
        raise ConfigError(
            f"algo.hyperparams.train_freq: {freq} steps is longer than the run "
            f"({n_timesteps} steps, which it would never end); give at most budget.n_timesteps"
        )


# ---------------------------------------------------------------------------- SB3 checks
def _algo_class(name: str) -> type:
    from fade_rl.algos import FAMILIES

    return FAMILIES[name].sb3_class


def _sb3_parameters(name: str) -> dict[str, inspect.Parameter]:
    params = dict(inspect.signature(_algo_class(name)).parameters)
    for skip in ("self", "policy", "env", "seed", "device", "_init_setup_model", "tensorboard_log"):
        params.pop(skip, None)
    return params


def check_hyperparams(algo: Any) -> None:
    """Reject SB3 keyword arguments the algorithm does not take or that have the wrong type."""
    params = _sb3_parameters(algo.name)
    for key, value in list(algo.hyperparams.items()):
        where = f"algo.hyperparams.{key}"
        if key not in params:
            close = sorted(params)
            raise ConfigError(
                f"{where}: {algo.name.upper()} takes no argument {key!r}; valid: {', '.join(close)}"
            )
        default = params[key].default
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise ConfigError(f"{where}: expected true/false, got {value!r}")
        elif isinstance(default, (int, float)) and isinstance(value, bool):
            raise ConfigError(f"{where}: expected a number, got {str(value).lower()}")
        elif isinstance(default, float):
            if isinstance(value, str):  # YAML 1.1 reads 1e-3 (no dot) as a string
                try:
                    value = float(value)
                except ValueError:
                    raise ConfigError(f"{where}: expected a number, got {value!r}") from None
                algo.hyperparams[key] = value
            elif not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ConfigError(f"{where}: expected a number, got {value!r}")
        elif (
            isinstance(default, int)
            and (isinstance(value, bool) or not isinstance(value, int))
            # train_freq also takes [n, "step"]
            and not (key == "train_freq" and isinstance(value, (list, tuple)))
        ):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        value = algo.hyperparams[key]
        if key in _RANGES and isinstance(value, (int, float)) and not isinstance(value, bool):
            low, high = _RANGES[key]
            if not low <= value <= high:
                span = f">= {low}" if high == math.inf else f"in [{low}, {high}]"
                raise ConfigError(f"{where}: must be {span}, got {value!r}")
