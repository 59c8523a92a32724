"""The local backend of sweeps: a process per run, ``workers`` at a time.

Each run gets a fresh ``spawn`` process, so a crash (even a killed process) takes down
only its run. Workers never outlive the sweep: SIGINT or SIGTERM to the sweep terminates
them at once (SIGTERM, then SIGKILL after 5 s), and when the sweep's process dies in any
way, SIGKILL included, the kernel sends them SIGKILL (``prctl(PR_SET_PDEATHSIG)``; a
watchdog thread that polls the parent's pid covers other systems and a parent that died
before the call).
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from fade_rl.experiments.runs.atomic import write_atomic
from fade_rl.experiments.runs.folder import FAILED, FAILURE
from fade_rl.experiments.sweeps.jobs import Job, JobResult, execute_job, raise_interrupt

__all__ = ["run_local"]


def _die_with_parent(parent: int) -> None:
    """Make this worker end when the sweep's process ``parent`` ends, however it ends."""
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)

    def watch() -> None:  # everywhere (and on Linux, for a parent that died before prctl)
        while True:
            if os.getppid() != parent:
                os.kill(os.getpid(), signal.SIGKILL)
            time.sleep(0.5)

    threading.Thread(target=watch, daemon=True, name="fade-rl-parent-watch").start()


def _child(job: Job, queue: Any, parent: int, restart: bool) -> None:
    _die_with_parent(parent)
    result = execute_job(job, restart=restart)
    queue.put(result)


def _stop(procs: Iterable[Any]) -> None:
    """Terminate worker processes now (SIGTERM, then SIGKILL after 5 s)."""
    procs = [p for p in procs if p.is_alive()]
    for proc in procs:
        proc.terminate()
    deadline = time.monotonic() + 5
    for proc in procs:
        proc.join(max(0.0, deadline - time.monotonic()))
        if proc.is_alive():
            proc.kill()
            proc.join()


def run_local(
    jobs: Sequence[Job], workers: int, on_result: Callable[[JobResult], None], restart: bool
) -> list[JobResult]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    pending = list(jobs)
    running: dict[str, tuple[Job, Any]] = {}
    results: list[JobResult] = []
    got: dict[str, JobResult] = {}
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, raise_interrupt)
    try:
        _pool_loop(ctx, queue, pending, running, results, got, workers, on_result, restart)
    finally:
        _stop(proc for _, proc in running.values())
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        with contextlib.suppress(Exception):
            queue.close()
    return results


def _pool_loop(
    ctx: Any,
    queue: Any,
    pending: list[Job],
    running: dict[str, tuple[Job, Any]],
    results: list[JobResult],
    got: dict[str, JobResult],
    workers: int,
    on_result: Callable[[JobResult], None],
    restart: bool,
) -> None:
    parent = os.getpid()
    while pending or running:
        while pending and len(running) < workers:
            job = pending.pop(0)
            proc = ctx.Process(target=_child, args=(job, queue, parent, restart), daemon=False)
            proc.start()
            running[job.label] = (job, proc)
        try:
            result = queue.get(timeout=0.5)
            got[result.label] = result
        except Exception:  # queue.Empty: look for finished or dead processes
            pass
        for label, (job, proc) in list(running.items()):
            if label in got:
                proc.join()
                del running[label]
                results.append(got.pop(label))
                on_result(results[-1])
            elif not proc.is_alive():
                proc.join()
                # A result may still be in flight in the queue.
                try:
                    while True:
                        result = queue.get(timeout=1.0)
                        got[result.label] = result
                        if result.label == label:
                            break
                except Exception:
                    pass
                del running[label]
                if label in got:
                    results.append(got.pop(label))
                else:
                    error = f"worker process died (exit code {proc.exitcode})"
                    if job.run_dir.is_dir():
                        write_atomic(job.run_dir / FAILURE, json.dumps({"error": error}))
                    results.append(JobResult(label, str(job.run_dir), FAILED, error))
                on_result(results[-1])
