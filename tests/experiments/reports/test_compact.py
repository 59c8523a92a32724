"""Compact run folders: what they keep, that reports read them alike, the campaign committer."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmarks import suite_campaign
from fade_rl.experiments.reports import compact
from fade_rl.experiments.reports.compact import compact_run, compact_tree, thin_scalars
from fade_rl.experiments.reports.load import read_scalars
from fade_rl.experiments.reports.plain import make_report
from fade_rl.experiments.runs.logs import read_episodes


@pytest.fixture(scope="module")
def compact_runs(small_runs: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The compact copy of ``small_runs`` (4 finished tiny runs)."""
    dest = tmp_path_factory.mktemp("compact")
    compact_tree(small_runs, dest)
    return dest


def _run(root: Path, method: str = "fade", seed: int = 0) -> Path:
    return root / "tiny_flip" / method / f"seed_{seed}"


def test_thin_scalars_keeps_evenly_spaced_rows_with_first_and_last() -> None:
    frame = pd.DataFrame(
        {
            "step": [*range(7), 0, 1, 5, *range(4)],
            "tag": ["a"] * 7 + ["b"] * 2 + ["time/fps"] + ["episode/return"] * 4,
            "value": [float(v) for v in range(14)],
        }
    )
    thin = thin_scalars(frame, 3)
    # linspace(0, 6, 3) = rows 0, 3, 6 of "a"; "b" is short enough; time/fps is dropped;
    # episode/return is kept whole.
    assert list(zip(thin["tag"], thin["step"], strict=True)) == [
        ("a", 0),
        ("a", 3),
        ("a", 6),
        ("b", 0),
        ("b", 1),
        ("episode/return", 0),
        ("episode/return", 1),
        ("episode/return", 2),
        ("episode/return", 3),
    ]
    with pytest.raises(ValueError, match="max_points"):
        thin_scalars(frame, 1)


def test_compact_run_keeps_what_reports_read_and_drops_models(
    small_runs: Path, compact_runs: Path
) -> None:
    src, out = _run(small_runs), _run(compact_runs)
    assert (out / "summary.json").read_bytes() == (src / "summary.json").read_bytes()
    assert (src / "checkpoints").is_dir() and (src / "final_model.zip").is_file()
    names = {p.name for p in out.iterdir()}
    assert names == {
        "config.yaml",
        "versions.json",
        "summary.json",
        "command.txt",
        "episodes.jsonl.gz",
        "lambda.npz",
        "scalars.csv.gz",
        "compact.json",
    }
    manifest = json.loads((out / "compact.json").read_text())
    assert manifest["status"] == "completed"
    assert manifest["original_bytes"] > 10 * manifest["compact_bytes"]
    assert manifest["compact_bytes"] == sum(
        (out / n).stat().st_size for n in names if n != "compact.json"
    )
    assert read_episodes(out) == read_episodes(src)
    assert read_episodes(out)[0], "the run logged episodes"


def test_compact_scalars_are_the_thinned_originals(
    small_runs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(compact, "MAX_POINTS", 20)
    src = _run(small_runs, "none", 1)
    out = compact_run(src, tmp_path / "run")
    original, packed = read_scalars(src), read_scalars(out)
    counts = original["tag"].value_counts()
    thinnable = {t for t, n in counts.items() if n > 20} - compact.DROPPED_TAGS
    assert thinnable - compact.WHOLE_TAGS, "some tag must be long enough to be thinned"
    packed_counts = packed["tag"].value_counts()
    assert max(n for t, n in packed_counts.items() if t not in compact.WHOLE_TAGS) <= 20
    for tag in compact.WHOLE_TAGS:  # the report's return curves: every row
        pd.testing.assert_frame_equal(
            packed[packed["tag"] == tag].reset_index(drop=True),
            original[original["tag"] == tag].reset_index(drop=True),
            check_dtype=False,
        )
    assert not set(packed["tag"]) & compact.DROPPED_TAGS
    expected = thin_scalars(original, 20)
    assert list(packed["tag"]) == list(expected["tag"])
    assert list(packed["step"]) == list(expected["step"])
    np.testing.assert_allclose(packed["value"], expected["value"], rtol=1e-5, atol=1e-30)
    for tag, rows in original.groupby("tag"):
        if tag in compact.DROPPED_TAGS:
            continue
        mine = packed[packed["tag"] == tag]
        assert mine["step"].iloc[0] == rows["step"].iloc[0]
        assert mine["step"].iloc[-1] == rows["step"].iloc[-1]
        np.testing.assert_allclose(mine["value"].iloc[[0, -1]], rows["value"].iloc[[0, -1]], 1e-5)
    thinned = json.loads((out / "compact.json").read_text())["tags_thinned"]
    assert thinned == {t: [int(counts[t]), 20] for t in thinnable - compact.WHOLE_TAGS}


def test_report_on_the_compact_tree_matches_the_original(
    small_runs: Path, compact_runs: Path, tmp_path: Path
) -> None:
    rows, files, aggregates, returns = {}, {}, {}, {}
    for name, root in (("original", small_runs), ("compact", compact_runs)):
        out = make_report([root / "tiny_flip"], tmp_path / name, reps=50)["out"]
        frame = pd.read_csv(out / "runs.csv")
        frame["path"] = [str(Path(p).relative_to(root)) for p in frame["path"]]
        rows[name] = frame
        files[name] = sorted(p.name for p in out.iterdir())
        returns[name] = (out / "returns_tiny_flip.png").read_bytes()
        aggregates[name] = pd.read_csv(out / "report.csv")
    assert len(rows["compact"]) == 4
    pd.testing.assert_frame_equal(rows["compact"], rows["original"])
    pd.testing.assert_frame_equal(aggregates["compact"], aggregates["original"])
    # The plots come from the scalars: the plasticity and lambda panels need the compact ones.
    assert "plasticity_tiny_flip.png" in files["original"]
    assert "lambda_tiny_flip.png" in files["original"]
    assert files["compact"] == files["original"]
    assert returns["compact"] == returns["original"]  # episode/return is kept whole


def test_compact_tree_is_idempotent_and_skips_unfinished_runs(
    small_runs: Path, tmp_path: Path
) -> None:
    src = tmp_path / "suite"
    shutil.copytree(_run(small_runs), src / "held_out" / "done")
    shutil.copytree(_run(small_runs, "none"), src / "held_out" / "running")
    (src / "held_out" / "running" / "summary.json").unlink()
    (src / "references").mkdir()
    (src / "references" / "tiny.json").write_text('{"floor": 1}')
    (src / "protocol.json").write_text("{}")
    (src / "held_out.json").write_text('{"phase": "held_out"}')  # the runs' digests
    dest = tmp_path / "dest"
    first = compact_tree(src, dest)
    assert sorted(p.relative_to(dest).as_posix() for p in first) == [
        "held_out.json",
        "held_out/done",
        "protocol.json",
        "references/tiny.json",
    ]
    assert not (dest / "held_out" / "running").exists()
    with pytest.raises(ValueError, match="unfinished"):
        compact_run(src / "held_out" / "running", tmp_path / "x")
    before = {p: p.stat().st_mtime_ns for p in dest.rglob("*")}
    assert compact_tree(src, dest) == []
    assert {p: p.stat().st_mtime_ns for p in dest.rglob("*")} == before
    # The run finishes: the next pass picks it up.
    shutil.copyfile(
        _run(small_runs, "none") / "summary.json", src / "held_out/running/summary.json"
    )
    assert compact_tree(src, dest) == [dest / "held_out" / "running"]


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout


def test_campaign_once_commits_only_dest(small_runs: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "t@example.com")
    _git(repo, "config", "user.name", "t")
    (repo / "other.txt").write_text("a\n")
    _git(repo, "add", "other.txt")
    _git(repo, "commit", "-q", "-m", "start")
    (repo / "other.txt").write_text("b\n")
    _git(repo, "add", "other.txt")  # the lead's staged work, not ours to commit
    dest = repo / "results" / "suite"

    (repo / ".git" / "index.lock").write_text("")
    assert "postponed" in suite_campaign.commit_dest(repo, dest)
    (repo / ".git" / "index.lock").unlink()
    assert _git(repo, "rev-list", "--count", "HEAD").strip() == "1"

    argv = ["--src", str(small_runs), "--dest", str(dest), "--once"]
    assert suite_campaign.main(argv) == 0
    assert _git(repo, "log", "-1", "--format=%s") == (
        "suite campaign: +4 runs (4 in all: tiny_flip 4)\n"
    )
    committed = _git(repo, "show", "--name-only", "--format=", "HEAD").split()
    assert committed and all(p.startswith("results/suite/tiny_flip/") for p in committed)
    assert "results/suite/tiny_flip/fade/seed_0/scalars.csv.gz" in committed
    assert _git(repo, "diff", "--cached", "--name-only") == "other.txt\n"
    assert _git(repo, "show", "HEAD:other.txt") == "a\n"

    assert suite_campaign.main(argv) == 0  # nothing new: no commit
    assert _git(repo, "rev-list", "--count", "HEAD").strip() == "2"
