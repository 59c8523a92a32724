"""``fade-rl suite``: the plasticity benchmark, phase by phase, resumably.

Phases, in order (each skips finished runs, so rerunning the command resumes):

``references``
    the ceiling runs of every task (:mod:`~fade_rl.experiments.suite.references`), then the
    floors, written to ``<dir>/references/<setting>.json``;
``tuning``
    every method x its grid's values x the tuning seeds, under ``<dir>/tuning``; then each
    method's value with the best mean score is chosen (a value with a failed run ranks
    below every value without) and written to ``<dir>/protocol.json``;
``held_out``
    every method at its chosen value on the held-out seeds, under ``<dir>/held_out``
    (tiers without tuning use each method's config values);
``sensitivity``
    FADE's ``meta_lr x init_decay`` grid on the tuning seeds (``<dir>/sensitivity``),
    but for the points its tuning grid already ran; reported, never used for selection;
``report``
    ``<dir>/report`` (:mod:`~fade_rl.experiments.reports.suite`; the reports wing sits
    above this one, so ``fade-rl suite`` writes it after :meth:`SuiteRun.run`).

A phase needs the one before it finished. ``shard=(k, n)`` runs every n-th job of a phase
(from the k-th) in this process, one after the other: n such processes share a machine
without a process per run. Every phase appends its wall-clock time to ``<dir>/timing.jsonl``.
The command, its tiers and the time each takes: ``docs/suite.md``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fade_rl.experiments.runs.atomic import write_atomic
from fade_rl.experiments.runs.config import ExperimentConfig
from fade_rl.experiments.runs.folder import (
    RunError,
    RunFolder,
)
from fade_rl.experiments.suite.execution import (
    SENSITIVITY,
    TIMING,
    TUNING,
    PhaseRunner,
    run_identity,
)
from fade_rl.experiments.suite.manifest import Point, SettingSpec, SuiteSpec
from fade_rl.experiments.suite.provenance import (
    PROTOCOL,
    PROVENANCE,
    read_protocol,
    stamp,
)
from fade_rl.experiments.suite.references import (
    REFERENCES,
    ceiling_jobs,
    env_digest,
    load_references,
    write_references,
)
from fade_rl.experiments.suite.selection import SELECTION_RULE, choose, mean_tuning_score
from fade_rl.experiments.sweeps import Job, JobResult, grid_name

__all__ = [
    "HELD_OUT",
    "PHASES",
    "PROTOCOL",
    "REPORT",
    "RUN_PHASES",
    "SENSITIVITY",
    "TIMING",
    "TUNING",
    "SuiteRun",
]

HELD_OUT, REPORT = "held_out", "report"
#: Every phase of the suite, in order (``--phase``).
PHASES: tuple[str, ...] = ("references", TUNING, HELD_OUT, SENSITIVITY, REPORT)
#: The phases that run jobs (:meth:`SuiteRun.run`); the report follows them.
RUN_PHASES: tuple[str, ...] = PHASES[:-1]


@dataclass
class SuiteRun(PhaseRunner):
    """One invocation of the single-change suite (arguments: :class:`PhaseRunner`).

    Example (listing the tuning phase's jobs runs nothing):
        >>> import tempfile
        >>> from fade_rl.experiments.suite.manifest import load_suite
        >>> suite = load_suite("configs/suite/suite.yaml")
        >>> run = SuiteRun(suite, "standard", Path(tempfile.mkdtemp()),
        ...                settings=["dqn_reward_flip"], methods=["none", "fade"])
        >>> jobs = run.tuning_jobs()  # 2 methods x 3 grid values x 2 tuning seeds
        >>> len(jobs)
        12
        >>> jobs[0].label
        'dqn_reward_flip__learning_rate=0.00115/none/seed_100'
        >>> jobs[-1].label
        'dqn_reward_flip__meta_lr=100/fade/seed_101'
        >>> SuiteRun(suite, "smoke", Path("suite"), settings=["nope"])
        Traceback (most recent call last):
        ...
        fade_rl.experiments.runs.checks.ConfigError: --settings: 'nope' is not in the smoke ...
    """

    suite: SuiteSpec

    run_phases = RUN_PHASES

    def _run_phase(self, phase: str) -> list[JobResult]:
        results = super()._run_phase(phase)
        if phase == "references":
            self.write_all_references()
        return results

    # ------------------------------------------------------------------ jobs
    def references_jobs(self) -> list[Job]:
        """The ceiling runs of every task of every setting."""
        seeds = self.suite.reference_seeds_for(self.tier)
        jobs = []
        for spec in self._specs:
            config = self._config(spec)
            jobs += ceiling_jobs(
                config, spec.tasks_for(self.tier), seeds, self.folder, self.command
            )
        return jobs

    def tuning_jobs(self) -> list[Job]:
        """Every method x grid value x tuning seed."""
        jobs = []
        for spec in self._specs:
            config = self._config(spec)
            for method in self.methods:  # type: ignore[union-attr]
                for point in self.suite.grids[method].points(config):
                    name = grid_name(spec.name, [point])
                    jobs += self._jobs(spec, method, self.suite.tuning_seeds, [point], TUNING, name)
        return jobs

    def held_out_jobs(self) -> list[Job]:
        """Every method at its chosen value (or its config's) on the held-out seeds."""
        chosen = self.select()["chosen"] if self.suite.tiers[self.tier].tune else {}
        jobs = []
        for spec in self._specs:
            seeds = spec.held_out(self.suite.tiers[self.tier].held_out_seeds)
            for method in self.methods:  # type: ignore[union-attr]
                point: Point = []
                if self.suite.tiers[self.tier].tune:
                    pick = chosen[spec.name][method]
                    point = [(pick["key"], pick["value"])]
                jobs += self._jobs(spec, method, seeds, point, HELD_OUT, spec.name)
        return jobs

    def sensitivity_jobs(self) -> list[Job]:
        """The sensitivity grid (method and axes from the manifest) on the tuning seeds."""
        sens = self.suite.sensitivity
        if sens is None or sens.method not in self.methods:  # type: ignore[operator]
            return []
        import itertools

        from fade_rl.experiments.runs.config import parse_override

        axes = [[parse_override(f"{k}={v}") for v in values] for k, values in sens.axes.items()]
        tuned = {run_identity(j) for j in self.tuning_jobs() if j.config["method"] == sens.method}
        jobs = []
        for spec in self._specs:
            for combo in itertools.product(*axes):
                point = list(combo)
                name = grid_name(spec.name, point)
                jobs += self._jobs(
                    spec, sens.method, self.suite.tuning_seeds, point, SENSITIVITY, name
                )
        # A point the tuning phase already ran (same config and seed) is not run twice.
        return [job for job in jobs if run_identity(job) not in tuned]

    # ------------------------------------------------------------------ references
    def write_all_references(self) -> None:
        """Write each setting's references whose ceiling runs have all finished."""
        seeds = self.suite.reference_seeds_for(self.tier)
        for spec in self._specs:
            config = self._config(spec)
            tasks = spec.tasks_for(self.tier)
            jobs = ceiling_jobs(config, tasks, seeds, self.folder)
            if all(RunFolder(j.run_dir).status(_cfg(j)) == "complete" for j in jobs):
                try:
                    write_references(
                        config, spec.task_keys, tasks, seeds, self.folder, self.command
                    )
                except ValueError as exc:  # a task too short for an episode, an unfrozen env
                    raise RunError(f"references of {spec.name}: {exc}") from None

    def references_for(self, spec: SettingSpec) -> dict[str, Any]:
        """The setting's references, checked against its config; :class:`RunError` if none."""
        refs = load_references(self.folder).get(spec.name)
        if refs is None:
            raise RunError(
                f"{self.folder / REFERENCES / (spec.name + '.json')}: no references for "
                f"{spec.name}; run the references phase first"
            )
        if refs["digest"] != env_digest(self._config(spec)):
            raise RunError(
                f"references of {spec.name} belong to another environment or budget; rerun "
                "`fade-rl suite` with --restart for the references phase"
            )
        return refs

    # ------------------------------------------------------------------ selection
    def protocol(self) -> dict[str, Any]:
        """The written ``protocol.json``, verified (empty if there is none)."""
        return read_protocol(self.folder)

    def select(self) -> dict[str, Any]:
        """Choose each method's value by mean tuning score; write ``protocol.json``.

        Raises :class:`RunError` while a tuning run is unfinished (another shard's).
        """
        chosen: dict[str, dict[str, Any]] = {}
        grids: dict[str, dict[str, Any]] = {}
        run_dirs: list[Path] = []
        for spec in self._specs:
            refs = self.references_for(spec)
            config = self._config(spec)
            chosen[spec.name], grids[spec.name] = {}, {}
            for method in self.methods:  # type: ignore[union-attr]
                points = self.suite.grids[method].points(config)
                grids[spec.name][method] = {"key": points[0][0], "values": [v for _, v in points]}
                table = []
                for point in points:
                    name = grid_name(spec.name, [point])
                    jobs = self._jobs(spec, method, self.suite.tuning_seeds, [point], TUNING, name)
                    run_dirs += [job.run_dir for job in jobs]
                    table.append((mean_tuning_score([j.run_dir for j in jobs], refs), point[1]))
                chosen[spec.name][method] = choose(points[0][0], table)
        old = self.protocol()
        for name in old.get("chosen", {}):  # keep other settings' choices (a --settings run)
            chosen.setdefault(name, old["chosen"][name])
            grids.setdefault(name, old.get("grids", {}).get(name, {}))
        kept = set(old.get(PROVENANCE, {}).get("runs", {})) - {
            d.relative_to(self.folder).as_posix() for d in run_dirs
        }
        run_dirs += [self.folder / run for run in sorted(kept)]
        data = {
            "tier": self.tier,
            "tuning_seeds": self.suite.tuning_seeds,
            "reference_seeds": self.suite.reference_seeds_for(self.tier),
            "held_out_seeds": {
                s.name: s.held_out(self.suite.tiers[self.tier].held_out_seeds)
                for s in self.suite.tier_settings(self.tier)
            },
            "grids": grids,
            "chosen": chosen,
            "sensitivity": None
            if self.suite.sensitivity is None
            else self.suite.sensitivity.model_dump(),
            "selection": SELECTION_RULE,
        }
        self.folder.mkdir(parents=True, exist_ok=True)
        data = stamp(data, self.folder, run_dirs)
        write_atomic(self.folder / PROTOCOL, json.dumps(data, indent=1))
        return data


def _cfg(job: Job) -> ExperimentConfig:
    return ExperimentConfig.model_validate(job.config)
