"""What a report reads is validated: no pooled configs, no damaged summary counted as a result.

Run folders are written by hand (no training): ``config.yaml``, ``versions.json`` and a
``summary.json`` of two 100-step segments.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from fade_rl.experiments.reports.plain import make_report
from fade_rl.experiments.runs.validate import (
    ReportInputError,
    config_identity,
    read_json,
    summary_problem,
)
from tests.experiments.helpers import run_summary

ENV = {"id": "fade_rl/CartPole-RewardFlip-v0", "kwargs": {"reward": {"sign": 1}}, "n_envs": 1}


def config(name: str, method: str, seed: int, lr: float = 0.001) -> dict[str, Any]:
    return {
        "name": name,
        "env": ENV,
        "algo": {"name": "dqn", "hyperparams": {"learning_rate": lr}},
        "method": method,
        "methods": {},
        "budget": {"n_timesteps": 200},
        "seed": seed,
    }


def summary(final: Any = 10.0, seg_return: Any = 10.0) -> dict[str, Any]:
    return run_summary(final, (seg_return, seg_return), n_episodes=10)


def write_run(root: Path, cfg: dict[str, Any], text: str | None = None) -> Path:
    """A run folder; ``text`` is its summary.json (default: a clean one)."""
    path = root / cfg["name"] / cfg["method"] / f"seed_{cfg['seed']}"
    path.mkdir(parents=True)
    (path / "config.yaml").write_text(yaml.safe_dump(cfg))
    (path / "versions.json").write_text("{}")
    (path / "summary.json").write_text(json.dumps(summary()) if text is None else text)
    return path


def test_config_identity_leaves_out_seed_and_what_does_not_change_the_run() -> None:
    a = {**config("s", "none", 0), "device": "cpu", "logging": {"progress_bar": True}}
    b = {**config("s", "none", 3), "device": "cuda", "logging": {"progress_bar": False}}
    assert config_identity(a) == config_identity(b)
    assert config_identity(config("s", "none", 0)) != config_identity(config("s", "none", 0, 0.5))


def test_report_refuses_seeds_of_two_learning_rates(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    write_run(runs, config("cart", "none", 0, lr=0.001))
    write_run(runs, config("cart", "none", 1, lr=0.5))
    out = tmp_path / "out"
    with pytest.raises(ReportInputError) as info:
        make_report([runs], out, reps=20)
    message = str(info.value)
    assert "\n" not in message
    assert "seed_0" in message and "seed_1" in message
    assert "algo.hyperparams.learning_rate: 0.001 vs 0.5" in message
    assert not out.exists()  # nothing written


def test_report_refusal_is_exit_2_from_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from fade_rl.cli import main

    runs = tmp_path / "runs"
    write_run(runs, config("cart", "none", 0, lr=0.001))
    write_run(runs, config("cart", "none", 1, lr=0.5))
    assert main(["report", str(runs), "--reps", "20"]) == 2
    assert "different configs" in capsys.readouterr().err
    assert not (runs / "report").exists()


def test_same_config_other_seeds_and_devices_still_pool(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    write_run(runs, {**config("cart", "none", 0), "device": "cpu"})
    write_run(runs, {**config("cart", "none", 1), "device": "cuda"})
    write_run(runs, config("cart", "fade", 0, lr=0.5))  # another method may differ
    report = make_report([runs], tmp_path / "out", reps=20)
    rows = {r["method"]: r["runs"] for r in report["rows"]}
    assert rows == {"none": 2, "fade": 1}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (json.dumps(summary(final=float("nan"))), "final_return is not a finite number (nan)"),
        (json.dumps(summary(seg_return="12")), "segments[0].mean_return is not a number"),
        (json.dumps({k: v for k, v in summary().items() if k != "final_return"}), "missing"),
        (json.dumps(summary(final=True)), "final_return is not a number"),
        (json.dumps({**summary(), "n_timesteps": 2.5}), "n_timesteps"),
        (json.dumps(summary()).replace("10.0", "1e400", 1), "final_return is not a finite"),
    ],
)
def test_a_damaged_summary_is_invalid_not_completed(
    tmp_path: Path, text: str, problem: str
) -> None:
    runs = tmp_path / "runs"
    write_run(runs, config("cart", "none", 0))
    bad = write_run(runs, config("cart", "none", 1), text)
    report = make_report([runs], tmp_path / "out", reps=20)
    table = pd.read_csv(tmp_path / "out" / "runs.csv").set_index("seed")
    assert table.loc[1, "status"] == "invalid"
    assert problem in table.loc[1, "error"] and str(bad / "summary.json") in table.loc[1, "error"]
    assert report["rows"][0]["runs"] == 1  # kept out of the statistics
    assert any(problem in line and str(bad) in line for line in report["warnings"])
    assert "## Runs not completed" in (tmp_path / "out" / "report.md").read_text()


def test_read_json_names_truncation(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"a": [1, 2')
    assert str(read_json(path)[1]).startswith("truncated or damaged JSON (Expecting")
    assert "No such file" not in str(read_json(tmp_path / "missing.json")[1])
    path.write_text('{"a": 1}')
    assert read_json(path) == ({"a": 1}, None)


def test_summary_problem_accepts_a_run_without_episodes() -> None:
    empty = {**summary(final=None, seg_return=None), "n_episodes": 0}
    assert summary_problem(empty) is None
    assert summary_problem({**empty, "n_episodes": 3}) == "final_return is not a number (None)"
    assert summary_problem({"status": "failed", "reason": "boom"}) is None


def test_tuning_selection_refuses_a_damaged_summary(tmp_path: Path) -> None:
    from fade_rl.experiments.suite.selection import finished_summary
    from fade_rl.experiments.sweeps import Job

    cfg = config("tiny__learning_rate=0.01", "none", 100)
    bad = write_run(tmp_path / "tuning", cfg, json.dumps(summary(final=float("nan"))))
    with pytest.raises(ReportInputError, match="final_return is not a finite number") as info:
        finished_summary(Job(cfg, str(tmp_path / "tuning")).run_dir)
    assert str(bad / "summary.json") in str(info.value) and "--restart" in str(info.value)


def test_read_json_bounds_depth_and_size(tmp_path: Path) -> None:
    from fade_rl.experiments.runs.strict_yaml import MAX_BYTES

    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    data, why = read_json(path)
    assert data is None and "nested too deeply" in str(why)
    path.write_text('{"a": "' + "x" * MAX_BYTES + '"}')
    data, why = read_json(path)
    assert data is None and "larger than" in str(why)
    path.write_bytes(b"\xff\xfe{")
    assert "codec can't decode" in str(read_json(path)[1])  # the message, not the type only


def test_a_deeply_nested_summary_is_corrupt_not_a_traceback(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    write_run(runs, config("cart", "none", 0))
    bad = write_run(runs, config("cart", "none", 1), '{"a": ' * 100_000 + "1" + "}" * 100_000)
    report = make_report([runs], tmp_path / "out", reps=20)
    table = pd.read_csv(tmp_path / "out" / "runs.csv").set_index("seed")
    assert table.loc[1, "status"] == "corrupt"
    named = [line for line in report["warnings"] if str(bad / "summary.json") in line]
    assert named and "nested" in named[0]


def test_a_duplicated_key_in_a_saved_config_names_its_line(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    write_run(runs, config("cart", "none", 0))
    bad = write_run(runs, config("cart", "none", 1))
    text = (bad / "config.yaml").read_text()
    (bad / "config.yaml").write_text(text + "seed: 2\n")
    report = make_report([runs], tmp_path / "out", reps=20)
    line = next(w for w in report["warnings"] if str(bad / "config.yaml") in w)
    assert "line" in line and "'seed'" in line and "run skipped" in line, line
