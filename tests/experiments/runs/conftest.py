"""A tiny CartPole config file for the input checks."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

TINY = {
    "name": "tiny",
    "env": {"id": "CartPole-v1"},
    "algo": {"name": "dqn", "hyperparams": {"learning_starts": 50, "buffer_size": 500}},
    "budget": {"n_timesteps": 100},
    "logging": {"progress_bar": False},
}


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY))
    return path
