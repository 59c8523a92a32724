"""Bookkeeping of the suite v2 pilots (benchmarks/suite_v2_pilot.py)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml

from benchmarks import suite_v2_pilot as pilot
from fade_rl.experiments.runs.config import load_config

CARTPOLE = pilot.CONFIGS / "dqn_cartpole_offsets.yaml"


def _tiny_setting(folder: Path) -> str:
    """CartPole with offsets: 2 levels of 300 steps, a small DQN."""
    data = yaml.safe_load(CARTPOLE.read_text())
    data["env"]["kwargs"]["level_steps"] = 300
    data["algo"]["hyperparams"].update(learning_starts=50, policy_kwargs={"net_arch": [8]})
    data["budget"]["n_timesteps"] = 600
    data["logging"].update(checkpoint_interval=600, plasticity_interval=300)
    folder.mkdir()
    (folder / "tiny.yaml").write_text(yaml.safe_dump({**data, "name": "tiny"}))
    return "tiny"


def test_run_writes_the_floor_the_plain_agent_and_the_oracle(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(pilot, "CONFIGS", tmp_path / "configs")
    monkeypatch.setattr(pilot, "RESULTS", tmp_path / "results")
    setting = _tiny_setting(tmp_path / "configs")
    pilot.run(setting, [0], list(pilot.ROWS), str(tmp_path / "runs"))
    for row in ("random", "none", "oracle"):
        data = json.loads(pilot.result_path(setting, row, 0).read_text())
        assert data["row"] == row and len(data["level_returns"]) == 2
    floors = json.loads(pilot.result_path(setting, "random", 0).read_text())["level_returns"]
    assert all(10.0 < f < 40.0 for f in floors)  # CartPole at random: about 22
    oracle = load_config(tmp_path / "runs" / "tiny_oracle" / "reset" / "seed_0" / "config.yaml")
    assert oracle.methods.reset.target == "all" and oracle.methods.reset.fresh_buffer
    assert oracle.methods.reset.at_shift
    summary = json.loads((tmp_path / "runs/tiny/none/seed_0/summary.json").read_text())
    none = json.loads(pilot.result_path(setting, "none", 0).read_text())
    assert none["level_returns"] == [s["mean_return"] for s in summary["segments"]]


def test_summary_normalizes_the_plain_agent_between_random_and_oracle(tmp_path) -> None:
    (tmp_path / "runs").mkdir()
    curves = {"random": [10.0] * 4, "oracle": [110.0] * 4, "none": [110.0, 60.0, 35.0, 10.0]}
    for row, curve in curves.items():
        for seed, shift in enumerate((-5.0, 5.0)):
            run = {"setting": "s", "row": row, "seed": seed,
                   "level_returns": [v + shift for v in curve]}  # fmt: skip
            (tmp_path / "runs" / f"s_{row}_seed{seed}.json").write_text(json.dumps(run))
    [row] = pilot.summarize(tmp_path)
    # normalized per level: 1, 0.5, 0.25, 0 -> mean 0.4375, last half 0.125, OLS slope:
    # sum((x - 1.5) * (y - 0.4375)) / sum((x - 1.5)^2) = -1.625 / 5
    assert row["normalized"] == "1.00 0.50 0.25 0.00"
    assert (row["score"], row["last_half"]) == (0.438, 0.125)
    assert row["slope"] == pytest.approx(-0.325) and row["n_seeds"] == 2
    # per seed (floor 10, ceiling 110): scores 0.3875 and 0.4875, sem 0.05, t(0.975, 1) 12.706
    assert row["score_ci"] == "-0.198 1.073" and row["conditioned"] == 1.0
    with open(tmp_path / "levels.csv") as fh:
        levels = list(csv.DictReader(fh))
    first = next(r for r in levels if r["row"] == "none" and r["level"] == "1")
    # two seeds 55 and 65: mean 60, sem 5, t(0.975, 1) = 12.706: 63.53 either side
    assert float(first["mean"]) == 60.0 and float(first["ci_high"]) == pytest.approx(123.53)


def test_a_setting_the_oracle_cannot_scale_is_named_not_scored(tmp_path) -> None:
    (tmp_path / "runs").mkdir()
    curves = {"random": [10.0, 10.0], "oracle": [110.0, 10.5], "none": [110.0, 10.0]}
    for row, curve in curves.items():
        run = {"setting": "s", "row": row, "seed": 0, "level_returns": curve}
        (tmp_path / "runs" / f"s_{row}_seed0.json").write_text(json.dumps(run))
    [row] = pilot.summarize(tmp_path)
    assert "score" not in row and row["problem"].startswith("level 1: the oracle (10.5)")
