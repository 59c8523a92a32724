"""``fade-rl suite`` on a many-level manifest: its phases, in order, resumably.

``floors``
    a uniformly random policy on every held-out seed of every setting, its time-averaged
    return per level (the score's floor), written to ``<dir>/floors/<setting>.json`` with
    the number of levels the report scores;
``tuning``
    every method x its grid's points x the tuning seeds, each run over the setting's
    ``tune_steps`` (the first levels only), under ``<dir>/tuning``; then each method's
    point with the best mean return over the tuning seeds is chosen (a point with a failed
    run ranks below every point without) and written to ``<dir>/protocol.json``;
``held_out``
    every method at its chosen point over the whole lifetime on the held-out seeds, and the
    oracle (method ``reset`` with the manifest's ``oracle`` overrides, at the plain agent's
    chosen point) as setting ``<setting>__oracle``, under ``<dir>/held_out``; tiers without
    tuning use each method's config values;
``sensitivity``
    FADE's sensitivity grid on the tuning seeds and budget (``<dir>/sensitivity``); reported,
    never used for selection.

The report (:mod:`~fade_rl.experiments.reports.levels`) follows. ``shard=(k, n)`` runs every
n-th job of a phase in this process, as for the single-change suite.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fade_rl.experiments.runs.atomic import write_atomic
from fade_rl.experiments.runs.checks import ConfigError
from fade_rl.experiments.runs.config import (
    parse_override,
)
from fade_rl.experiments.suite.execution import SENSITIVITY, TUNING, PhaseRunner, run_identity
from fade_rl.experiments.suite.levels import prefix_return
from fade_rl.experiments.suite.levels_manifest import AxesGrid, LevelSettingSpec, LevelSuiteSpec
from fade_rl.experiments.suite.manifest import Point
from fade_rl.experiments.suite.provenance import (
    PROTOCOL,
    read_protocol,
    stamp,
)
from fade_rl.experiments.suite.references import random_level_returns
from fade_rl.experiments.suite.selection import best_index, mean_over_runs
from fade_rl.experiments.sweeps import Job, JobResult, grid_name
from fade_rl.methods import PLAIN

__all__ = [
    "FLOORS",
    "LEVEL_PHASES",
    "LEVEL_RUN_PHASES",
    "ORACLE",
    "LevelSuiteRun",
    "oracle_name",
    "split_oracle",
]

FLOORS, HELD_OUT, REPORT = "floors", "held_out", "report"
#: Every phase of the many-level suite, in order; the runner runs all but the report.
LEVEL_PHASES: tuple[str, ...] = (FLOORS, TUNING, HELD_OUT, SENSITIVITY, REPORT)
LEVEL_RUN_PHASES: tuple[str, ...] = LEVEL_PHASES[:-1]
#: The oracle's row in reports, and the suffix of its setting name.
ORACLE = "oracle"
#: How a point is chosen (written into ``protocol.json``).
SELECTION_RULE = (
    "highest mean over the tuning seeds of the run's return over its levels (each level's "
    "time-averaged return, weighted by its steps); a point with a failed run ranks below "
    "every point without; ties go to the earlier point"
)


def oracle_name(setting: str) -> str:
    """The setting name of a setting's oracle runs."""
    return f"{setting}__{ORACLE}"


def split_oracle(name: str) -> tuple[str, bool]:
    """``(setting, whether it names the setting's oracle runs)`` from a run's setting name.

    Example:
        >>> split_oracle(oracle_name("lake")), split_oracle("lake")
        (('lake', True), ('lake', False))
    """
    base = name.removesuffix(oracle_name(""))
    return base, base != name


@dataclass
class LevelSuiteRun(PhaseRunner):
    """One invocation of the many-level suite (arguments: :class:`PhaseRunner`).

    Example (listing jobs runs nothing):
        >>> import tempfile
        >>> from fade_rl.experiments.suite.levels_manifest import load_levels_suite
        >>> suite = load_levels_suite("configs/suite_v2/suite.yaml")
        >>> run = LevelSuiteRun(suite, "standard", Path(tempfile.mkdtemp()),
        ...                     settings=["dqn_cartpole_permute"], methods=["none", "fade"])
        >>> jobs = run.tuning_jobs()  # 2 methods x 9 points x 2 tuning seeds
        >>> len(jobs), jobs[0].config["budget"]["n_timesteps"]
        (36, 20000)
        >>> jobs[-1].label
        'dqn_cartpole_permute__learning_rate=0.0046,meta_lr=100/fade/seed_101'
    """

    suite: LevelSuiteSpec

    def __post_init__(self) -> None:
        super().__post_init__()
        if PLAIN not in (self.methods or ()):
            raise ConfigError(
                f"--methods: the oracle runs at the plain agent's chosen point; add {PLAIN}"
            )

    run_phases = LEVEL_RUN_PHASES

    def _run_phase(self, phase: str) -> list[JobResult]:
        if phase != FLOORS:
            return super()._run_phase(phase)
        if self.shard is None or self.shard[0] == 0:  # one shard writes them
            self.write_floors()
        return []

    # ------------------------------------------------------------------ floors
    def floor_path(self, setting: str) -> Path:
        """Where a setting's random-policy floors are kept."""
        return self.folder / FLOORS / f"{setting}.json"

    def write_floors(self) -> None:
        """Each setting's random-policy return per level on each held-out seed (missing ones)."""
        for spec in self._specs:
            config = self._config(spec)
            path = self.floor_path(spec.name)
            data = json.loads(path.read_text()) if path.is_file() else {}
            if data.get("n_timesteps") != config.budget.n_timesteps:
                data = {"n_timesteps": config.budget.n_timesteps, "seeds": {}}
            data["levels"] = spec.scored_levels(self.tier)
            for seed in self._held_out(spec):
                if str(seed) not in data["seeds"]:
                    data["seeds"][str(seed)] = random_level_returns(config, seed)
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, json.dumps(stamp(data, self.folder, []), indent=1))

    # ------------------------------------------------------------------ jobs
    def _held_out(self, spec: LevelSettingSpec) -> list[int]:
        return spec.held_out(self.suite.tiers[self.tier].held_out_seeds)

    def _tuning_runs(
        self, spec: LevelSettingSpec, method: str, point: Point, sub: str = TUNING
    ) -> list[Job]:
        name = grid_name(spec.name, point)
        steps = spec.tuning_steps(self.tier)
        return self._jobs(spec, method, self.suite.tuning_seeds, point, sub, name, steps)

    def tuning_jobs(self) -> list[Job]:
        """Every method x grid point x tuning seed, over the setting's first levels."""
        jobs = []
        for spec in self._specs:
            for method in self.methods or ():
                for point in self.suite.grids[method].points(self._config(spec)):
                    jobs += self._tuning_runs(spec, method, point)
        return jobs

    def held_out_jobs(self) -> list[Job]:
        """Every method at its chosen point, and the oracle, on the held-out seeds."""
        tuned = self.suite.tiers[self.tier].tune
        chosen = self.select()["chosen"] if tuned else {}
        oracle = [parse_override(item) for item in self.suite.oracle]
        jobs = []
        for spec in self._specs:
            seeds = self._held_out(spec)
            points = {m: _point(chosen[spec.name][m]) if tuned else [] for m in self.methods or ()}
            for method, point in points.items():
                jobs += self._jobs(spec, method, seeds, point, HELD_OUT, spec.name)
            oracle_point = points[PLAIN] + oracle
            jobs += self._jobs(spec, "reset", seeds, oracle_point, HELD_OUT, oracle_name(spec.name))
        return jobs

    def sensitivity_jobs(self) -> list[Job]:
        """FADE's sensitivity grid on the tuning seeds and budget, but for points run already."""
        sens = self.suite.sensitivity
        if sens is None or sens.method not in (self.methods or ()):
            return []
        grid = AxesGrid(axes=sens.axes)
        tuned = {run_identity(j) for j in self.tuning_jobs() if j.config["method"] == sens.method}
        jobs = []
        for spec in self._specs:
            for point in grid.points(self._config(spec)):
                jobs += self._tuning_runs(spec, sens.method, point, SENSITIVITY)
        return [j for j in jobs if run_identity(j) not in tuned]

    # ------------------------------------------------------------------ selection
    def select(self) -> dict[str, Any]:
        """Choose each method's point by mean tuning return; write ``protocol.json``.

        Raises :class:`RunError` while a tuning run is unfinished (another shard's).
        """
        chosen: dict[str, dict[str, Any]] = {}
        run_dirs: list[Path] = []
        for spec in self._specs:
            chosen[spec.name] = {}
            for method in self.methods or ():
                table = []
                for point in self.suite.grids[method].points(self._config(spec)):
                    dirs = [job.run_dir for job in self._tuning_runs(spec, method, point)]
                    run_dirs += dirs
                    table.append((mean_over_runs(dirs, prefix_return), point))
                best = best_index([mean for mean, _ in table])
                chosen[spec.name][method] = {
                    "point": [[k, v] for k, v in table[best][1]],
                    "tuning": [
                        {"point": [[k, v] for k, v in p], "mean_return": _finite_or_none(m)}
                        for m, p in table
                    ],
                }
        old = read_protocol(self.folder)
        for name, methods in old.get("chosen", {}).items():  # a --settings run keeps the rest
            chosen.setdefault(name, methods)
        data = {
            "kind": "levels",
            "tier": self.tier,
            "tuning_seeds": self.suite.tuning_seeds,
            "tune_steps": {s.name: s.tuning_steps(self.tier) for s in self._specs},
            "oracle": self.suite.oracle,
            "chosen": chosen,
            "selection": SELECTION_RULE,
        }
        self.folder.mkdir(parents=True, exist_ok=True)
        data = stamp(data, self.folder, run_dirs)
        write_atomic(self.folder / PROTOCOL, json.dumps(data, indent=1))
        return data


def _point(entry: dict[str, Any]) -> Point:
    return [(key, value) for key, value in entry["point"]]


def _finite_or_none(value: float) -> float | None:
    return None if math.isinf(value) else value
