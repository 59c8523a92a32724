"""A sweep's jobs: making them (configs x grid points x methods x seeds) and running one.

Every job is validated (its environment and model built once) and every run folder is
checked against its job's config before the first one starts: a folder that holds a run
of a changed config stops the sweep (``restart=True``, ``--restart``, discards such runs
and starts every job afresh). A job whose run folder already holds a completed run is
skipped; one that fails writes ``failure.json`` into its run folder and is reported, and
the others go on. The backends that run many jobs are :mod:`~fade_rl.experiments.sweeps.local`
and :mod:`~fade_rl.experiments.sweeps.ray`, chosen by
:func:`~fade_rl.experiments.sweeps.backends.run_jobs`.
"""

from __future__ import annotations

import itertools
import json
import time
import traceback
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fade_rl.experiments.runs.atomic import write_atomic
from fade_rl.experiments.runs.config import (
    FLAG_KEYS,
    ConfigError,
    ExperimentConfig,
    apply_overrides,
    check_given_once,
    load_config,
    parse_override,
    validate_config,
)
from fade_rl.experiments.runs.folder import (
    COMPLETED,
    FAILED,
    FAILURE,
    FolderBusyError,
    RunFolder,
    run_dir_for,
)
from fade_rl.methods import REGISTRY

__all__ = [
    "SKIPPED",
    "Job",
    "JobResult",
    "check_jobs",
    "execute_job",
    "grid_name",
    "make_jobs",
    "parse_grid",
]


#: A job whose run folder already held its finished run (with ``COMPLETED`` and ``FAILED``).
SKIPPED = "skipped"


@dataclass(frozen=True)
class Job:
    """One run of a sweep: a resolved config (method and seed set) and where it goes.

    Example:
        >>> data = {"name": "demo", "env": {"id": "CartPole-v1"}, "method": "none", "seed": 3}
        >>> job = Job(validate_config(data, "example").to_dict(), "runs")
        >>> job.label, job.run_dir.as_posix()
        ('demo/none/seed_3', 'runs/demo/none/seed_3')
    """

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
    """What became of a job: ``completed``, ``skipped`` (already complete) or ``failed``.

    Example (:func:`execute_job` skips a run folder that holds this config's completed run):
        >>> import tempfile
        >>> import yaml
        >>> data = {"name": "demo", "env": {"id": "CartPole-v1"}, "method": "none"}
        >>> job = Job(validate_config(data, "example").to_dict(), tempfile.mkdtemp())
        >>> job.run_dir.mkdir(parents=True)
        >>> _ = (job.run_dir / "config.yaml").write_text(yaml.safe_dump(job.config))
        >>> summary = {"status": "completed", "n_timesteps": 0, "n_episodes": 0}
        >>> summary["final_return"] = None  # no episode ended
        >>> _ = (job.run_dir / "summary.json").write_text(json.dumps(summary))
        >>> result = execute_job(job)
        >>> result.label, result.status, result.error
        ('demo/none/seed_0', 'skipped', None)
    """

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


#: Keys that every job sets itself (``--methods``, ``--seeds``, the grid point's name).
JOB_AXES = {"method": "--methods", "seed": "--seed (the first seed) and --seeds (how many)"}


def check_axes(overrides: Sequence[str], grid: Sequence[str], flags: Mapping[str, Any]) -> None:
    """Refuse an axis that a sweep would replace in silence: a job's own key (method, seed,
    a grid point's name) set by ``-p`` or ``--grid``, or a key that two sources set.

    Example:
        >>> check_axes([], ["seed=5,6"], {})
        Traceback (most recent call last):
        ...
        fade_rl.experiments.runs.checks.ConfigError: --grid seed=5,6: each run's seed comes from ...
    """
    given = [(parse_override(o)[0], f"-p {o}") for o in overrides]
    given += [
        (FLAG_KEYS[f], f"--{f.replace('_', '-')} {v}") for f, v in flags.items() if v is not None
    ]
    given += [(parse_override(g.split(",", 1)[0])[0], f"--grid {g}") for g in grid if "=" in g]
    for key, how in given:
        if key in JOB_AXES:
            raise ConfigError(f"{how}: each run's {key} comes from {JOB_AXES[key]}; use those")
        if key == "name" and how.startswith("--grid"):
            raise ConfigError(f"{how}: a sweep names each grid point's folder itself; drop it")
    check_given_once(given)


#: The most runs one sweep lists (a typo in a grid or --seeds must not make millions).
MAX_JOBS = 100_000


def check_grid_methods(grid: Sequence[str], methods: Sequence[str]) -> None:
    """Refuse a grid axis over a method's params when that method is not swept: every
    point would run the same thing under another name.

    Example:
        >>> check_grid_methods(["methods.fade.meta_lr=1,2"], ["none"])
        Traceback (most recent call last):
        ...
        fade_rl.experiments.runs.checks.ConfigError: --grid methods.fade.meta_lr=1,2: ...
    """
    for spec in grid:
        parts = spec.split("=", 1)[0].strip().split(".")
        if len(parts) > 2 and parts[0] == "methods" and parts[1] not in methods:
            raise ConfigError(
                f"--grid {spec}: no run uses methods.{parts[1]} (--methods "
                f"{','.join(methods)}), so every point would repeat the same runs; "
                f"add {parts[1]} to --methods or drop the axis"
            )


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
    from fade_rl.experiments.runs.build import check_buildable
    from fade_rl.experiments.runs.run import check_log_folder

    check_log_folder(log_folder)
    check_axes(overrides, grid, flags)
    check_grid_methods(grid, methods)
    points = parse_grid(grid)
    n_jobs = len(points) * len(methods) * len(seeds) * len(configs)
    if n_jobs > MAX_JOBS:
        raise ConfigError(
            f"{n_jobs} runs ({len(configs)} configs x {len(points)} grid points x "
            f"{len(methods)} methods x {len(seeds)} seeds) is over {MAX_JOBS}; split the sweep"
        )
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
                    if REGISTRY[method].fade not in built:
                        check_buildable(config, source)
                        built.add(REGISTRY[method].fade)
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
    decides (:class:`~fade_rl.experiments.runs.folder.RunFolder`), under its lock.
    """
    from fade_rl.experiments.runs.run import train_run

    run_dir = job.run_dir
    config = ExperimentConfig.model_validate(job.config)
    try:
        if not restart and RunFolder(run_dir).status(config) == "complete":
            return JobResult(job.label, str(run_dir), SKIPPED)
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
        return JobResult(job.label, str(run_dir), FAILED, error)
    (run_dir / FAILURE).unlink(missing_ok=True)
    keep = ("final_return", "mean_return", "steps_per_second", "n_timesteps")
    return JobResult(job.label, str(run_dir), COMPLETED, None, {k: summary[k] for k in keep})


def raise_interrupt(signum: int, frame: Any) -> None:
    """A signal handler that turns SIGTERM into ``KeyboardInterrupt`` (so cleanup runs)."""
    raise KeyboardInterrupt(f"signal {signum}")
