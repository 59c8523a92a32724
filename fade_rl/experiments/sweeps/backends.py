"""Running a sweep's jobs on a backend: ``local`` (a process per run) or ``ray``.

* ``local``: each run in its own fresh process (``spawn``), ``workers`` at a time, so a
  crash (even a killed process) takes down only its run; ``workers=1`` runs them one after
  the other in the calling process (exceptions are still recorded per run). Workers never
  outlive the sweep: SIGINT or SIGTERM to it terminates them at once, and when the sweep's
  process dies in any way (SIGKILL included) the kernel sends them SIGKILL
  (``PR_SET_PDEATHSIG``; elsewhere a watchdog thread polls the parent's pid).
* ``ray``: each run is a Ray task (``num_cpus=1``) on the cluster at ``address``, or on a
  local Ray instance started for the sweep when ``address`` is ``None``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from fade_rl.experiments.runs.atomic import write_atomic
from fade_rl.experiments.runs.folder import FAILED
from fade_rl.experiments.sweeps.jobs import SKIPPED, Job, JobResult, check_jobs, execute_job
from fade_rl.experiments.sweeps.local import run_local
from fade_rl.experiments.sweeps.ray import run_ray

__all__ = ["BACKENDS", "run_jobs"]

#: The backends a sweep runs on (``--backend``).
BACKENDS: tuple[str, ...] = ("local", "ray")


def run_jobs(
    jobs: Sequence[Job],
    backend: str = "local",
    workers: int = 1,
    address: str | None = None,
    progress: bool = True,
    results_file: str | Path | None = None,
    restart: bool = False,
) -> list[JobResult]:
    """Run ``jobs`` (skipping completed ones) and return one result per job.

    Before any job runs, every run folder is checked against its job's config
    (:func:`check_jobs`): a changed config raises :class:`RunError`.

    Args:
        jobs: from :func:`make_jobs`.
        backend: ``"local"`` (process per run, ``workers`` at once) or ``"ray"``.
        workers: concurrent runs (local; the CPUs of a local Ray instance).
        address: a Ray cluster's address (``"auto"``, ``"ray://host:10001"``, ``host:port``).
        progress: a tqdm bar over runs.
        results_file: where to write the results as JSON.
        restart: discard what every job's folder holds and run all jobs afresh.
    """
    if backend not in BACKENDS:
        known = " or ".join(map(repr, BACKENDS))
        raise ValueError(f"backend must be {known}, got {backend!r}")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    from tqdm.auto import tqdm

    todo = list(jobs) if restart else check_jobs(jobs)
    results = [JobResult(j.label, str(j.run_dir), SKIPPED) for j in jobs if j not in todo]
    bar = tqdm(total=len(jobs), initial=len(results), desc="runs", unit="run", disable=not progress)

    def on_result(result: JobResult) -> None:
        bar.update(1)
        if result.status == FAILED:
            bar.write(f"FAILED {result.label}: {result.error}")

    try:
        if todo and backend == "local":
            if workers == 1:  # one at a time, in this process (a bar per run when alone)
                for job in todo:
                    alone = progress and len(todo) == 1
                    results.append(execute_job(job, progress=alone, restart=restart))
                    on_result(results[-1])
            else:
                results += run_local(todo, workers, on_result, restart)
        elif todo:
            results += run_ray(todo, address, workers, on_result, restart)
    finally:
        bar.close()
    order = {job.label: i for i, job in enumerate(jobs)}
    results.sort(key=lambda r: order[r.label])
    if results_file is not None:
        path = Path(results_file)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps([r.__dict__ for r in results], indent=1))
    return results
