"""A run stopped right after a checkpoint and resumed is the same run as an uninterrupted one:
the same episodes and the same summary (but for the fields that measure time)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest

from fade_rl.experiments.runs.checkpoint import Checkpointer
from fade_rl.experiments.runs.config import validate_config
from fade_rl.experiments.runs.folder import run_dir_for
from fade_rl.experiments.runs.run import train_run

from ..helpers import fast_config

#: Summary fields that measure time (or where the run was resumed), which no two runs share.
TIMING = ("wall_time_s", "steps_per_second", "resumed_at")


def _result(root: Path, config: Any) -> tuple[str, dict[str, Any]]:
    run_dir = run_dir_for(root, config)
    summary = json.loads((run_dir / "summary.json").read_text())
    return (run_dir / "episodes.jsonl").read_text(), {
        k: v for k, v in summary.items() if k not in TIMING
    }


@pytest.mark.parametrize(
    ("method", "plasticity", "stops"),
    [
        ("none", 0, [300]),
        ("none", 0, [100, 200, 500]),
        ("fade", 250, [100, 200, 500]),  # FADE's state and the plasticity measurements
        ("redo", 0, [100, 200, 500]),  # a method that re-initializes neurons (torch's RNG)
    ],
)
def test_a_resumed_run_is_the_same_run(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    method: str,
    plasticity: int,
    stops: list[int],
) -> None:
    data = fast_config(n_timesteps=600, method=method)
    data["logging"].update(
        checkpoint_interval=100, keep_checkpoints=2, plasticity_interval=plasticity
    )
    config = validate_config(data)
    train_run(config, tmp_path / "whole")

    save, pending = Checkpointer.save, list(stops)

    def save_then_stop(self: Checkpointer, model: Any) -> None:
        save(self, model)
        if pending and model.num_timesteps >= pending[0]:
            pending.pop(0)
            raise KeyboardInterrupt("stopped after a checkpoint")

    monkeypatch.setattr(Checkpointer, "save", save_then_stop)
    root = tmp_path / "stopped"
    for _ in stops:
        with pytest.raises(KeyboardInterrupt):
            train_run(config, root)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summary = train_run(config, root)
    assert len(summary["resumed_at"]) == len(stops)
    episodes, ours = _result(root, config)
    whole_episodes, whole = _result(tmp_path / "whole", config)
    assert episodes.splitlines() == whole_episodes.splitlines()
    assert ours == whole
