"""Crash-consistent run folders: every file is synced and renamed into place, and a run
killed (SIGKILL) at random instants and resumed each time ends like an uninterrupted one."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import random
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from tbparse import SummaryReader

from fade_rl.experiments.runs import atomic
from fade_rl.experiments.runs.atomic import write_atomic
from fade_rl.experiments.runs.config import validate_config
from fade_rl.experiments.runs.folder import run_dir_for
from fade_rl.experiments.runs.logs import read_episodes
from fade_rl.experiments.runs.run import train_run

from ..helpers import fast_config

#: Files a run appends to (their readers drop a torn last line) and its lock.
APPENDED = ("episodes.jsonl", "resumes.jsonl", "command.txt", "run.lock", "events.out.tfevents.")
#: Summary fields that measure time, which no two runs share.
TIMING = ("wall_time_s", "steps_per_second", "resumed_at")


def _record_writes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    """Record every ``os.fsync`` (by the path of its descriptor) and ``os.replace``."""
    log: list[tuple[str, ...]] = []
    fsync, replace = os.fsync, os.replace

    def spy_fsync(fd: int) -> None:
        log.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        fsync(fd)

    def spy_replace(src: Any, dst: Any) -> None:
        log.append(("replace", str(Path(src).resolve()), str(Path(dst).resolve())))
        replace(src, dst)

    monkeypatch.setattr(os, "fsync", spy_fsync)
    monkeypatch.setattr(os, "replace", spy_replace)
    return log


def _synced_into_place(path: Path, log: list[tuple[str, ...]]) -> bool:
    """Whether ``path`` (or its checkpoint folder) was synced, renamed into place, and its
    folder synced after the rename."""
    for target in (path, path.parent):
        for i, entry in enumerate(log):
            if entry[0] != "replace" or entry[2] != str(target):
                continue
            source = Path(entry[1]) if target == path else Path(entry[1]) / path.name
            synced_before = ("fsync", str(source)) in log[:i]
            dir_after = ("fsync", str(target.parent)) in log[i:]
            if synced_before and dir_after:
                return True
    return False


def test_write_atomic_syncs_the_file_and_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = _record_writes(monkeypatch)
    write_atomic(tmp_path / "a.json", "{}")
    assert _synced_into_place((tmp_path / "a.json").resolve(), log)
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_a_failed_write_keeps_the_old_content(tmp_path: Path) -> None:
    path = tmp_path / "summary.json"
    path.write_text("old")
    with pytest.raises(RuntimeError), atomic.atomic_path(path) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == [path.name]


def test_what_killed_writes_left_is_removed_and_nothing_else(tmp_path: Path) -> None:
    (tmp_path / "checkpoints" / ".step_300.tmp").mkdir(parents=True)
    (tmp_path / "checkpoints" / "step_200").mkdir()
    (tmp_path / ".summary.json.123.tmp").write_text("{")
    (tmp_path / "summary.json").write_text("{}")
    removed = atomic.remove_temporaries(tmp_path, tmp_path / "checkpoints")
    assert sorted(p.name for p in removed) == [".step_300.tmp", ".summary.json.123.tmp"]
    left = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    assert left == ["checkpoints", "checkpoints/step_200", "summary.json"]


def test_every_file_a_run_writes_is_synced_and_renamed_into_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = validate_config(fast_config(n_timesteps=300, method="fade"))
    log = _record_writes(monkeypatch)
    train_run(config, tmp_path)
    run_dir = run_dir_for(tmp_path, config).resolve()
    files = [p for p in run_dir.rglob("*") if p.is_file()]
    assert {"summary.json", "config.yaml", "lambda.npz", "final_model.zip", "state.json"} <= {
        p.name for p in files
    }
    torn = [
        str(p.relative_to(run_dir))
        for p in files
        if not p.name.startswith(APPENDED) and not _synced_into_place(p, log)
    ]
    assert not torn, f"written in place (a kill could tear them): {torn}"
    for appended in ("episodes.jsonl", "command.txt"):  # appends reach the disk too
        assert ("fsync", str(run_dir / appended)) in log, appended


# ------------------------------------------------------------------ kill and resume
def _train(config: dict[str, Any], root: str) -> None:
    import warnings

    warnings.simplefilter("ignore")  # "resuming from ...", "no checkpoint yet ..."
    train_run(validate_config(config), root)


def _attempt(config: dict[str, Any], root: Path, delay: float | None) -> tuple[bool, float]:
    """Train in a forked process, and SIGKILL it ``delay`` s after it locked its run folder
    (once built: from then on it writes there). Whether it finished, and for how long it
    held the lock."""
    lock = run_dir_for(root, validate_config(config)) / "run.lock"
    proc = mp.get_context("fork").Process(target=_train, args=(config, str(root)))
    proc.start()
    while proc.is_alive() and not (lock.is_file() and lock.read_text().strip() == str(proc.pid)):
        time.sleep(0.002)
    locked = time.monotonic()
    if delay is not None:
        proc.join(delay)
        if proc.is_alive():
            os.kill(proc.pid, signal.SIGKILL)
    proc.join()
    return proc.exitcode == 0, time.monotonic() - locked


def _comparable(summary: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in summary.items() if k not in TIMING}


def _kill_and_resume(tmp_path: Path, kills: int, seed: int) -> None:
    data = fast_config(n_timesteps=600)
    data["logging"].update(checkpoint_interval=100, keep_checkpoints=2)
    config = validate_config(data)
    done, duration = _attempt(data, tmp_path / "whole", None)
    assert done
    whole = json.loads((run_dir_for(tmp_path / "whole", config) / "summary.json").read_text())

    rng = random.Random(seed)
    root = tmp_path / "killed"
    for _ in range(kills):  # each kill at a random instant of a run's life in its folder
        if _attempt(data, root, rng.uniform(0.0, duration / 2))[0]:
            break  # it finished before the kill
    assert _attempt(data, root, None)[0]

    run_dir = run_dir_for(root, config)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "completed"
    assert all(0 <= step <= 600 for step in summary["resumed_at"])
    assert _comparable(summary) == _comparable(whole)  # the same run, however often resumed
    episodes, shifts = read_episodes(run_dir)  # every line whole: no torn line survives
    assert (episodes, shifts) == read_episodes(run_dir_for(tmp_path / "whole", config))
    assert (run_dir / "episodes.jsonl").read_text() == (
        run_dir_for(tmp_path / "whole", config) / "episodes.jsonl"
    ).read_text()
    for path in run_dir.rglob("*.json"):
        json.loads(path.read_text())  # every JSON file parses
    assert not list(run_dir.rglob("*.tmp"))  # what killed writes left was cleared away
    frame = SummaryReader(str(run_dir), pivot=False).scalars
    for tag, part in frame.groupby("tag"):  # no TensorBoard step twice (nor a stray copy)
        assert part["step"].is_unique, f"{tag} logged a step twice"


def test_a_run_killed_at_random_instants_ends_like_an_uninterrupted_one(tmp_path: Path) -> None:
    _kill_and_resume(tmp_path, kills=4, seed=0)


@pytest.mark.slow
def test_a_run_killed_ten_times_ends_like_an_uninterrupted_one(tmp_path: Path) -> None:
    _kill_and_resume(tmp_path, kills=10, seed=1)


def test_a_kill_while_replacing_a_folder_leaves_its_old_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkpoints = tmp_path / "checkpoints"
    target, tmp = checkpoints / "step_100", checkpoints / ".step_100.tmp"
    for folder, text in ((target, "old"), (tmp, "new")):
        folder.mkdir(parents=True)
        (folder / "model.zip").write_text(text)
    replace = os.replace

    def killed_at_the_new_folder(src: Any, dst: Any) -> None:
        if Path(src) == tmp:
            raise KeyboardInterrupt("killed")
        replace(src, dst)

    monkeypatch.setattr(os, "replace", killed_at_the_new_folder)
    with pytest.raises(KeyboardInterrupt):
        atomic.replace_dir(tmp, target)
    monkeypatch.setattr(os, "replace", replace)
    atomic.remove_temporaries(tmp_path, checkpoints)  # what a resume does first
    assert (target / "model.zip").read_text() == "old"
    assert sorted(p.name for p in checkpoints.iterdir()) == ["step_100"]
    # uninterrupted: the new version in place, nothing left beside it
    tmp.mkdir()
    (tmp / "model.zip").write_text("new")
    atomic.replace_dir(tmp, target)
    assert (target / "model.zip").read_text() == "new"
    assert sorted(p.name for p in checkpoints.iterdir()) == ["step_100"]
