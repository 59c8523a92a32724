"""The suite's manifest (``configs/suite/suite.yaml``): settings, tiers, grids and seeds.

A *setting* is an experiment config (``configs/suite/<setting>.yaml``) plus what the
suite needs to score it: the ``task_keys`` that name a segment's task among its
``shift_values``, and one entry per task saying how to build that task alone (``env_kwargs``
merged into the config's, freezing the schedules) and for how many steps its references
train (``steps``, one segment's budget). A *tier* picks settings and whether methods are
tuned. A method's *grid* is one knob and its values; ``"x0.5"`` multiplies the setting's own
value of the key. A method the manifest gives no grid tunes its spec's default grid
(:attr:`~fade_rl.methods.MethodSpec.grid`).

Example:
    >>> suite = load_suite("configs/suite/suite.yaml")
    >>> suite.grids["fade"].key, suite.tuning_seeds
    ('methods.fade.meta_lr', [100, 101])
    >>> [s.name for s in suite.tier_settings("standard")][:2]
    ['dqn_reward_flip', 'dqn_obs_permute']
    >>> suite.setting("dqn_reward_flip").held_out()
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from fade_rl.experiments.runs.checks import ConfigError
from fade_rl.experiments.runs.config import (
    ExperimentConfig,
    load_config,
    lookup,
    parse_override,
    read_yaml,
)
from fade_rl.methods import METHODS, REGISTRY

__all__ = [
    "TIERS",
    "Grid",
    "Point",
    "SettingBase",
    "SettingSpec",
    "SmokeBase",
    "SuiteSpec",
    "TaskSpec",
    "TieredSettings",
    "check_settings_and_grids",
    "load_suite",
    "read_manifest",
]

#: One grid point: ``(dotted key, value)`` per axis (one axis in this suite's grids).
Point = list[tuple[str, Any]]
#: The tiers, smallest first.
TIERS: tuple[str, ...] = ("smoke", "standard", "full")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TaskSpec(_Strict):
    """One task of a setting: the shift values that name it and how to build it alone.

    Example (the second task of ``dqn_reward_flip``: the reward's sign flipped):
        >>> task = load_suite("configs/suite/suite.yaml").setting("dqn_reward_flip").tasks[1]
        >>> task.values, task.steps, task.env_kwargs
        ({'reward.sign': -1}, 4000, {'reward': {'sign': -1}})
        >>> TaskSpec(values={"reward.sign": 1}, steps=0)
        Traceback (most recent call last):
        ...
        pydantic_core._pydantic_core.ValidationError: 1 validation error for TaskSpec
        ...
    """

    values: dict[str, Any]
    steps: int = Field(ge=1, description="the references' training budget (one segment)")
    env_kwargs: dict[str, Any] = Field(default_factory=dict)


class SmokeBase(_Strict):
    """How the smoke tier shrinks a setting: its ``-p`` overrides (and, per suite, more).

    Example:
        >>> SmokeBase(overrides=["budget.n_timesteps=500"]).overrides
        ['budget.n_timesteps=500']
    """

    overrides: list[str] = Field(default_factory=list)


class SmokeSpec(SmokeBase):
    """The single-change suite's smoke tier: the overrides and the tasks' steps."""

    task_steps: int = Field(ge=1)


class SettingBase(_Strict):
    """What a setting of either suite is: a config (relative to the manifest), its tiers and
    held-out seeds, and how the smoke tier shrinks it.

    Example:
        >>> spec = load_suite("configs/suite/suite.yaml").setting("dqn_reward_flip")
        >>> isinstance(spec, SettingBase), spec.held_out(3), spec.overrides("standard")
        (True, [0, 1, 2], [])
    """

    name: str = ""
    config: str
    tiers: list[str]
    held_out_seeds: int = Field(ge=1)
    smoke: SmokeBase
    folder: Path = Path(".")

    def held_out(self, tier_seeds: int | None = None) -> list[int]:
        """The held-out seeds (``0 .. n-1``; a tier may cap ``n``)."""
        n = self.held_out_seeds if tier_seeds is None else min(tier_seeds, self.held_out_seeds)
        return list(range(n))

    def overrides(self, tier: str) -> list[str]:
        """The ``-p`` overrides the tier applies to the config."""
        return list(self.smoke.overrides) if tier == "smoke" else []

    def load(self, tier: str, extra: list[str] | None = None) -> ExperimentConfig:
        """The setting's config under ``tier`` (plus ``extra`` overrides), validated."""
        return load_config(
            self.folder / self.config, [*self.overrides(tier), *(extra or [])], name=self.name
        )


class SettingSpec(SettingBase):
    """One setting of the single-change suite: its tasks and how to build each alone.

    Example:
        >>> spec = load_suite("configs/suite/suite.yaml").setting("dqn_reward_flip")
        >>> spec.config, spec.tiers, spec.task_keys, spec.held_out(3)
        ('dqn_reward_flip.yaml', ['smoke', 'standard', 'full'], ['reward.sign'], [0, 1, 2])
        >>> [task.steps for task in spec.tasks_for("smoke")], spec.overrides("smoke")[0]
        ([500, 500], 'budget.n_timesteps=1500')
        >>> config = spec.load("smoke")
        >>> config.name, config.budget.n_timesteps
        ('dqn_reward_flip', 1500)
    """

    task_keys: list[str]
    tasks: list[TaskSpec] = Field(min_length=1)
    smoke: SmokeSpec

    def tasks_for(self, tier: str) -> list[TaskSpec]:
        """The tasks, with the smoke tier's shorter reference budget."""
        if tier != "smoke":
            return list(self.tasks)
        return [t.model_copy(update={"steps": self.smoke.task_steps}) for t in self.tasks]


class Grid(_Strict):
    """One method's tuning grid: a dotted config key and its values.

    Example (``"x2"`` doubles the setting's own learning rate):
        >>> from fade_rl.experiments.runs.config import validate_config
        >>> config = validate_config(
        ...     {"env": {"id": "CartPole-v1"}, "algo": {"hyperparams": {"learning_rate": 0.001}}},
        ...     "example")
        >>> Grid(key="learning_rate", values=["x0.5", "x2"]).points(config)
        [('algo.hyperparams.learning_rate', 0.0005), ('algo.hyperparams.learning_rate', 0.002)]
        >>> Grid(key="methods.fade.meta_lr", values=[1, 10]).points(config)
        [('methods.fade.meta_lr', 1), ('methods.fade.meta_lr', 10)]
    """

    key: str
    values: list[Any] = Field(min_length=1)

    def points(self, config: ExperimentConfig) -> list[tuple[str, Any]]:
        """``(dotted key, value)`` per grid value, ``"xF"`` resolved against ``config``."""
        key = parse_override(f"{self.key}=0")[0]
        out = []
        for value in self.values:
            if isinstance(value, str) and value.startswith("x"):
                base = lookup(config.to_dict(), key)
                try:
                    value = float(base) * float(value[1:])
                except (TypeError, ValueError):
                    raise ConfigError(
                        f"grid {self.key}: {value!r} multiplies the setting's value, but "
                        f"{key} is {base!r}; give plain values"
                    ) from None
            out.append((key, value))
        return out


class SensitivitySpec(_Strict):
    """A method's extra grid on the tuning seeds, reported but never used for selection."""

    method: str
    axes: dict[str, list[Any]]


class TierSpec(_Strict):
    """What a tier does: tune or not, and caps on its seeds."""

    tune: bool
    sensitivity: bool = False
    held_out_seeds: int | None = Field(default=None, ge=1)
    reference_seeds: int | None = Field(default=None, ge=1)


class TieredSettings:
    """What both manifests do with their ``settings`` and ``tiers``: a mixin of the models.

    Example:
        >>> suite = load_suite("configs/suite/suite.yaml")
        >>> isinstance(suite, TieredSettings), suite.setting("dqn_reward_flip").name
        (True, 'dqn_reward_flip')
    """

    settings: dict[str, Any]

    def setting(self, name: str) -> Any:
        """The setting called ``name``."""
        if name not in self.settings:
            raise ConfigError(f"unknown suite setting {name!r}; use {', '.join(self.settings)}")
        return self.settings[name]

    def tier_settings(self, tier: str) -> list[Any]:
        """The settings a tier runs, in manifest order."""
        if tier not in TIERS:
            raise ConfigError(f"unknown tier {tier!r}; use {', '.join(TIERS)}")
        return [s for s in self.settings.values() if tier in s.tiers]


def check_settings_and_grids(suite: Any) -> None:
    """Name each setting, and refuse unknown tiers, grids of unknown methods and a tier list
    other than :data:`TIERS` (ValueError, one line naming the key)."""
    for name, setting in suite.settings.items():
        setting.name = name
        bad = [t for t in setting.tiers if t not in TIERS]
        if bad:
            raise ValueError(f"settings.{name}.tiers: unknown tier {bad[0]!r}; use {TIERS}")
    unknown = [m for m in suite.grids if m not in METHODS]
    if unknown:
        raise ValueError(f"grids: unknown method {unknown[0]!r}; use {', '.join(METHODS)}")
    if set(suite.tiers) != set(TIERS):
        raise ValueError(f"tiers: give exactly {', '.join(TIERS)}")


class SuiteSpec(_Strict, TieredSettings):
    """The whole manifest (``grids`` holds every method's: the manifest's or its spec's).

    Example:
        >>> suite = load_suite("configs/suite/suite.yaml")
        >>> suite.reference_seeds, suite.reference_seeds_for("smoke")
        ([1000, 1001, 1002], [1000])
        >>> suite.tiers["smoke"].tune, suite.tiers["standard"].tune, suite.sensitivity.method
        (False, True, 'fade')
        >>> suite.setting("dqn_flip")
        Traceback (most recent call last):
        ...
        fade_rl.experiments.runs.checks.ConfigError: unknown suite setting 'dqn_flip'; use ...
    """

    tuning_seeds: list[int] = Field(min_length=1)
    reference_seeds: list[int] = Field(min_length=1)
    grids: dict[str, Grid] = Field(default_factory=dict)
    sensitivity: SensitivitySpec | None = None
    tiers: dict[str, TierSpec]
    settings: dict[str, SettingSpec]

    @model_validator(mode="after")
    def _consistent(self) -> SuiteSpec:
        check_settings_and_grids(self)
        for m in METHODS:
            if m not in self.grids:
                self.grids[m] = Grid(**REGISTRY[m].grid.as_dict())
        sizes = {len(g.values) for g in self.grids.values()}
        if len(sizes) > 1:
            raise ValueError("grids: every method needs the same number of values (same budget)")
        return self

    def reference_seeds_for(self, tier: str) -> list[int]:
        """The reference seeds under ``tier``."""
        cap = self.tiers[tier].reference_seeds
        return self.reference_seeds[:cap] if cap else list(self.reference_seeds)


def load_suite(path: str | Path = "configs/suite/suite.yaml") -> SuiteSpec:
    """Read and validate the manifest; raise :class:`ConfigError` with one line."""
    return read_manifest(path, SuiteSpec)


ManifestT = TypeVar("ManifestT", bound=BaseModel)


def read_manifest(path: str | Path, model: type[ManifestT]) -> ManifestT:
    """A manifest read and validated as ``model``, each setting's folder set to the
    manifest's; :class:`ConfigError` with one line if it is invalid or names a missing config."""
    path = Path(path)
    data = read_yaml(path)
    try:
        suite = model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].replace("Value error, ", "")
        raise ConfigError(f"{path}: {loc}: {msg}") from None
    for setting in getattr(suite, "settings").values():  # noqa: B009  (every manifest has them)
        setting.folder = path.parent
        if not (path.parent / setting.config).is_file():
            raise ConfigError(f"{path}: settings.{setting.name}.config: no file {setting.config}")
    return suite
