"""The many-level suite's manifest (``configs/suite_v2/suite.yaml``).

A *setting* is an experiment config whose environment changes at every level (many
levels, :mod:`~fade_rl.experiments.suite.levels`), its held-out seeds and ``tune_steps``:
the budget of a tuning run, the first levels only (tuning over the whole lifetime hides
the loss of plasticity that the held-out runs measure). Every method's *grid* is a
product of axes (a dotted key and its values; ``"x0.5"`` multiplies the setting's own
value), and every grid has the same number of points: the same tuning budget. Either every
grid tunes the learning rate or none does. The *oracle* is the overrides that turn method
``reset`` into the literature's fresh agent; it runs at the plain agent's chosen point.

Example:
    >>> suite = load_levels_suite("configs/suite_v2/suite.yaml")
    >>> suite.grid_size(), suite.tuning_seeds
    (9, [100, 101])
    >>> spec = suite.setting("dqn_cartpole_permute")
    >>> spec.tune_steps, spec.held_out()[:3], spec.load("standard").budget.n_timesteps
    (20000, [0, 1, 2], 100000)
    >>> [key for key, _ in suite.grids["wd"].points(spec.load("standard"))[0]]
    ['algo.hyperparams.learning_rate', 'methods.wd.weight_decay']
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from fade_rl.experiments.runs.config import ExperimentConfig
from fade_rl.experiments.suite.manifest import (
    Grid,
    Point,
    SensitivitySpec,
    SettingBase,
    SmokeBase,
    TieredSettings,
    TierSpec,
    check_settings_and_grids,
    read_manifest,
)
from fade_rl.methods import METHODS

__all__ = ["AxesGrid", "LevelSettingSpec", "LevelSuiteSpec", "load_levels_suite"]

#: The learning rate's key, as a grid names it.
LEARNING_RATE = "learning_rate"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LevelSmokeSpec(SmokeBase):
    """The many-level suite's smoke tier: the overrides, the tuning budget and the number of
    levels scored."""

    tune_steps: int = Field(ge=1)
    levels: int = Field(ge=1)


class LevelSettingSpec(SettingBase):
    """One many-level setting: the levels scored and the tuning runs' budget.

    Example:
        >>> spec = load_levels_suite("configs/suite_v2/suite.yaml").setting("dqn_cartpole_permute")
        >>> spec.levels, spec.scored_levels("smoke"), spec.tuning_steps("smoke")
        (10, 5, 20000)
        >>> spec.load("smoke").budget.n_timesteps  # 5 levels of 10k steps
        50000
    """

    levels: int = Field(ge=1, description="the levels scored: every run must reach them")
    tune_steps: int = Field(ge=1, description="a tuning run's budget: the first levels")
    smoke: LevelSmokeSpec

    def tuning_steps(self, tier: str) -> int:
        """A tuning run's budget under ``tier``."""
        return self.smoke.tune_steps if tier == "smoke" else self.tune_steps

    def scored_levels(self, tier: str) -> int:
        """The number of levels scored under ``tier``."""
        return self.smoke.levels if tier == "smoke" else self.levels


class AxesGrid(_Strict):
    """A method's tuning grid: every combination of its axes' values.

    Example:
        >>> from fade_rl.experiments.runs.config import validate_config
        >>> config = validate_config({"env": {"id": "CartPole-v1"},
        ...     "algo": {"hyperparams": {"learning_rate": 0.001}}}, "example")
        >>> grid = AxesGrid(axes={"learning_rate": ["x0.5", "x2"],
        ...                       "methods.wd.weight_decay": [0.1]})
        >>> grid.size, grid.points(config)[1]
        (2, [('algo.hyperparams.learning_rate', 0.002), ('methods.wd.weight_decay', 0.1)])
    """

    axes: dict[str, list[Any]] = Field(min_length=1)

    @model_validator(mode="after")
    def _non_empty(self) -> AxesGrid:
        for key, values in self.axes.items():
            if not values:
                raise ValueError(f"axis {key} has no values")
        return self

    @property
    def size(self) -> int:
        """The number of points."""
        n = 1
        for values in self.axes.values():
            n *= len(values)
        return n

    def points(self, config: ExperimentConfig) -> list[Point]:
        """Every point, ``"xF"`` values resolved against ``config`` (first axis slowest)."""
        axes = [Grid(key=key, values=values).points(config) for key, values in self.axes.items()]
        return [list(combo) for combo in itertools.product(*axes)]


class LevelSuiteSpec(_Strict, TieredSettings):
    """The whole manifest of the many-level suite.

    Example:
        >>> suite = load_levels_suite("configs/suite_v2/suite.yaml")
        >>> [s.name for s in suite.tier_settings("smoke")]
        ['dqn_cartpole_permute', 'dqn_frozenlake_switches']
        >>> suite.oracle[0], suite.sensitivity.method
        ('methods.reset.target=all', 'fade')
    """

    kind: Literal["levels"]
    tuning_seeds: list[int] = Field(min_length=1)
    oracle: list[str] = Field(min_length=1, description="overrides of method reset")
    grids: dict[str, AxesGrid]
    sensitivity: SensitivitySpec | None = None
    tiers: dict[str, TierSpec]
    settings: dict[str, LevelSettingSpec]

    @model_validator(mode="after")
    def _consistent(self) -> LevelSuiteSpec:
        check_settings_and_grids(self)
        missing = [m for m in METHODS if m not in self.grids]
        if missing:
            raise ValueError(f"grids: give every method a grid; {', '.join(missing)} has none")
        if len({g.size for g in self.grids.values()}) > 1:
            raise ValueError("grids: every method needs the same number of points (same budget)")
        tuned = {LEARNING_RATE in g.axes for g in self.grids.values()}
        if len(tuned) > 1:
            raise ValueError("grids: tune learning_rate in every method's grid or in none")
        return self

    def grid_size(self) -> int:
        """The number of points of every grid (the tuning budget per seed)."""
        return next(iter(self.grids.values())).size


def load_levels_suite(path: str | Path = "configs/suite_v2/suite.yaml") -> LevelSuiteSpec:
    """Read and validate the manifest; raise :class:`ConfigError` with one line."""
    return read_manifest(path, LevelSuiteSpec)
