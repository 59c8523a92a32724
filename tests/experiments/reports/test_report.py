"""Reports: IQM with bootstrap CIs per method, shift recovery, report.md, CSVs and plots."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fade_rl.experiments.reports.plain import find_runs, make_report, plasticity_tags


def test_rliable_imports_under_our_pandas() -> None:
    # rliable 1.2 needs arch < 8, and arch 7 breaks at import under pandas 3.
    from rliable import library, metrics  # noqa: F401

    assert int(pd.__version__.split(".")[0]) < 3


def test_report_from_run_folders(small_runs: Path, tmp_path: Path) -> None:
    report = make_report([small_runs / "tiny_flip"], tmp_path / "out", reps=500)
    out = report["out"]
    assert report["runs"] == 4
    for name in ("report.md", "report.csv", "runs.csv", "segments.csv"):
        assert (out / name).is_file(), name
    for name in ("returns_tiny_flip.png", "plasticity_tiny_flip.png", "lambda_tiny_flip.png"):
        assert (out / name).stat().st_size > 5000, name

    rows = pd.read_csv(out / "report.csv").set_index("method")
    assert list(rows.index) == ["none", "fade"]  # the shared vocabulary's order
    for method in ("none", "fade"):
        finals = [
            json.loads(
                (small_runs / "tiny_flip" / method / f"seed_{s}" / "summary.json").read_text()
            )["final_return"]
            for s in (0, 1)
        ]
        row = rows.loc[method]
        # IQM of two scores trims nothing: their mean; the bootstrap CI lies within their range
        assert row["final_iqm"] == pytest.approx(np.mean(finals))
        assert min(finals) - 1e-9 <= row["final_ci_low"] <= row["final_iqm"]
        assert row["final_iqm"] <= row["final_ci_high"] <= max(finals) + 1e-9
        assert row["runs"] == 2
        assert row["shifts_comparable"] <= 2 * 2  # two shifts per run
        assert 0 <= row["shifts_recovered"] <= row["shifts_comparable"]

    segments = pd.read_csv(out / "segments.csv")
    assert sorted(segments["segment"].unique()) == [0, 1, 2]
    assert len(segments) == 4 * 3
    runs = pd.read_csv(out / "runs.csv")
    assert set(runs["status"]) == {"completed"}

    text = (out / "report.md").read_text()
    assert "| fade | 2 |" in text and "| none | 2 |" in text
    assert "Mean return per segment" in text
    assert "![returns_tiny_flip.png](returns_tiny_flip.png)" in text
    assert report["table"].splitlines()[0].startswith("| method | runs | final return IQM")


def test_report_lists_failed_and_unfinished_runs(small_runs: Path, tmp_path: Path) -> None:
    import shutil

    root = tmp_path / "copy"
    shutil.copytree(small_runs / "tiny_flip", root / "tiny_flip")
    broken = root / "tiny_flip" / "none" / "seed_1"
    (broken / "summary.json").unlink()
    (broken / "failure.json").write_text(json.dumps({"error": "ValueError: boom"}))
    records = {(r.method, r.seed): r.status for r in find_runs([root])}
    assert records[("none", 1)] == "failed" and records[("fade", 0)] == "completed"
    report = make_report([root], reps=200)
    text = (root / "report" / "report.md").read_text()
    assert "1 failed" in text and "ValueError: boom" in text
    rows = {r["method"]: r for r in report["rows"]}
    assert rows["none"]["runs"] == 1 and rows["none"]["failed"] == 1


def test_report_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such folder"):
        make_report([tmp_path / "missing"])
    with pytest.raises(FileNotFoundError, match="no run folders"):
        make_report([tmp_path])


def test_plasticity_tags_pick_the_last_hidden_layer_of_the_first_critic() -> None:
    tags = {
        "plasticity/qf1/hidden1/srank",
        "plasticity/qf0/hidden0/srank",
        "plasticity/qf0/hidden1/srank",
        "plasticity/qf0/hidden1/dormant_ratio_tau0",
        "plasticity/qf0/net/dist_from_init",
        "plasticity/critic_loss",
        "rollout/ep_rew_mean",
    }
    assert plasticity_tags(tags) == [
        "plasticity/qf0/hidden1/dormant_ratio_tau0",
        "plasticity/qf0/hidden1/srank",
        "plasticity/qf0/net/dist_from_init",
    ]
    assert plasticity_tags({"rollout/ep_rew_mean"}) == []


def test_damaged_files_are_named_not_dropped(
    small_runs: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    import shutil

    root = tmp_path / "copy"
    shutil.copytree(small_runs / "tiny_flip", root / "tiny_flip")
    events = sorted((root / "tiny_flip" / "fade" / "seed_0").glob("events.out.tfevents.*"))[0]
    data = events.read_bytes()
    events.write_bytes(data[: len(data) - 7])  # a torn last record
    empty = root / "tiny_flip" / "fade" / "seed_1" / "events.out.tfevents.0.empty"
    empty.write_bytes(b"")
    summary = root / "tiny_flip" / "none" / "seed_1" / "summary.json"
    summary.write_text('{"status": "compl')
    report = make_report([root], reps=100)
    err = capsys.readouterr().err
    text = (root / "report" / "report.md").read_text()
    for name, issue in (
        (events, "truncated at byte"),
        (empty, "empty file"),
        (summary, "truncated or damaged JSON"),
    ):
        assert f"{name}: {issue}" in err, name
        assert f"{name}: {issue}" in text, name
    assert "## Warnings" in text and len(report["warnings"]) == 3
    statuses = {(r.method, r.seed): r.status for r in find_runs([root])}
    assert statuses[("none", 1)] == "corrupt"
    # the listed error says why and what to do
    assert f"`{summary.parent}`: corrupt ({summary} is unreadable (truncated" in text
    assert "rerun the run (--restart) or remove it)" in text


def test_one_seed_prints_no_ci(small_runs: Path, tmp_path: Path) -> None:
    report = make_report([small_runs / "tiny_flip" / "fade" / "seed_0"], tmp_path / "o", reps=100)
    final = json.loads((small_runs / "tiny_flip" / "fade" / "seed_0" / "summary.json").read_text())[
        "final_return"
    ]
    assert f"{final:,.1f} (n=1, no CI)" in report["table"]
    (row,) = report["rows"]
    assert row["final_iqm"] == pytest.approx(final) and row["final_ci_low"] is None


def test_return_plot_says_how_many_seeds_it_averages(
    small_runs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import matplotlib.pyplot as plt

    from fade_rl.experiments.reports.load import read_scalars
    from fade_rl.experiments.reports.plots import plot_setting

    runs = [r for r in find_runs([small_runs / "tiny_flip"]) if r.method == "fade"]
    scalars = {r.path: read_scalars(r.path) for r in runs}
    scalars[runs[1].path] = scalars[runs[1].path].iloc[0:0]  # one seed has no scalars
    labels = []
    original = plt.Axes.legend

    def spy(ax: plt.Axes, *args: object, **kwargs: object) -> object:
        labels.extend(ax.get_legend_handles_labels()[1])
        return original(ax, *args, **kwargs)

    monkeypatch.setattr(plt.Axes, "legend", spy)
    plot_setting("tiny_flip", runs, scalars, tmp_path)
    assert "fade (mean of n=1 seed)" in labels
