"""Bookkeeping of the C-CHAIN reproduction (benchmarks/paper/continual_control.py)."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

from benchmarks.paper import continual_control as cc
from fade_rl.cli import main as cli_main


def test_iteration_means_assign_episodes_by_their_last_step() -> None:
    episodes = [
        {"step": 800, "return": 10.0},  # the last step of iteration 0
        {"step": 801, "return": 30.0},
        {"step": 1600, "return": 50.0},
        {"step": 3000, "return": 7.0},
    ]
    means = cc.iteration_means(episodes, 3200)
    assert means[:2] == [10.0, 40.0]
    assert math.isnan(means[2]) and means[3] == 7.0


def test_compact_reads_a_real_run(tmp_path: Path) -> None:
    """Two levels of 1,600 steps (two PPO iterations each), the run's own episodes."""
    setting = cc.SETTINGS["cartpole"]
    small = ["policy_kwargs.net_arch={pi: [8], vf: [8]}", "logging.checkpoint_interval=3200"]
    argv = ["train", "--config", str(setting), "--method", "none", "-n", "3200", "-f",
            str(tmp_path), "-p", "env.kwargs.level_steps=1600", *small]  # fmt: skip
    assert cli_main(argv) == 0
    run_dir = tmp_path / "continual_control_cartpole" / "none" / "seed_0"
    data = cc.compact(run_dir, "cartpole")
    episodes = [json.loads(line) for line in (run_dir / "episodes.jsonl").read_text().splitlines()]
    episodes = [e for e in episodes if e["kind"] == "episode"]
    means = cc.iteration_means(episodes, 3200)
    assert data["score"] == pytest.approx(sum(means) / 4)
    assert data["level_means"] == pytest.approx([sum(means[:2]) / 2, sum(means[2:]) / 2])
    assert data["n_episodes"] == len(episodes) and data["method"] == "none"


def test_summary_is_the_seed_mean_with_a_t_interval(tmp_path: Path) -> None:
    (tmp_path / "runs").mkdir()
    for seed, score in enumerate((100.0, 120.0, 140.0)):
        run = {"setting": "cartpole", "method": "none", "seed": seed, "levels": 10, "score": score}
        run["level_means"] = [score, 10.0 * seed]
        (tmp_path / "runs" / f"cartpole_none_seed{seed}.json").write_text(json.dumps(run))
    [row] = cc.summarize(tmp_path)
    half = 4.302653 * 20.0 / math.sqrt(3)  # t(0.975, 2) * sd / sqrt(n)
    assert row["mean"] == 120.0 and row["n_seeds"] == 3 and row["published"] == 61.8
    assert row["ci_low"] == pytest.approx(120.0 - half, abs=0.05)
    assert row["ci_high"] == pytest.approx(120.0 + half, abs=0.05)
    with open(tmp_path / "summary.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert tuple(rows[0]) == cc.SUMMARY_COLUMNS and rows[0]["mean"] == "120.0"
    with open(tmp_path / "levels.csv") as fh:
        levels = list(csv.DictReader(fh))
    assert [(r["level"], r["n_seeds"], r["mean"]) for r in levels] == [
        ("0", "3", "120.0"),
        ("1", "3", "10.0"),
    ]
