"""One run: the run folder, every method, skipping finished runs, refusing foreign folders."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from tbparse import SummaryReader

from fade_rl.experiments.runs.config import validate_config
from fade_rl.experiments.runs.folder import RunError, run_dir_for
from fade_rl.experiments.runs.logs import read_episodes, truncate_events
from fade_rl.experiments.runs.run import train_run

from ..helpers import small_config


def test_run_folder_contents(small_runs: Path) -> None:
    config = validate_config(small_config(method="fade", seed=0))
    run_dir = run_dir_for(small_runs, config)
    assert run_dir == small_runs / "tiny_flip" / "fade" / "seed_0"
    for name in ("config.yaml", "command.txt", "versions.json", "summary.json", "episodes.jsonl"):
        assert (run_dir / name).is_file(), name
    assert yaml.safe_load((run_dir / "config.yaml").read_text()) == config.to_dict()
    versions = json.loads((run_dir / "versions.json").read_text())
    assert {"python", "torch", "stable-baselines3", "gymnasium"} <= set(versions)
    # the device actually used (config says "cpu"; no GPU name without CUDA)
    assert versions["device"] == "cpu" and "gpu" not in versions
    assert "started" in (run_dir / "command.txt").read_text()
    assert json.loads((run_dir / "checkpoint.json").read_text())["step"] == 1500

    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "completed"
    assert summary["n_timesteps"] == 1500
    assert summary["device"] == "cpu" and summary["resumed_at"] == []
    assert summary["steps_per_second"] > 0
    episodes, shifts = read_episodes(run_dir)
    assert summary["n_episodes"] == len(episodes) > 0
    assert summary["final_return"] == pytest.approx(np.mean([e["return"] for e in episodes[-10:]]))
    # the reward flips every 500 steps: shifts open segments 1 and 2 at steps 500 and 1000
    assert [(s["step"], s["segment"]) for s in shifts] == [(500, 1), (1000, 2)]
    assert [s["segment"] for s in summary["segments"]] == [0, 1, 2]
    assert [(s["start"], s["end"]) for s in summary["segments"]] == [
        (0, 500),
        (500, 1000),
        (1000, 1500),
    ]
    # episodes after the first flip earn -1 per step
    after = [e for e in episodes if e["step"] - e["length"] >= 500 and e["step"] <= 1000]
    assert after and all(e["return"] == -e["length"] for e in after)

    tags = set(SummaryReader(str(run_dir), pivot=False).scalars["tag"])
    assert {"episode/return", "env/segment", "final/return", "shift/recovered"} <= tags
    assert "shift/episode_return" not in tags  # each return is logged once, as episode/return
    layer = "plasticity/q_net/hidden1"  # PlasticityCallback's tags for the head's input layer
    assert {f"{layer}/srank", f"{layer}/dormant_ratio_tau0", f"{layer}/active_units"} <= tags
    assert {"plasticity/q_net/probe/fit_ratio", "plasticity/q_net/memory/probe_r2"} <= tags
    assert any(t.startswith("fade/q_net/lambda") for t in tags)
    with np.load(run_dir / "lambda.npz") as rates:
        assert rates["q_net"].shape == (2 * 32 + 2,)  # the Q head: 2 actions x 32 features + bias


@pytest.mark.parametrize("method", ["wd", "reset", "snp", "redo"])
def test_baseline_methods_run(tmp_path: Path, method: str) -> None:
    config = validate_config(
        small_config(method=method, budget={"n_timesteps": 700}, logging={"progress_bar": False})
    )
    summary = train_run(config, tmp_path)
    assert summary["status"] == "completed" and summary["n_timesteps"] == 700
    assert summary["method"] == method
    assert not (run_dir_for(tmp_path, config) / "lambda.npz").exists()


def test_completed_run_is_not_repeated_and_foreign_folder_refused(small_runs: Path) -> None:
    config = validate_config(small_config(method="none", seed=1))
    summary_path = run_dir_for(small_runs, config) / "summary.json"
    before = summary_path.stat().st_mtime_ns
    assert train_run(config, small_runs)["n_timesteps"] == 1500
    assert summary_path.stat().st_mtime_ns == before

    other = validate_config(small_config(method="none", seed=1, budget={"n_timesteps": 900}))
    with pytest.raises(RunError, match="different config"):
        train_run(other, small_runs)


def test_truncate_events_drops_later_steps(tmp_path: Path) -> None:
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(tmp_path))
    for step in range(0, 100, 10):
        writer.add_scalar("a", float(step), step)
    writer.close()
    assert truncate_events(tmp_path, 45) == 5
    frame = SummaryReader(str(tmp_path), pivot=False).scalars
    assert list(frame["step"]) == [0, 10, 20, 30, 40]


@pytest.mark.parametrize("algo", ["sac", "td3"])
def test_fade_on_continuous_control(tmp_path: Path, algo: str) -> None:
    from fade_rl.experiments.runs.config import load_config

    config = load_config(
        None,
        [
            "learning_starts=100",
            "batch_size=32",
            "policy_kwargs={net_arch: [16, 16]}",
            "logging.plasticity_interval=200",
            "logging.plasticity_batch=32",
            "logging.probe_interval=null",
            "logging.progress_bar=false",
        ],
        env="fade_rl/Pendulum-Dynamics-v0",
        algo=algo,
        n_timesteps=400,
        method="fade",
    )
    summary = train_run(config, tmp_path)
    assert summary["algo"] == algo and summary["n_timesteps"] == 400
    run_dir = run_dir_for(tmp_path, config)
    tags = set(SummaryReader(str(run_dir), pivot=False).scalars["tag"])
    assert "plasticity/qf0/hidden1/srank" in tags
    with np.load(run_dir / "lambda.npz") as rates:
        assert len(rates.files) >= 1 and all(rates[k].size > 0 for k in rates.files)


def test_a_run_in_which_no_episode_ends_completes(tmp_path: Path) -> None:
    """150 Pendulum steps end no 200-step episode and measure nothing: no hparams metric.

    Such a run (a smoke-tier HalfCheetah reference) used to fail at its very end.
    """
    from fade_rl.experiments.runs.config import load_config

    config = load_config(
        None,
        [
            "learning_starts=50",
            "batch_size=16",
            "policy_kwargs={net_arch: [8]}",
            "logging.plasticity_interval=1000",  # no measurement either
            "logging.plasticity_batch=16",
            "logging.probe_interval=null",
            "logging.progress_bar=false",
        ],
        env="fade_rl/Pendulum-Dynamics-v0",
        algo="sac",
        n_timesteps=150,
        method="none",
    )
    summary = train_run(config, tmp_path)
    assert summary["status"] == "completed" and summary["n_episodes"] == 0
    assert summary["segments"][0]["mean_return"] is None
