"""Sweeps: many runs (configs x grid points x methods x seeds), locally or on Ray.

Every job is validated (its environment and model built once) and every run folder is
checked against its job's config before the first one starts: a folder that holds a run
of a changed config stops the sweep (``restart=True``, ``--restart``, discards such runs
and starts every job afresh). A job whose run folder already holds a completed run is
skipped; one that fails writes ``failure.json`` into its run folder and
is reported, and the others go on. Backends:

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

import contextlib
import itertools
import json
import os
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fade_rl.experiments.atomic import write_atomic
from fade_rl.experiments.config import (
    ConfigError,
    ExperimentConfig,
    apply_overrides,
    load_config,
    parse_override,
    validate_config,
)
from fade_rl.experiments.folder import FAILURE, FolderBusyError, RunFolder, run_dir_for
from fade_rl.experiments.run_key import KEY_ENV

__all__ = [
    "Job",
    "JobResult",
    "check_jobs",
    "execute_job",
    "grid_name",
    "make_jobs",
    "parse_grid",
    "run_jobs",
]


@dataclass(frozen=True)
class Job:
    """One run of a sweep: a resolved config (method and seed set) and where it goes."""

    config: dict[str, Any]
    log_folder: str
    command: tuple[str, ...] = ()

    @property
    def run_dir(self) -> Path:
        """The run folder of this job."""
        return run_dir_for(self.log_folder, self.config)

    @property
    def label(self) -> str:
        """``setting/method/seed_k``."""
        return self.run_dir.relative_to(self.log_folder).as_posix()


@dataclass
class JobResult:
    """What became of a job: ``completed``, ``skipped`` (already complete) or ``failed``."""

    label: str
    run_dir: str
    status: str
    error: str | None = None
    summary: dict[str, Any] = field(default_factory=dict)


def parse_grid(specs: Iterable[str]) -> list[list[tuple[str, Any]]]:
    """``["lr=1e-3,3e-4", "methods.fade.meta_lr=0.5,1"]`` -> every combination of overrides."""
    axes: list[list[tuple[str, Any]]] = []
    for spec in specs:
        key, raw = spec.split("=", 1) if "=" in spec else (spec, "")
        if not raw:
            raise ConfigError(f"grid {spec!r}: expected key=v1,v2,... (e.g. --grid lr=1e-3,3e-4)")
        axes.append([parse_override(f"{key}={value}") for value in raw.split(",")])
    return [list(point) for point in itertools.product(*axes)] if axes else [[]]


def grid_name(base: str, point: Sequence[tuple[str, Any]]) -> str:
    if not point:
        return base
    parts = [f"{key.rsplit('.', 1)[-1]}={value}" for key, value in point]
    return base + "__" + ",".join(parts).replace(" ", "").replace("/", "_")


def make_jobs(
    configs: Sequence[str | Path | None],
    methods: Sequence[str],
    seeds: Sequence[int],
    log_folder: str | Path = "runs",
    overrides: Sequence[str] = (),
    grid: Sequence[str] = (),
    command: Sequence[str] = (),
    **flags: Any,
) -> list[Job]:
    """Validate and list every job; raise :class:`ConfigError` before anything runs.

    ``flags`` are :func:`load_config`'s (``env``, ``algo``, ``n_timesteps``, ``device``).
    Each setting is built once per algorithm class (FADE or not) to catch what only SB3,
    Gymnasium or FADE would refuse, and ``log_folder`` must be writable.
    """
    from fade_rl.experiments.build import check_buildable
    from fade_rl.experiments.run import check_log_folder

    check_log_folder(log_folder)
    points = parse_grid(grid)
    jobs = []
    for path in configs:
        base = load_config(path, overrides, **flags)
        for point in points:
            data = apply_overrides(base.to_dict(), point)
            data["name"] = grid_name(base.name, point)
            source = str(path) if path else "config"
            setting = validate_config(data, source)
            built: set[bool] = set()
            for method in methods:
                for seed in seeds:
                    data = {**setting.to_dict(), "method": method, "seed": seed}
                    config = validate_config(data, source)
                    if (method == "fade") not in built:
                        check_buildable(config, source)
                        built.add(method == "fade")
                    jobs.append(Job(config.to_dict(), str(log_folder), tuple(command)))
    labels = [job.label for job in jobs]
    if len(set(labels)) != len(labels):
        dup = next(label for label in labels if labels.count(label) > 1)
        raise ConfigError(f"two jobs would share the run folder {dup}; give configs distinct names")
    return jobs


def check_jobs(jobs: Sequence[Job]) -> list[Job]:
    """The jobs still to run; raise :class:`RunError` if a folder holds a changed config.

    Every folder is checked (config identity before completion) before any job runs.
    """
    todo = []
    for job in jobs:
        config = ExperimentConfig.model_validate(job.config)
        if RunFolder(job.run_dir).status(config) != "complete":
            todo.append(job)
    return todo


def execute_job(job: Job, progress: bool = False, restart: bool = False) -> JobResult:
    """Run one job in this process; record a failure instead of raising.

    A completed run of the same config is skipped (unless ``restart``); the run folder
    decides (:class:`~fade_rl.experiments.folder.RunFolder`), under its lock.
    """
    from fade_rl.experiments.run import train_run

    run_dir = job.run_dir
    config = ExperimentConfig.model_validate(job.config)
    try:
        if not restart and RunFolder(run_dir).status(config) == "complete":
            return JobResult(job.label, str(run_dir), "skipped")
        summary = train_run(
            config,
            job.log_folder,
            resume=not restart,
            progress=progress,
            command=job.command or None,
        )
    except Exception as exc:  # recorded, so the sweep goes on
        error = f"{type(exc).__name__}: {exc}"
        if run_dir.is_dir() and not isinstance(exc, FolderBusyError):  # not into another's folder
            write_atomic(
                run_dir / FAILURE,
                json.dumps(
                    {"error": error, "traceback": traceback.format_exc(), "time": time.time()},
                    indent=1,
                ),
            )
        return JobResult(job.label, str(run_dir), "failed", error)
    (run_dir / FAILURE).unlink(missing_ok=True)
    keep = ("final_return", "mean_return", "steps_per_second", "n_timesteps")
    return JobResult(job.label, str(run_dir), "completed", None, {k: summary[k] for k in keep})


def _ray_task(job: Job, restart: bool) -> JobResult:
    return execute_job(job, restart=restart)


def _run_ray(
    jobs: Sequence[Job],
    address: str | None,
    workers: int | None,
    on_result: Callable[[JobResult], None],
    restart: bool,
) -> list[JobResult]:
    import ray

    import fade_rl

    started = False
    if not ray.is_initialized():
        # Workers import the same fade_rl as this process (an editable checkout included).
        root = str(Path(fade_rl.__file__).resolve().parent.parent)
        env_vars = {"PYTHONPATH": root}
        if os.environ.get(KEY_ENV):  # tasks sign and check checkpoints with the same key
            env_vars[KEY_ENV] = os.environ[KEY_ENV]
        kwargs: dict[str, Any] = {
            "runtime_env": {"env_vars": env_vars},
            "log_to_driver": False,
            "include_dashboard": False,
        }
        if address is None:
            kwargs["num_cpus"] = workers
        ray.init(address=address, **kwargs)
        started = True
    # After ray.init, which installs Ray's own SIGTERM handler (it logs and aborts).
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    refs: dict[Any, Job] = {}
    try:
        remote = ray.remote(num_cpus=1, max_retries=0)(_ray_task)
        for job in jobs:
            refs[remote.remote(job, restart)] = job
        results: list[JobResult] = []
        waiting = list(refs)
        while waiting:
            done, waiting = ray.wait(waiting, num_returns=1)
            job = refs[done[0]]
            try:
                result = ray.get(done[0])
            except Exception as exc:  # the task or its worker died
                result = JobResult(job.label, str(job.run_dir), "failed", f"ray: {exc}")
            results.append(result)
            on_result(result)
        return results
    except BaseException:  # interrupted (SIGINT, SIGTERM) or failed: no task trains on
        for ref in refs:  # a finished task's cancel does nothing
            with contextlib.suppress(Exception):
                ray.cancel(ref, force=True)
        raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        if started:
            ray.shutdown()


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


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
    if backend not in ("local", "ray"):
        raise ValueError(f"backend must be 'local' or 'ray', got {backend!r}")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    from tqdm.auto import tqdm

    todo = list(jobs) if restart else check_jobs(jobs)
    results = [JobResult(j.label, str(j.run_dir), "skipped") for j in jobs if j not in todo]
    bar = tqdm(total=len(jobs), initial=len(results), desc="runs", unit="run", disable=not progress)

    def on_result(result: JobResult) -> None:
        bar.update(1)
        if result.status == "failed":
            bar.write(f"FAILED {result.label}: {result.error}")

    try:
        if todo and backend == "local":
            if workers == 1:  # one at a time, in this process (a bar per run when alone)
                for job in todo:
                    alone = progress and len(todo) == 1
                    results.append(execute_job(job, progress=alone, restart=restart))
                    on_result(results[-1])
            else:
                from fade_rl.experiments.pool import run_local

                results += run_local(todo, workers, on_result, restart)
        elif todo:
            results += _run_ray(todo, address, workers, on_result, restart)
    finally:
        bar.close()
    order = {job.label: i for i, job in enumerate(jobs)}
    results.sort(key=lambda r: order[r.label])
    if results_file is not None:
        path = Path(results_file)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps([r.__dict__ for r in results], indent=1))
    return results
