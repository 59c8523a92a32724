"""A sweep's workers never outlive it: SIGKILL, SIGTERM or SIGINT of the parent ends them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ..helpers import fast_config, write_config

REPO = Path(__file__).resolve().parents[3]


def _children(pid: int) -> set[int]:
    """Pids whose parent is ``pid`` (from /proc)."""
    out = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.add(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")  # a zombie has ended; only its parent has not reaped it


def _start_sweep(tmp_path: Path) -> tuple[subprocess.Popen, list[Path]]:
    config = write_config(tmp_path / "long.yaml", fast_config(n_timesteps=200_000))
    runs = tmp_path / "runs"
    cmd = [sys.executable, "-m", "fade_rl.cli", "sweep", "-c", str(config), "-f", str(runs)]
    cmd += ["--methods", "none", "--seeds", "2", "--workers", "2", "--no-progress"]
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stderr=subprocess.PIPE, text=True)
    marks = [runs / "tiny_flip" / "none" / f"seed_{s}" / "episodes.jsonl" for s in (0, 1)]
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not all(m.is_file() for m in marks):
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        time.sleep(0.2)
    assert all(m.is_file() for m in marks), "the workers did not start training"
    return proc, marks


@pytest.mark.parametrize(
    "sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name
)
def test_workers_end_with_the_sweep(tmp_path: Path, sig: signal.Signals) -> None:
    proc, _ = _start_sweep(tmp_path)
    workers = _children(proc.pid)
    assert len(workers) >= 2  # two runs (and multiprocessing's resource tracker)
    sent = time.monotonic()
    proc.send_signal(sig)
    proc.wait(timeout=30)
    while time.monotonic() - sent < 15 and any(_alive(pid) for pid in workers):
        time.sleep(0.1)
    survivors = [pid for pid in workers if _alive(pid)]
    for pid in survivors:  # do not leave them behind if the test fails
        os.kill(pid, signal.SIGKILL)
    assert not survivors, f"workers outlived the sweep ({sig.name})"
    assert time.monotonic() - sent < 15
    if sig != signal.SIGKILL:
        assert proc.returncode == 130  # "interrupted; rerun the same command to resume"
