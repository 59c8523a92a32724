"""The suite report on a hand-written suite folder: scores, IQM, P(X > Y), tables, the CLI.

No training: run folders are written by hand (config.yaml, versions.json, summary.json and,
for two FADE runs, TensorBoard scalars), with references chosen so that every score is known.
Setting ``alpha`` has references (task +1: floor 0, ceiling 100; task -1: floor -100,
ceiling 0) and two segments of 100 steps, so a run's score is the mean of
``r0 / 100`` and ``(r1 + 100) / 100``; ``gamma`` has the same references; ``beta`` has none.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from fade_rl.experiments.reports.plain import make_report
from fade_rl.experiments.reports.suite import is_suite_folder, make_suite_report
from fade_rl.experiments.reports.suite_stats import (
    aggregate_matrices,
    phase_times,
    probability_of_improvement,
)
from fade_rl.experiments.suite.provenance import env_digest, stamp, write_phase_stamp
from tests.experiments.helpers import run_summary

ENV = {"id": "fade_rl/CartPole-RewardFlip-v0", "kwargs": {"reward": {"sign": 1}}, "n_envs": 1}
BUDGET = {"n_timesteps": 200}
TASKS = [
    {"values": {"reward.sign": 1}, "steps": 100, "floor": 0.0, "ceiling": 100.0, "seeds": [9]},
    {"values": {"reward.sign": -1}, "steps": 100, "floor": -100.0, "ceiling": 0.0, "seeds": [9]},
]

LR = 0.001  # every held-out run but alpha's fade ran the learning rate protocol.json chose
# method -> seed -> (normalized segment 0, normalized segment 1)
ALPHA = {
    "fade": {0: (0.5, 0.5), 1: (1.0, 0.8)},  # scores 0.5, 0.9
    "none": {0: (0.2, 0.2), 1: (0.8, 1.0)},  # scores 0.2, 0.9
    "wd": {s: (v, v) for s, v in enumerate([0.7, 0.1, 1.0, 0.3, 0.5, 0.2, 0.6, 0.4])},
}
GAMMA = {
    "fade": {0: (0.6, 0.6), 1: (0.0, 0.0)},
    "none": {0: (0.1, 0.1), 1: (0.3, 0.3)},
    "wd": {0: (0.4, 0.4), 1: (0.9, 0.9)},
}


def _config(name: str, method: str, seed: int, **methods: Any) -> dict[str, Any]:
    return {
        "name": name,
        "env": ENV,
        "algo": {"name": "dqn", "hyperparams": {"learning_rate": LR}},
        "method": method,
        "methods": methods,
        "budget": BUDGET,
        "seed": seed,
    }


def _run(root: Path, config: dict[str, Any], norm: tuple[float, float] | None) -> Path:
    path = root / config["name"] / config["method"] / f"seed_{config['seed']}"
    path.mkdir(parents=True)
    (path / "config.yaml").write_text(yaml.safe_dump(config))
    (path / "versions.json").write_text("{}")
    if norm is None:  # a failed run
        (path / "summary.json").write_text(json.dumps({"status": "failed", "reason": "boom"}))
        return path
    returns = (norm[0] * 100.0, norm[1] * 100.0 - 100.0)
    (path / "summary.json").write_text(json.dumps(run_summary(returns[1], returns)))
    return path


def _references(folder: Path, setting: str) -> None:
    refs = {
        "setting": setting,
        "digest": env_digest({"env": ENV, "budget": BUDGET}),
        "env": ENV,
        "budget": BUDGET,
        "task_keys": ["reward.sign"],
        "tasks": TASKS,
    }
    (folder / "references").mkdir(parents=True, exist_ok=True)
    (folder / "references" / f"{setting}.json").write_text(json.dumps(stamp(refs, folder, [])))


def _lambda_events(path: Path, finals: float) -> None:
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(path))
    for stat in ("min", "q10", "q50", "q90", "max"):
        writer.add_scalar(f"fade/q_net/lambda_{stat}", 1e-4, 100)
        writer.add_scalar(f"fade/q_net/lambda_{stat}", finals, 200)
    for step, ret in ((50, 50.0), (150, -50.0)):
        writer.add_scalar("episode/return", ret, step)
    writer.close()


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hand-written suite folder (alpha, beta without references, gamma)."""
    folder = tmp_path_factory.mktemp("suite")
    held = folder / "held_out"
    for setting, table in (("alpha", ALPHA), ("gamma", GAMMA)):
        _references(folder, setting)
        for method, seeds in table.items():
            # alpha's fade ran at the value protocol.json chose (methods.fade.meta_lr = 10)
            chosen_value = (
                {"fade": {"meta_lr": 10}} if (setting, method) == ("alpha", "fade") else {}
            )
            for seed, norm in seeds.items():
                _run(held, _config(setting, method, seed, **chosen_value), norm)
    for method in ("fade", "none"):
        _run(held, _config("beta", method, 0), (0.5, 0.5))
    _run(held, _config("beta", "wd", 1), None)
    _lambda_events(held / "alpha" / "fade" / "seed_0", 1e-3)  # final log10: -3
    _lambda_events(held / "alpha" / "fade" / "seed_1", 1e-2)  # final log10: -2
    for (lr, decay), norm in {(1, 1e-4): (0.5, 0.5), (10, 1e-3): (0.7, 0.7)}.items():
        config = _config(f"alpha__meta_lr={lr},init_decay={decay}", "fade", 100)
        config["methods"] = {"fade": {"meta_lr": float(lr), "init_decay": decay}}
        _run(folder / "sensitivity", config, norm)
    chosen = {
        "alpha": {
            "fade": {
                "key": "methods.fade.meta_lr",
                "value": 10,
                "tuning_scores": [
                    {"value": 1, "mean_score": 0.25},
                    {"value": 10, "mean_score": 0.75},
                    {"value": 100, "mean_score": None},
                ],
            }
        }
    }
    lr = {"key": "algo.hyperparams.learning_rate", "value": LR, "tuning_scores": []}
    for setting in ("alpha", "beta", "gamma"):
        for method in ("fade", "none", "wd"):
            chosen.setdefault(setting, {}).setdefault(method, lr)
    protocol = {
        "tier": "standard",
        "tuning_seeds": [100],
        "reference_seeds": [9],
        "held_out_seeds": {"alpha": list(range(8)), "gamma": [0, 1]},
        "grids": {"alpha": {"fade": {"key": "methods.fade.meta_lr", "values": [1, 10, 100]}}},
        "chosen": chosen,
        "sensitivity": {
            "method": "fade",
            "axes": {"methods.fade.meta_lr": [1, 10, 100], "methods.fade.init_decay": [1e-4, 1e-3]},
        },
        "selection": "highest mean score",
    }
    (folder / "protocol.json").write_text(json.dumps(stamp(protocol, folder, [])))
    timing = [
        {"tier": "standard", "phase": "held_out", "shard": [0, 2], "started": 0, "seconds": 60},
        {"tier": "standard", "phase": "held_out", "shard": [1, 2], "started": 3, "seconds": 90},
        {"tier": "standard", "phase": "references", "shard": None, "started": 500, "seconds": 30},
    ]
    (folder / "timing.jsonl").write_text("".join(json.dumps(r) + "\n" for r in timing))
    for phase in ("held_out", "sensitivity"):
        write_phase_stamp(folder, phase)
    return folder


@pytest.fixture(scope="module")
def report(suite: Path) -> dict[str, Any]:
    return make_suite_report(suite, reps=200)


def test_runs_csv_holds_each_held_out_runs_score(report: dict[str, Any]) -> None:
    runs = pd.read_csv(report["out"] / "runs.csv")
    assert "score" in runs.columns and "mean_return" not in runs.columns
    assert len(runs) == 2 * 2 + 8 + 3 * 2 + 3  # alpha, gamma, beta
    alpha = runs[runs["setting"] == "alpha"].set_index(["method", "seed"])
    for method, seeds in ALPHA.items():
        for seed, (n0, n1) in seeds.items():
            assert alpha.loc[(method, seed), "score"] == pytest.approx((n0 + n1) / 2)
            assert alpha.loc[(method, seed), "final_score"] == pytest.approx(n1)
    assert alpha.loc[("fade", 0), "knob"] == "methods.fade.meta_lr"
    assert alpha.loc[("fade", 0), "knob_value"] == 10
    segments = pd.read_csv(report["out"] / "segments.csv")
    row = segments[(segments["setting"] == "alpha") & (segments["method"] == "fade")]
    row = row[(row["seed"] == 1) & (row["segment"] == 1)].iloc[0]
    assert (row["mean_return"], row["floor"], row["ceiling"]) == (-20.0, -100.0, 0.0)
    assert row["normalized"] == pytest.approx(0.8)


def test_a_setting_without_references_is_named_and_unscored(report: dict[str, Any]) -> None:
    runs = pd.read_csv(report["out"] / "runs.csv")
    beta = runs[runs["setting"] == "beta"]
    assert beta["score"].isna().all()
    done = beta[beta["status"] == "completed"]
    assert set(done["problem"]) == {"its setting has no references"}
    assert beta[beta["status"] == "failed"]["problem"].iloc[0] == "the run is failed: boom"
    assert report["unreferenced"] == ["beta"]
    text = (report["out"] / "report.md").read_text()
    assert "Settings with NO references (so no score): beta." in text
    assert "beta has no references: its runs have no score." in text


def test_iqm_and_probability_of_improvement_by_hand(report: dict[str, Any]) -> None:
    rows = pd.read_csv(report["out"] / "report.csv").set_index(["setting", "method"])
    # wd's 8 alpha scores sorted: .1 .2 .3 .4 .5 .6 .7 1.0; the IQM trims 2 each side
    assert rows.loc[("alpha", "wd"), "score_iqm"] == pytest.approx(0.45)
    assert (
        rows.loc[("alpha", "wd"), "score_ci_low"]
        <= 0.45
        <= rows.loc[("alpha", "wd"), "score_ci_high"]
    )
    # fade {.5, .9} vs none {.2, .9}: pairs 1, 0, 1, one half for the tie -> 2.5 / 4
    assert rows.loc[("alpha", "none"), "p_fade_better"] == pytest.approx(0.625)
    # aggregate: the first 2 seeds of each setting; fade's 4 scores .5 .9 .6 0 -> IQM (.5+.6)/2
    assert rows.loc[("all", "fade"), "score_iqm"] == pytest.approx(0.55)
    # wd over its first two alpha seeds (.7, .1) and gamma's (.4, .9): middle two .4 .7
    assert rows.loc[("all", "wd"), "score_iqm"] == pytest.approx(0.55)
    assert rows.loc[("all", "wd"), "scored_runs"] == "2 x 2 settings"
    # P(fade > none) averaged over the settings: alpha 0.625, gamma: .6>.1, .6>.3, 0<.1, 0<.3
    assert rows.loc[("all", "none"), "p_fade_better"] == pytest.approx((0.625 + 0.5) / 2)


def test_report_sections_tables_and_plots(report: dict[str, Any]) -> None:
    out = report["out"]
    text = (out / "report.md").read_text()
    for heading in (
        "## Scores",
        "### All settings",
        "## FADE's decay rates",
        "## FADE's sensitivity",
        "## Protocol",
        "### Tuning",
        "## Wall-clock time",
        "## References",
    ):
        assert heading in text, heading
    assert "mean return IQM" not in text
    # the lambda spread: the median of final log10 lambda over the two seeds (-3, -2)
    assert "| alpha | q_net | 2 | -2.50 | -2.50 | -2.50 | -2.50 | -2.50 |" in text
    assert "| 1 | 0.500 | - |" in text and "| 10 | - | 0.700 |" in text  # sensitivity
    assert "1 = 0.250, 10 = 0.750, 100 = -" in text  # tuning
    # timing: two shards in parallel count as 90 s, the references 30 s: 120 s in all
    assert "| standard | held_out | 1 | 2 | 90 s |" in text
    assert "**2.0 min**" in text
    for name in (
        "iqm.png",
        "poi.png",
        "profiles.png",
        "normalized_alpha.png",
        "sensitivity_alpha.png",
        "lambda_time_alpha.png",
    ):
        assert (out / name).stat().st_size > 3000, name
    assert not (out / "normalized_gamma.png").exists()  # gamma's runs have no scalars


def test_statistics_by_hand() -> None:
    x, y = np.array([[1.0], [2.0]]), np.array([[2.0], [0.0]])
    p, low, high = probability_of_improvement(x, y, reps=200)
    assert p == pytest.approx(0.625) and low is not None and high is not None
    assert 0.0 <= low <= p <= high <= 1.0
    assert probability_of_improvement(x[:1], y, reps=10)[1:] == (None, None)
    matrices, n, kept, dropped = aggregate_matrices(
        {"a": {"f": {3: 1.0, 1: 2.0}, "g": {0: 5.0}}, "b": {"f": {0: 7.0}}}
    )
    assert (n, kept, dropped) == (1, ["a"], ["b"])
    assert matrices["f"].tolist() == [[2.0]]  # seed 1 comes before seed 3
    rows = phase_times(
        [
            {"tier": "t", "phase": "p", "shard": [0, 2], "started": 0, "seconds": 5},
            {"tier": "t", "phase": "p", "shard": [0, 2], "started": 10, "seconds": 7},
        ]
    )
    assert rows[0]["invocations"] == 2 and rows[0]["seconds"] == 12.0  # a rerun of shard 0


def test_cli_report_dispatches_on_a_suite_folder(
    suite: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from fade_rl.cli import main

    assert is_suite_folder(suite) and not is_suite_folder(suite / "held_out")
    out = tmp_path / "rep"
    assert main(["report", str(suite), "-o", str(out), "--reps", "50"]) == 0
    captured = capsys.readouterr()
    assert "### All settings" in captured.out and "beta: no references" in captured.err
    text = (out / "report.md").read_text()
    assert text.startswith("# fade-rl suite report") and "## Scores" in text
    assert "| held_out | 20 | 30 s | 15 s |" in text  # 20 runs of 1.5 s; the failed one has none
    assert pd.read_csv(out / "runs.csv")["score"].notna().sum() == 8 + 2 * 2 + 3 * 2


def test_plain_report_scores_settings_with_references(suite: Path, tmp_path: Path) -> None:
    import shutil

    runs, refs = tmp_path / "runs", tmp_path / "refs"
    for setting in ("alpha", "beta"):
        shutil.copytree(suite / "held_out" / setting, runs / setting)
    shutil.copytree(suite / "references", refs / "references")
    report = make_report([runs, refs], tmp_path / "out", reps=50)
    table = pd.read_csv(tmp_path / "out" / "runs.csv")
    assert "mean_return" not in table.columns
    alpha = table[table["setting"] == "alpha"].set_index(["method", "seed"])
    assert alpha.loc[("none", 1), "score"] == pytest.approx(0.9)
    assert alpha.loc[("none", 1), "final_score"] == pytest.approx(1.0)
    assert table[table["setting"] == "beta"]["score"].isna().all()
    text = (tmp_path / "out" / "report.md").read_text()
    assert "beta has no references (`references/beta.json`): no score." in text
    assert "alpha has no references" not in text
    assert "mean return IQM" not in report["table"] and "score IQM" in report["table"]


def test_score_run_refuses_references_of_another_environment(suite: Path) -> None:
    from fade_rl.experiments.suite.score import score_run

    run = suite / "held_out" / "alpha" / "fade" / "seed_0"
    summary = json.loads((run / "summary.json").read_text())
    config = yaml.safe_load((run / "config.yaml").read_text())
    refs = json.loads((suite / "references" / "alpha.json").read_text())
    assert score_run(summary, config, refs).score == pytest.approx(0.5)
    other = score_run(summary, config, {**refs, "digest": "0123456789abcdef"})
    assert other.score is None and "another environment or budget" in str(other.problem)
    assert score_run(summary, config, None).problem == "its setting has no references"
