"""Suite data proves where it came from: each fault is refused, naming the file and the fix.

Each test copies the hand-written suite folder of ``test_suite_report`` (stamped references
and protocol, no training), damages one file, and asks for the report.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from fade_rl.experiments.reports.suite import make_suite_report
from fade_rl.experiments.runs.validate import ReportInputError
from fade_rl.experiments.suite.provenance import (
    read_protocol,
    read_references,
    stamp,
    write_phase_stamp,
)
from fade_rl.experiments.suite.restamp import main as restamp_main
from fade_rl.experiments.suite.restamp import restamp
from tests.experiments.reports.test_suite_report import (  # noqa: F401  (the fixture)
    ENV,
    _config,
    _run,
    suite,
)


@pytest.fixture
def copy(suite: Path, tmp_path: Path) -> Path:  # noqa: F811
    shutil.copytree(suite, tmp_path / "suite")
    return tmp_path / "suite"


def _edit(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def _refused(folder: Path, *words: str) -> str:
    with pytest.raises(ReportInputError) as info:
        make_suite_report(folder, reps=20)
    message = str(info.value)
    assert "\n" not in message
    for word in words:
        assert word in message, (word, message)
    assert not (folder / "report").exists()  # nothing written
    return message


def test_the_stamped_suite_reads(copy: Path) -> None:
    assert set(read_references(copy)) == {"alpha", "gamma"}
    assert read_protocol(copy)["chosen"]["alpha"]["fade"]["value"] == 10


def test_an_edited_ceiling_is_refused(copy: Path) -> None:
    path = copy / "references" / "alpha.json"
    _edit(path, lambda d: d["tasks"][0].update(ceiling=50.0))
    _refused(copy, str(path), "does not match its digest", "fade-rl references")


def test_an_edited_chosen_value_is_refused(copy: Path) -> None:
    path = copy / "protocol.json"
    _edit(path, lambda d: d["chosen"]["alpha"]["fade"].update(value=100))
    _refused(copy, str(path), "does not match its digest", "--phase tuning")


def test_a_forged_digest_is_caught_by_the_held_out_configs(copy: Path) -> None:
    path = copy / "protocol.json"
    data = json.loads(path.read_text())
    data["chosen"]["alpha"]["fade"]["value"] = 100
    path.write_text(json.dumps(stamp(data, copy, [])))
    _refused(copy, "methods.fade.meta_lr=10", "chose 100", "alpha/fade")


def test_a_truncated_references_file_is_named(copy: Path) -> None:
    path = copy / "references" / "gamma.json"
    path.write_text(path.read_text()[:40])
    _refused(copy, str(path), "truncated or damaged JSON")


@pytest.mark.parametrize("name", ["alpha copy.json", "alpha.json.bak", "old.json"])
def test_a_stray_or_duplicate_file_is_refused(copy: Path, name: str) -> None:
    shutil.copy(copy / "references" / "alpha.json", copy / "references" / name)
    _refused(copy, str(copy / "references" / name), "stray", "move it out")


def test_data_without_digests_names_the_migration(copy: Path) -> None:
    path = copy / "references" / "alpha.json"
    _edit(path, lambda d: d.pop("provenance"))
    _refused(copy, str(path), "no provenance digest", "python -m fade_rl.experiments.suite.restamp")


def test_a_changed_run_behind_the_references_is_refused(copy: Path) -> None:
    run = _run(copy / "references", _config("alpha__task0", "none", 9), (1.0, 1.0))
    path = copy / "references" / "alpha.json"
    _edit(path, lambda d: d.update(stamp(d, copy, [run])))
    make_suite_report(copy, out=copy / "ok", reps=20)  # stamped with its run: fine
    _edit(run / "summary.json", lambda d: d.update(final_return=1e6))
    _refused(copy, str(path), str(run / "summary.json"), "has changed since")


def test_refusals_are_exit_2_from_the_cli(copy: Path, capsys: pytest.CaptureFixture) -> None:
    from fade_rl.cli import main

    _edit(copy / "references" / "alpha.json", lambda d: d["tasks"][1].update(floor=-1.0))
    assert main(["report", str(copy), "--reps", "20"]) == 2
    assert "alpha.json: its content does not match" in capsys.readouterr().err
    assert not (copy / "report").exists()


def test_the_suite_refuses_held_out_seeds_of_two_configs(copy: Path) -> None:
    run = copy / "held_out" / "gamma" / "wd" / "seed_1"
    config = yaml.safe_load((run / "config.yaml").read_text())
    config["algo"]["hyperparams"] = {"learning_rate": 0.5}
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    write_phase_stamp(copy, "held_out")  # a held_out phase that ran it so
    _refused(copy, str(run), "different configs", "algo.hyperparams")


def test_a_non_finite_held_out_summary_is_not_completed(copy: Path) -> None:
    run = copy / "held_out" / "alpha" / "none" / "seed_1"
    _edit(run / "summary.json", lambda d: d["segments"][1].update(mean_return=float("inf")))
    write_phase_stamp(copy, "held_out")  # a held_out phase that wrote it so
    report = make_suite_report(copy, reps=20)
    runs = pd.read_csv(report["out"] / "runs.csv").set_index(["setting", "method", "seed"])
    row = runs.loc[("alpha", "none", 1)]
    assert row["status"] == "invalid" and pd.isna(row["score"])
    assert "segments[1].mean_return is not a finite number" in row["problem"]
    assert any(str(run) in line for line in report["warnings"])
    table = pd.read_csv(report["out"] / "report.csv").set_index(["setting", "method"])
    assert table.loc[("alpha", "none"), "score_iqm"] == pytest.approx(0.2)  # seed 0 alone


def test_a_damaged_timing_line_is_named(copy: Path) -> None:
    with open(copy / "timing.jsonl", "a") as f:
        f.write('{"phase": "tuning", "seconds": NaN, "started": 1}\n{"tier": "sta')
    report = make_suite_report(copy, reps=20)
    assert sum("timing.jsonl: line" in line for line in report["warnings"]) == 2


def _unstamped_suite(root: Path) -> tuple[Path, dict[str, Any]]:
    """A suite folder with a ceiling run and two tuning values, written without digests."""
    from fade_rl.experiments.runs.config import validate_config
    from fade_rl.experiments.suite.provenance import env_digest
    from fade_rl.experiments.suite.references import random_floor, task_config

    setting = validate_config(
        {"name": "tiny", "env": ENV, "budget": {"n_timesteps": 100}, "method": "none"}
    )
    frozen = task_config(setting, 0, {}, 100, 7)
    run = root / "references" / "tiny__task0" / "none" / "seed_7"
    run.mkdir(parents=True)
    (run / "config.yaml").write_text(yaml.safe_dump(frozen.to_dict()))
    segment = {
        "segment": 0,
        "start": 0,
        "end": 100,
        "mean_return": 30.0,
        "values": {"reward.sign": 1},
        "return_before": None,
        "return_after": None,
        "reference_return": None,
        "recovery_steps": None,
    }
    summary = {"status": "completed", "n_timesteps": 100, "n_episodes": 4}
    (run / "summary.json").write_text(
        json.dumps({**summary, "final_return": 30.0, "segments": [segment]})
    )
    floor = random_floor(frozen, 100, 7)
    refs = {
        "setting": "tiny",
        "digest": env_digest(setting),
        "env": setting.env.model_dump(mode="json"),
        "budget": setting.budget.model_dump(mode="json"),
        "task_keys": ["reward.sign"],
        "tasks": [
            {
                "values": {"reward.sign": 1},
                "steps": 100,
                "env_kwargs": {},
                "floor": floor,
                "ceiling": 30.0,
                "floor_returns": [floor],
                "ceiling_returns": [30.0],
                "seeds": [7],
            }
        ],
    }
    (root / "references" / "tiny.json").write_text(json.dumps(refs))
    scores = {}
    for lr, ret in ((0.001, floor + 0.25 * (30.0 - floor)), (0.01, 30.0)):
        tuned = root / "tuning" / f"tiny__learning_rate={lr}" / "none" / "seed_100"
        tuned.mkdir(parents=True)
        (tuned / "config.yaml").write_text("{}")
        seg = {**segment, "mean_return": ret}
        (tuned / "summary.json").write_text(
            json.dumps({**summary, "final_return": ret, "segments": [seg]})
        )
        scores[lr] = (ret - floor) / (30.0 - floor)
    protocol = {
        "tuning_seeds": [100],
        "grids": {
            "tiny": {"none": {"key": "algo.hyperparams.learning_rate", "values": [0.001, 0.01]}}
        },
        "chosen": {
            "tiny": {
                "none": {
                    "key": "algo.hyperparams.learning_rate",
                    "value": 0.01,
                    "tuning_scores": [
                        {"value": lr, "mean_score": score} for lr, score in scores.items()
                    ],
                }
            }
        },
    }
    (root / "protocol.json").write_text(json.dumps(protocol))
    return root, protocol


def test_restamp_checks_old_data_against_its_runs_then_stamps(tmp_path: Path) -> None:
    folder, _ = _unstamped_suite(tmp_path / "old")
    with pytest.raises(ReportInputError, match="no provenance digest"):
        read_references(folder)
    assert restamp_main([str(folder)]) == 0
    assert read_references(folder)["tiny"]["tasks"][0]["ceiling"] == 30.0
    assert (
        "tuning/tiny__learning_rate=0.01/none/seed_100"
        in read_protocol(folder)["provenance"]["runs"]
    )
    before = (folder / "protocol.json").read_text()
    assert restamp(folder) == [] and (folder / "protocol.json").read_text() == before


@pytest.mark.parametrize(
    ("file", "change", "words"),
    [
        ("references/tiny.json", lambda d: d["tasks"][0].update(ceiling=31.0), "ceiling"),
        ("references/tiny.json", lambda d: d["tasks"][0].update(floor_returns=[0.0]), "floor"),
        ("protocol.json", lambda d: d["chosen"]["tiny"]["none"].update(value=0.001), "choice"),
    ],
)
def test_restamp_refuses_data_its_runs_do_not_give(
    tmp_path: Path, file: str, change: Callable[[dict[str, Any]], None], words: str
) -> None:
    folder, _ = _unstamped_suite(tmp_path / "old")
    _edit(folder / file, change)
    texts = {p: p.read_text() for p in folder.rglob("*.json")}
    with pytest.raises(ReportInputError, match=words) as info:
        restamp(folder)
    assert str(folder / file) in str(info.value)
    assert {p: p.read_text() for p in folder.rglob("*.json")} == texts  # nothing written


def test_restamp_writes_each_file_synced_and_renamed_into_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    folder, _ = _unstamped_suite(tmp_path / "old")
    synced: list[str] = []
    replaced: list[tuple[str, str]] = []
    fsync, replace = os.fsync, os.replace

    def spy_fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        fsync(fd)

    def spy_replace(src: Any, dst: Any) -> None:
        replaced.append((str(Path(src).resolve()), str(Path(dst).resolve())))
        replace(src, dst)

    monkeypatch.setattr(os, "fsync", spy_fsync)
    monkeypatch.setattr(os, "replace", spy_replace)
    written = restamp(folder)
    assert written
    for path in written:
        target = str(path.resolve())
        source = next(src for src, dst in replaced if dst == target)
        assert source in synced and str(path.parent.resolve()) in synced, (path, synced)
        assert Path(source).name.startswith(".")  # hidden: no glob of the folder picks it up


# ---------------------------------------------------------------- the held-out and sensitivity runs
def test_an_edited_held_out_summary_is_refused(copy: Path) -> None:
    run = copy / "held_out" / "alpha" / "none" / "seed_0"
    _edit(run / "summary.json", lambda d: d["segments"][0].update(mean_return=99.0))
    message = _refused(copy, str(copy / "held_out.json"), str(run / "summary.json"), "changed")
    assert f"fade-rl suite -f {copy} --phase held_out" in message
    from fade_rl.cli import main

    assert main(["report", str(copy), "--reps", "20"]) == 2  # exit 2, nothing written
    assert not (copy / "report").exists()


def test_an_edited_sensitivity_summary_is_refused(copy: Path) -> None:
    run = next((copy / "sensitivity").rglob("summary.json"))
    _edit(run, lambda d: d.update(final_return=1e6))
    _refused(copy, str(copy / "sensitivity.json"), str(run), "--phase sensitivity")


@pytest.mark.parametrize("phase", ["held_out", "sensitivity"])
def test_a_missing_or_truncated_phase_digest_is_refused(copy: Path, phase: str) -> None:
    path = copy / f"{phase}.json"
    path.write_text(path.read_text()[:30])
    _refused(copy, str(path), "truncated or damaged JSON", f"--phase {phase}")
    path.unlink()
    _refused(copy, str(path), "no digest", f"--phase {phase}")


def test_an_edited_phase_digest_is_refused(copy: Path) -> None:
    path = copy / "held_out.json"
    _edit(path, lambda d: d["provenance"]["runs"].popitem())
    _refused(copy, str(path), "does not match its digest", "--phase held_out")


def test_an_extra_or_missing_held_out_run_is_refused(copy: Path) -> None:
    extra = _run(copy / "held_out", _config("gamma", "none", 5), (0.5, 0.5))
    _refused(copy, str(copy / "held_out.json"), str(extra), "not among")
    shutil.rmtree(extra)
    gone = copy / "held_out" / "gamma" / "none" / "seed_1"
    shutil.rmtree(gone)
    _refused(copy, str(copy / "held_out.json"), str(gone / "config.yaml"), "gone")


def test_a_run_that_wrote_its_summary_after_the_stamp_is_refused(copy: Path) -> None:
    run = copy / "held_out" / "beta" / "wd" / "seed_1"
    (run / "failure.json").write_text("{}")
    _refused(copy, str(run / "failure.json"), "not among")


def test_a_held_out_run_of_a_method_without_a_chosen_value_is_refused(copy: Path) -> None:
    path = copy / "protocol.json"
    data = json.loads(path.read_text())
    del data["chosen"]["gamma"]["wd"]
    path.write_text(json.dumps(stamp(data, copy, [])))
    _refused(copy, "held_out/gamma/wd/seed_0", "no chosen value for gamma/wd")


def test_restamp_stamps_unstamped_held_out_runs_as_found(copy: Path) -> None:
    (copy / "held_out.json").unlink()
    (copy / "sensitivity.json").unlink()
    written = restamp(copy)
    assert written == [copy / "held_out.json", copy / "sensitivity.json"]
    make_suite_report(copy, out=copy / "ok", reps=20)
    assert restamp(copy) == []


def test_restamp_refuses_held_out_runs_of_another_value(copy: Path) -> None:
    (copy / "held_out.json").unlink()
    path = copy / "protocol.json"
    data = json.loads(path.read_text())
    data["chosen"]["alpha"]["fade"]["value"] = 100
    path.write_text(json.dumps(stamp(data, copy, [])))
    with pytest.raises(ReportInputError, match="chose 100"):
        restamp(copy)
    assert not (copy / "held_out.json").exists()
