"""The Ray backend of sweeps: each run a Ray task, on a cluster or a local Ray instance.

Each run is a Ray task (``num_cpus=1``, no retries) on the cluster at ``address``, or on a
local Ray instance started for the sweep when ``address`` is ``None``. A task whose worker
dies is reported as a failed run; the others go on.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from fade_rl.experiments.runs.checks import ConfigError
from fade_rl.experiments.runs.folder import FAILED
from fade_rl.experiments.runs.run_key import KEY_ENV
from fade_rl.experiments.sweeps.jobs import Job, JobResult, execute_job, raise_interrupt

__all__ = ["run_ray"]


def _checkout() -> Path:
    """The folder that holds this ``fade_rl`` package (a checkout or site-packages)."""
    return Path(__file__).resolve().parents[__name__.count(".")]


def _ray_task(job: Job, restart: bool) -> JobResult:
    return execute_job(job, restart=restart)


def run_ray(
    jobs: Sequence[Job],
    address: str | None,
    workers: int | None,
    on_result: Callable[[JobResult], None],
    restart: bool,
) -> list[JobResult]:
    """Run ``jobs`` as Ray tasks (``num_cpus=1``); call ``on_result`` as each one ends.

    On the cluster at ``address``, or on a local Ray instance of ``workers`` CPUs started
    for the sweep (and shut down after it) when ``address`` is ``None``. Interrupted
    (SIGINT, SIGTERM), it cancels every task before it re-raises: no task trains on. A
    driver killed outright takes its tasks with it (Ray ends a dead driver's job).
    """
    import ray

    started = False
    if not ray.is_initialized():
        # Workers import the same fade_rl as this process (an editable checkout included).
        env_vars = {"PYTHONPATH": str(_checkout())}
        if os.environ.get(KEY_ENV):  # tasks sign and check checkpoints with the same key
            env_vars[KEY_ENV] = os.environ[KEY_ENV]
        kwargs: dict[str, Any] = {
            "runtime_env": {"env_vars": env_vars},
            "log_to_driver": False,
            "include_dashboard": False,
        }
        if address is None:
            kwargs["num_cpus"] = workers
        try:
            ray.init(address=address, **kwargs)
        except ConnectionError as exc:
            raise ConfigError(
                f"--address {address}: no Ray cluster answers there ({str(exc).splitlines()[0]}); "
                "start one (ray start --head) or leave --address out for a local Ray"
            ) from None
        started = True
    # After ray.init, which installs Ray's own SIGTERM handler (it logs and aborts).
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, raise_interrupt)
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
                result = JobResult(job.label, str(job.run_dir), FAILED, f"ray: {exc}")
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
