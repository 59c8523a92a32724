"""A sweep on Ray leaves no task training when its driver is interrupted or killed.

SIGINT and SIGTERM: the driver cancels its tasks (``ray.cancel(force=True)``) and exits
130. SIGKILL: Ray itself kills the tasks of a job whose driver died, on a cluster that
outlives the driver as on the local Ray a sweep starts (which dies with its driver).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..helpers import fast_config, local_ray, write_config

REPO = Path(__file__).resolve().parents[2]
SEEDS = (0, 1)

pytest.importorskip("ray")


def _held(lock: Path) -> bool:
    """Whether some process holds the run folder's lock (that is: is training it)."""
    if not lock.is_file():
        return False
    fd = os.open(lock, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing releases a lock we took
    return False


def _holder(lock: Path) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        return int(lock.read_text().strip())
    return None


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A Ray cluster that outlives the sweeps' drivers (as a shared cluster does)."""
    with local_ray() as address:
        yield address


def _start(tmp_path: Path, address: str | None) -> tuple[subprocess.Popen, list[Path]]:
    """A Ray sweep of two long runs, once both of them are training."""
    config = write_config(tmp_path / "long.yaml", fast_config(n_timesteps=200_000))
    runs = tmp_path / "runs"
    cmd = [sys.executable, "-m", "fade_rl.cli", "sweep", "-c", str(config), "-f", str(runs)]
    cmd += ["--methods", "none", "--seeds", "2", "--workers", "2", "--no-progress"]
    cmd += ["--backend", "ray"] + (["--address", address] if address else [])
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    env["RAY_AUTH_MODE"] = "disabled"
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stderr=subprocess.PIPE, text=True)
    locks = [runs / "tiny_flip" / "none" / f"seed_{s}" / "run.lock" for s in SEEDS]
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not all(_held(lock) for lock in locks):
        if proc.poll() is not None:
            pytest.fail(f"the sweep ended early: {proc.stderr.read() if proc.stderr else ''}")
        time.sleep(0.3)
    assert all(_held(lock) for lock in locks), "the Ray tasks did not start training"
    return proc, locks


def _interrupt(proc: subprocess.Popen, locks: list[Path], sig: signal.Signals) -> None:
    trainers = {_holder(lock) for lock in locks}
    sent = time.monotonic()
    proc.send_signal(sig)
    proc.wait(timeout=60)
    while time.monotonic() - sent < 30 and any(_held(lock) for lock in locks):
        time.sleep(0.2)
    training = [lock.parent.name for lock in locks if _held(lock)]
    for pid in trainers:  # never leave a trainer behind, even when the test fails
        if pid is not None and any(_held(lock) for lock in locks):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    assert not training, f"Ray tasks still train {training} after {sig.name} of the sweep"
    if sig != signal.SIGKILL:
        err = proc.stderr.read()[-3000:] if proc.stderr else ""
        assert proc.returncode == 130, err  # "interrupted; rerun the same command to resume"


#: SIGINT takes SIGTERM's path (both raise KeyboardInterrupt in the driver): slow only.
@pytest.mark.parametrize(
    "sig",
    [pytest.param(signal.SIGINT, marks=pytest.mark.slow), signal.SIGTERM, signal.SIGKILL],
    ids=lambda s: s.name,
)
def test_no_task_trains_on_after_the_driver_stops(
    tmp_path: Path, cluster: str, sig: signal.Signals
) -> None:
    _interrupt(*_start(tmp_path, cluster), sig)


@pytest.mark.slow  # Ray's processes share the fate of the driver that started them
def test_a_ray_the_sweep_started_ends_with_its_killed_driver(tmp_path: Path) -> None:
    _interrupt(*_start(tmp_path, None), signal.SIGKILL)
