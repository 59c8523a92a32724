"""What both suites' runners share: their arguments, and running and timing a phase.

:class:`PhaseRunner` is the base of :class:`~fade_rl.experiments.suite.phases.SuiteRun` and
:class:`~fade_rl.experiments.suite.levels_phases.LevelSuiteRun`: it picks the tier's
settings and the methods, runs a phase's jobs (one shard of them with ``shard``) after
checking that each new setting builds, and appends each phase's wall-clock time to
``<dir>/timing.jsonl``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from fade_rl.experiments.runs.atomic import append_synced
from fade_rl.experiments.runs.checks import ConfigError
from fade_rl.experiments.runs.config import ExperimentConfig, apply_overrides, validate_config
from fade_rl.experiments.runs.folder import COMPLETED, FAILED, RunError, RunFolder
from fade_rl.experiments.suite.provenance import STAMPED_PHASES, TIMING, stamp_finished_phase
from fade_rl.experiments.sweeps import Job, JobResult, run_jobs

__all__ = ["SENSITIVITY", "TIMING", "TUNING", "PhaseRunner", "run_identity"]

TUNING, SENSITIVITY = "tuning", "sensitivity"


@dataclass
class PhaseRunner:
    """One invocation of a suite: which tier, settings, methods, where, and how.

    Args:
        suite: the manifest (its ``tier_settings(tier)`` and ``grids``).
        tier: ``smoke``, ``standard`` or ``full``.
        folder: the suite folder.
        settings: names of the settings to run (default: the tier's).
        methods: the methods (default: every method in the manifest's grids).
        backend, workers, address, restart, progress: as for
            :func:`~fade_rl.experiments.sweeps.backends.run_jobs`.
        shard: ``(k, n)``: run only jobs ``k, k + n, ...`` of each phase, in this process.
        command: the command line, recorded in run folders and references.

    Example:
        >>> from fade_rl.experiments.suite.levels_phases import LevelSuiteRun
        >>> from fade_rl.experiments.suite.phases import SuiteRun
        >>> issubclass(SuiteRun, PhaseRunner), issubclass(LevelSuiteRun, PhaseRunner)
        (True, True)
    """

    suite: Any
    tier: str
    folder: Path
    settings: Sequence[str] | None = None
    methods: Sequence[str] | None = None
    backend: str = "local"
    workers: int = 1
    address: str | None = None
    restart: bool = False
    progress: bool = True
    shard: tuple[int, int] | None = None
    command: Sequence[str] = ()
    _specs: list[Any] = field(default_factory=list, init=False)
    _configs: dict[str, ExperimentConfig] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.folder = Path(self.folder)
        specs = self.suite.tier_settings(self.tier)
        if self.settings:
            names = [s.name for s in specs]
            for name in self.settings:
                if name not in names:
                    known = ", ".join(names)
                    raise ConfigError(
                        f"--settings: {name!r} is not in the {self.tier} tier; use {known}"
                    )
            specs = [s for s in specs if s.name in self.settings]
        self._specs = specs
        self.methods = list(self.methods or self.suite.grids)
        if self.shard is not None:
            k, n = self.shard
            if not 0 <= k < n:
                raise ConfigError(f"--shard: expected K/N with 0 <= K < N, got {k}/{n}")

    #: The phases :meth:`run` runs, in order (each subclass's).
    run_phases: ClassVar[tuple[str, ...]] = ()

    def run(self, phases: Sequence[str] | None = None) -> dict[str, list[JobResult]]:
        """Run ``phases`` (default: all of :attr:`run_phases`) in order; each phase's job
        results. Tuning and sensitivity are skipped where the tier leaves them out."""
        tier = self.suite.tiers[self.tier]
        out: dict[str, list[JobResult]] = {}
        for phase in self.run_phases if phases is None else phases:
            if phase not in self.run_phases:
                name = type(self).__name__
                raise ValueError(f"phase {phase!r}: {name} runs {', '.join(self.run_phases)}")
            if phase == TUNING and not tier.tune:
                continue
            if phase == SENSITIVITY and not (tier.sensitivity and self.suite.sensitivity):
                continue
            started = time.time()
            out[phase] = self._run_phase(phase)
            self.record_time(phase, started, out[phase])
        return out

    def _run_phase(self, phase: str) -> list[JobResult]:
        """Run one phase: its jobs and what follows them (the tuning phase selects; the
        phases a report reads are stamped)."""
        jobs = getattr(self, f"{phase}_jobs")()
        results = self._execute(jobs, phase)
        if phase == TUNING:
            try:
                self.select()
            except RunError as exc:  # another shard's runs are still going
                if self.shard is None:
                    raise
                print(f"selection waits for the other shards ({exc}); the held_out phase selects")
        elif phase in STAMPED_PHASES:  # the report reads these runs: tie them to a digest
            stamp_finished_phase(self.folder, phase, [job.run_dir for job in jobs])
        return results

    def select(self) -> dict[str, Any]:
        """Choose each method's tuned value and write ``protocol.json`` (each subclass's)."""
        raise NotImplementedError

    def _jobs(
        self,
        spec: Any,
        method: str,
        seeds: Sequence[int],
        point: Sequence[tuple[str, Any]],
        sub: str,
        name: str,
        steps: int | None = None,
    ) -> list[Job]:
        """One job per seed: the setting's config with ``point`` applied, named ``name``,
        under ``<folder>/<sub>`` (``steps``: another budget)."""
        data = apply_overrides(self._config(spec).to_dict(), list(point))
        data.update(name=name, method=method)
        if steps is not None:
            data["budget"]["n_timesteps"] = steps
        jobs = []
        for seed in seeds:
            config = validate_config({**data, "seed": seed}, f"suite setting {spec.name}")
            jobs.append(Job(config.to_dict(), str(self.folder / sub), tuple(self.command)))
        return jobs

    def _config(self, spec: Any) -> ExperimentConfig:
        """The setting's config under this tier, read and validated once."""
        if spec.name not in self._configs:
            self._configs[spec.name] = spec.load(self.tier)
        return self._configs[spec.name]

    def _execute(self, jobs: list[Job], phase: str) -> list[JobResult]:
        if self.shard is not None:
            k, n = self.shard
            jobs = jobs[k::n]
        from fade_rl.experiments.runs.build import check_buildable

        checked: set[tuple[str, str]] = set()
        for job in jobs:
            config = ExperimentConfig.model_validate(job.config)
            key = (config.name, config.method)
            if key not in checked and RunFolder(job.run_dir).status(config) != "complete":
                check_buildable(config, f"{phase} job {job.label}")
                checked.add(key)
        suffix = "" if self.shard is None else f"_shard{self.shard[0]}"
        return run_jobs(
            jobs,
            backend=self.backend,
            workers=1 if self.shard is not None else self.workers,
            address=self.address,
            progress=self.progress,
            results_file=self.folder / f"{phase}_results{suffix}.json",
            restart=self.restart,
        )

    def record_time(self, phase: str, started: float, results: Sequence[JobResult]) -> None:
        """Append the phase's wall-clock time and run counts to ``<dir>/timing.jsonl``."""
        self.folder.mkdir(parents=True, exist_ok=True)
        record = {
            "tier": self.tier,
            "phase": phase,
            "shard": None if self.shard is None else list(self.shard),
            "workers": 1 if self.shard is not None else self.workers,
            "started": started,
            "seconds": round(time.time() - started, 1),
            "completed": sum(r.status == COMPLETED for r in results),
            "skipped": sum(r.status == "skipped" for r in results),
            "failed": sum(r.status == FAILED for r in results),
        }
        append_synced(self.folder / TIMING, json.dumps(record) + "\n")


def run_identity(job: Job) -> str:
    """A job's config without its name: equal for the same run under two names (a
    sensitivity point that a tuning grid already ran)."""
    return json.dumps({k: v for k, v in job.config.items() if k != "name"}, sort_keys=True)
