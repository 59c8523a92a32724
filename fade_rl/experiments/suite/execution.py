"""Running a suite phase's jobs and timing it: what both suites' runners share.

:class:`PhaseExecution` is a mixin of the runners (:class:`~fade_rl.experiments.suite.phases.
SuiteRun` and :class:`~fade_rl.experiments.suite.levels_phases.LevelSuiteRun`): it runs a
phase's jobs (one shard of them with ``shard``) after checking that each new setting
builds, and appends each phase's wall-clock time to ``<dir>/timing.jsonl``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path

from fade_rl.experiments.runs.atomic import append_synced
from fade_rl.experiments.runs.config import ExperimentConfig
from fade_rl.experiments.runs.folder import COMPLETED, FAILED, RunFolder
from fade_rl.experiments.suite.provenance import TIMING
from fade_rl.experiments.sweeps import Job, JobResult, run_jobs

__all__ = ["TIMING", "PhaseExecution"]


class PhaseExecution:
    """Runs a phase's jobs and records its time (a mixin: the runner sets these fields).

    Example:
        >>> from fade_rl.experiments.suite.levels_phases import LevelSuiteRun
        >>> from fade_rl.experiments.suite.phases import SuiteRun
        >>> issubclass(SuiteRun, PhaseExecution), issubclass(LevelSuiteRun, PhaseExecution)
        (True, True)
    """

    folder: Path
    backend: str
    workers: int
    address: str | None
    restart: bool
    progress: bool
    shard: tuple[int, int] | None
    tier: str

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
