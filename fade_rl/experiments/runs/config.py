"""Typed, validated experiment configs: YAML files, ``-p key=value`` overrides, CLI flags.

A config names one *setting* (environment, algorithm, budget, logging) plus the
hyperparameters of every method; a run picks one method and one seed. Example
(``configs/cartpole_reward_flip.yaml``)::

    name: cartpole_reward_flip
    env:
      id: fade_rl/CartPole-RewardFlip-v0
      kwargs: {reward: {sign: {type: periodic, values: [1, -1], period: 10000}}}
    algo:
      name: dqn
      hyperparams: {learning_rate: 0.001, learning_starts: 1000}
    method: fade
    methods:
      fade: {meta_lr: 1.0, init_decay: 0.0001}
      wd: {weight_decay: 0.01}
    budget: {n_timesteps: 40000}
    logging: {checkpoint_interval: 5000}

Every mistake is a :class:`ConfigError` whose message is one line naming the key or
file: an unknown key, a value of the wrong type, an unknown environment id, an SB3
hyperparameter the algorithm does not take, a missing file.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError, field_validator

from fade_rl.experiments.runs.checks import (
    ConfigError,
    check_budget,
    check_device,
    check_hyperparams,
    non_finite_key,
    one_of,
)
from fade_rl.experiments.runs.policies import check_policy
from fade_rl.experiments.runs.sections import (
    ALGOS,
    AlgoConfig,
    BudgetConfig,
    EnvConfig,
    LoggingConfig,
)
from fade_rl.experiments.runs.strict_yaml import YamlError, YamlSyntaxError, load_yaml
from fade_rl.methods import METHOD_HELP, METHODS, PROPOSED, REGISTRY, MethodsConfig
from fade_rl.strict import StrictModel

__all__ = [
    "ALGOS",
    "FLAG_KEYS",
    "METHODS",
    "METHOD_HELP",
    "AlgoConfig",
    "BudgetConfig",
    "ConfigError",
    "EnvConfig",
    "ExperimentConfig",
    "LoggingConfig",
    "MethodsConfig",
    "apply_overrides",
    "check_given_once",
    "load_config",
    "lookup",
    "parse_override",
]

_Strict = StrictModel

#: The longest setting name: it names a folder (most file systems allow 255 bytes).
MAX_NAME = 120
#: The most torch threads a run may ask for (``torch.set_num_threads`` crashes on absurd values).
MAX_TORCH_THREADS = 1024


class ExperimentConfig(_Strict):
    """One setting plus the method and seed of a run.

    ``name`` names the setting: runs land in ``<log_folder>/<name>/<method>/seed_<seed>``.

    Example:
        >>> data = {"name": "demo", "env": {"id": "CartPole-v1"}, "method": "wd", "seed": 3}
        >>> config = validate_config(data, "example")
        >>> config.name, config.algo.name, config.method, config.seed, config.method_params()
        ('demo', 'dqn', 'wd', 3, {'weight_decay': 0.01, 'target': 'head'})
        >>> validate_config(config.to_dict(), "again") == config
        True
    """

    name: str = Field(default="experiment", pattern=r"^[A-Za-z0-9_.=,+-]+$", max_length=MAX_NAME)
    env: EnvConfig
    algo: AlgoConfig = Field(default_factory=AlgoConfig)
    method: Annotated[str, one_of(METHODS, "method")] = PROPOSED
    methods: MethodsConfig = Field(default_factory=MethodsConfig)  # type: ignore[valid-type]
    budget: BudgetConfig = Field(default_factory=BudgetConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    seed: int = Field(default=0, ge=0)
    device: str = "cpu"
    torch_threads: int = Field(default=1, ge=1, le=MAX_TORCH_THREADS)

    @field_validator("name")
    @classmethod
    def _inside_log_folder(cls, value: str) -> str:
        if set(value) == {"."}:
            raise ValueError(f"name {value!r} would leave the log folder; use letters or digits")
        return value

    @field_validator("device")
    @classmethod
    def _available_device(cls, value: str) -> str:
        return check_device(value)

    def method_params(self) -> dict[str, Any]:
        """The hyperparameters of ``self.method`` (empty for a method without params)."""
        if REGISTRY[self.method].params is None:
            return {}
        return dict(getattr(self.methods, self.method).model_dump())

    def to_dict(self) -> dict[str, Any]:
        """A plain, YAML-able dict that :func:`validate_config` turns back into this config."""
        return self.model_dump(mode="json")


# ---------------------------------------------------------------------------- loading
def _error_line(exc: ValidationError, source: str) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(part) for part in err["loc"])
    kind = err["type"]
    if kind == "extra_forbidden":
        msg = "unknown key"
    elif kind == "missing":
        msg = "missing required key"
    else:
        msg = err["msg"].replace("Value error, ", "")
        if "input" in err and kind != "value_error":
            msg += f", got {err['input']!r}"
    more = len(exc.errors()) - 1
    tail = f" (and {more} more)" if more else ""
    return f"{source}: {loc}: {msg}{tail}".replace("\n", " ")


def validate_config(data: Mapping[str, Any], source: str = "config") -> ExperimentConfig:
    """Validate a plain dict into an :class:`ExperimentConfig`, or raise :class:`ConfigError`."""
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"{source}: a config must be a mapping of keys, got {type(data).__name__}"
        )
    bad = non_finite_key(data)
    if bad is not None:
        raise ConfigError(f"{source}: {bad}: NaN or infinity is not a valid value; give a number")
    try:
        config = ExperimentConfig.model_validate(dict(data))
    except ValidationError as exc:
        raise ConfigError(_error_line(exc, source)) from None
    try:
        check_hyperparams(config.algo)
        check_budget(config.algo, config.budget.n_timesteps)
        check_policy(config.algo)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    return config


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping from ``path`` (empty file: empty dict) or raise :class:`ConfigError`."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such config file")
    try:
        data = load_yaml(path.read_text(encoding="utf-8"), str(path))
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {exc.start}); save the config as UTF-8"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
    except YamlError as exc:
        raise ConfigError(str(exc)) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config must be a mapping of keys, got {type(data).__name__}")
    return data


_TOP_LEVEL = set(ExperimentConfig.model_fields)


def parse_override(text: str) -> tuple[str, Any]:
    """Split ``key=value`` into a dotted key and a YAML-parsed value.

    A key whose first part is not a top-level config key is an SB3 hyperparameter
    (``-p learning_rate=3e-4`` is ``algo.hyperparams.learning_rate``), as in rl-zoo3.
    """
    if "=" not in text:
        raise ConfigError(
            f"override {text!r}: expected key=value (e.g. -p budget.n_timesteps=1000)"
        )
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise ConfigError(f"override {text!r}: empty key")
    try:
        value = load_yaml(raw, f"override {text!r}") if raw.strip() else ""
    except YamlSyntaxError:
        value = raw  # not YAML: the text itself (e.g. -p env.id=ALE/Pong-v5:x)
    except YamlError as exc:
        raise ConfigError(str(exc)) from None
    if key.split(".", 1)[0] not in _TOP_LEVEL:
        key = f"algo.hyperparams.{key}"
    return key, value


def lookup(data: Mapping[str, Any], dotted: str) -> Any:
    """The value at the dotted ``key`` of nested mappings; ``None`` where a part is missing.

    >>> lookup({"methods": {"fade": {"meta_lr": 0.5}}}, "methods.fade.meta_lr")
    0.5
    """
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def apply_overrides(data: dict[str, Any], overrides: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """A deep copy of ``data`` with each dotted ``key`` set to ``value``."""
    out = copy.deepcopy(data)
    for key, value in overrides:
        node = out
        parts = key.split(".")
        for i, part in enumerate(parts[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            elif not isinstance(child, dict):
                where = ".".join(parts[: i + 1])
                raise ConfigError(f"override {key}: {where} is a value, not a section")
            node = child
        node[parts[-1]] = value
    return out


#: ``load_config``'s flags -> the dotted key each one sets.
FLAG_KEYS: dict[str, str] = {
    "env": "env.id",
    "algo": "algo.name",
    "n_timesteps": "budget.n_timesteps",
    "seed": "seed",
    "device": "device",
    "method": "method",
    "name": "name",
}


def _overlap(a: str, b: str) -> bool:
    """Whether setting ``a`` and ``b`` touches one value (equal, or one holds the other)."""
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


def check_given_once(given: Sequence[tuple[str, str]]) -> None:
    """Refuse a key that two of ``(dotted key, how it was given)`` set: one would replace
    the other in silence (``-p seed=5 --seed 3``; ``-p methods.fade={...} -p methods.fade.x=1``).

    Example:
        >>> check_given_once([("seed", "-p seed=5"), ("seed", "--seed 3")])
        Traceback (most recent call last):
        ...
        fade_rl.experiments.runs.checks.ConfigError: seed is given twice (-p seed=5 ...; keep one
    """
    for i, (key, how) in enumerate(given):
        for other, other_how in given[:i]:
            if _overlap(key, other):
                raise ConfigError(f"{other} is given twice ({other_how} and {how}); keep one")


def load_config(
    path: str | Path | None = None,
    overrides: Sequence[str] = (),
    **flags: Any,
) -> ExperimentConfig:
    """Read a YAML file (optional), apply ``-p`` overrides and CLI flags, validate.

    Flags (``None`` means not given): ``env`` (``env.id``), ``algo`` (``algo.name``),
    ``n_timesteps``, ``seed``, ``device``, ``method``, ``name``. A key set twice (by two
    overrides, or an override and a flag) is refused, never replaced.
    """
    source = str(path) if path is not None else "config"
    data: dict[str, Any] = read_yaml(path) if path is not None else {}
    if path is not None and "name" not in data:
        data["name"] = Path(path).stem
    pairs = [parse_override(o) for o in overrides]
    given = [(key, f"-p {text}") for (key, _), text in zip(pairs, overrides, strict=True)]
    for flag, value in flags.items():
        if flag not in FLAG_KEYS:
            raise TypeError(f"load_config got an unknown flag {flag!r}")
        if value is not None:
            pairs.append((FLAG_KEYS[flag], value))
            given.append((FLAG_KEYS[flag], f"--{flag.replace('_', '-')} {value}"))
    check_given_once(given)
    data = apply_overrides(data, pairs)
    if "name" not in data and isinstance(data.get("env"), dict) and "id" in data["env"]:
        data["name"] = str(data["env"]["id"]).split(":")[-1].replace("/", "_")
    if "env" not in data:
        raise ConfigError(f"{source}: env.id: missing (give --env ID or a --config file)")
    return validate_config(data, source)
