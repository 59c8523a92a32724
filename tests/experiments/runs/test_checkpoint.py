"""Checkpoints: a damaged one falls back to the newest intact one and says so."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from tbparse import SummaryReader

from fade_rl.experiments.runs.config import validate_config
from fade_rl.experiments.runs.run import run_dir_for, train_run

from ..helpers import small_config


def _config(**logging: object) -> dict:
    data = small_config(method="fade", budget={"n_timesteps": 1000})
    data["logging"].update(checkpoint_interval=500, keep_checkpoints=2, **logging)
    return data


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished fade run with checkpoints at steps 500 and 1000; returns its log folder."""
    root = tmp_path_factory.mktemp("ckpt")
    train_run(validate_config(_config()), root)
    return root


def _killed_copy(finished: Path, tmp_path: Path) -> Path:
    """A copy of the finished run as if killed after its last checkpoint (no summary)."""
    root = tmp_path / "runs"
    shutil.copytree(finished, root)
    run_dir = run_dir_for(root, validate_config(_config()))
    (run_dir / "summary.json").unlink()
    return root


def _damage(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize(
    "name", ["model.zip", "replay_buffer.pkl", "env.pkl", "plasticity.pt", "state.json"]
)
def test_damaged_checkpoint_falls_back_to_the_older_one(
    finished: Path, tmp_path: Path, name: str
) -> None:
    root = _killed_copy(finished, tmp_path)
    config = validate_config(_config())
    run_dir = run_dir_for(root, config)
    _damage(run_dir / "checkpoints" / "step_1000" / name)
    with pytest.warns(UserWarning) as record:
        summary = train_run(config, root)
    messages = [str(w.message) for w in record]
    assert any("checkpoint step_1000 is unusable" in m for m in messages), messages
    assert any("resuming from step_500" in m for m in messages), messages
    assert summary["status"] == "completed" and summary["n_timesteps"] == 1000
    assert summary["resumed_at"] == [500]
    # the damaged checkpoint is kept aside, not deleted
    assert len(list((run_dir / "checkpoints").glob("unusable_step_1000_*"))) == 1
    frame = SummaryReader(str(run_dir), pivot=False).scalars
    steps = frame[frame["tag"] == "episode/return"]["step"]
    assert steps.is_unique  # the cut-back logs were not doubled


def test_unreadable_checkpoint_marker_uses_the_newest_intact_checkpoint(
    finished: Path, tmp_path: Path
) -> None:
    root = _killed_copy(finished, tmp_path)
    config = validate_config(_config())
    run_dir = run_dir_for(root, config)
    (run_dir / "checkpoint.json").write_text('{"step": 10')
    with pytest.warns(UserWarning, match="checkpoint.json is unreadable"):
        summary = train_run(config, root)
    assert summary["resumed_at"] == [1000] and summary["n_timesteps"] == 1000
    assert json.loads((run_dir / "checkpoint.json").read_text())["step"] == 1000


def test_final_scalars_are_not_duplicated_after_a_kill_in_the_final_phase(
    finished: Path, tmp_path: Path
) -> None:
    root = _killed_copy(finished, tmp_path)  # final/* were written, summary.json was not
    config = validate_config(_config())
    run_dir = run_dir_for(root, config)
    train_run(config, root)
    frame = SummaryReader(str(run_dir), pivot=False).scalars
    finals = frame[frame["tag"].str.startswith("final/")]
    assert len(finals) > 0
    assert finals.groupby("tag").size().max() == 1


def test_checkpoint_loads_map_to_the_run_device(
    finished: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every tensor file of a checkpoint is loaded onto the current run's device."""
    import torch

    root = _killed_copy(finished, tmp_path)
    config = validate_config(_config())
    calls = []
    original = torch.load

    def spy(*args: object, **kwargs: object) -> object:
        calls.append(kwargs.get("map_location"))
        return original(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    train_run(config, root)
    assert calls and all(str(c) == "cpu" for c in calls), calls


DEEP = "[" * 100_000 + "]" * 100_000


def test_a_deeply_nested_checkpoint_marker_is_unreadable_not_a_traceback(
    finished: Path, tmp_path: Path
) -> None:
    root = _killed_copy(finished, tmp_path)
    config = validate_config(_config())
    run_dir = run_dir_for(root, config)
    (run_dir / "checkpoint.json").write_text(DEEP)
    with pytest.warns(UserWarning, match="checkpoint.json is unreadable"):
        summary = train_run(config, root)
    assert summary["resumed_at"] == [1000]


def test_a_deeply_nested_state_json_falls_back_to_the_older_checkpoint(
    finished: Path, tmp_path: Path
) -> None:
    root = _killed_copy(finished, tmp_path)
    config = validate_config(_config())
    run_dir = run_dir_for(root, config)
    (run_dir / "checkpoints" / "step_1000" / "state.json").write_text(DEEP)
    with pytest.warns(UserWarning) as record:
        summary = train_run(config, root)
    messages = [str(w.message) for w in record]
    assert any("step_1000 is unusable" in m and "nested" in m for m in messages), messages
    assert summary["resumed_at"] == [500]
