"""Killing a real run (SIGKILL) and resuming it: full step count, nothing logged twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from tbparse import SummaryReader

from fade_rl.cli import main
from fade_rl.experiments.runs.logs import read_episodes

from ..helpers import small_config, write_config

REPO = Path(__file__).resolve().parents[3]


def test_killed_run_resumes_without_duplicates(tmp_path: Path) -> None:
    data = small_config(method="fade", budget={"n_timesteps": 4000})
    data["logging"]["checkpoint_interval"] = 1000
    config = write_config(tmp_path / "resume.yaml", data)
    args = ["train", "--config", str(config), "-f", str(tmp_path / "runs"), "--no-progress"]
    run_dir = tmp_path / "runs" / "tiny_flip" / "fade" / "seed_0"
    marker = run_dir / "checkpoint.json"

    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "fade_rl.cli", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 150
    step = 0
    while time.monotonic() < deadline and proc.poll() is None:
        if marker.is_file():
            step = json.loads(marker.read_text())["step"]
            if step >= 2000:
                break
        time.sleep(0.05)
    assert proc.poll() is None, f"run ended before it could be killed: {proc.stderr.read()!r}"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 2000 <= step < 4000
    assert not (run_dir / "summary.json").exists()
    checkpoint = json.loads(marker.read_text())["step"]  # the latest before the kill
    killed_at = max(e["step"] for e in read_episodes(run_dir)[0])

    assert main(args) == 0  # the same command resumes

    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["n_timesteps"] == 4000
    assert summary["resumed_at"] == [checkpoint]
    assert "resumed at step" in (run_dir / "command.txt").read_text()

    frame = SummaryReader(str(run_dir), pivot=False).scalars
    for tag, part in frame.groupby("tag"):
        if tag.startswith("fade/"):
            continue  # FadeDQN's log dumps and PlasticityCallback both write these
        steps = part["step"].to_numpy()
        assert len(np.unique(steps)) == len(steps), f"{tag} logged a step twice"
    # PlasticityCallback's state came back too: each segment's statistics once, in order
    closed = frame[frame["tag"] == "shift/segment_closed"].sort_values("step")["value"]
    assert list(closed) == list(range(8))
    returns = frame[frame["tag"] == "episode/return"]["step"].to_numpy()
    assert returns.max() > killed_at  # the curve goes on past the kill ...
    assert np.all(np.diff(np.sort(returns)) > 0)
    segments = frame[frame["tag"] == "env/segment"].sort_values("step")
    # ... and the environment kept its clock: one shift every 500 steps, none repeated
    assert list(segments["step"]) == list(range(500, 4000, 500))
    assert list(segments["value"]) == list(range(1, 8))

    episodes, shifts = read_episodes(run_dir)
    ends = [e["step"] for e in episodes]
    assert ends == sorted(ends) and len(set(ends)) == len(ends)
    # episode lengths tile the steps up to the last episode end (no gap, no overlap)
    assert sum(e["length"] for e in episodes) == ends[-1]
    assert [s["step"] for s in shifts] == list(range(500, 4000, 500))
