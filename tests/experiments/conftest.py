"""Fixtures of the experiments tests: a few finished runs shared by the report and CLI tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import small_config


@pytest.fixture(scope="session")
def small_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Finished runs of the tiny setting (fade, none x seeds 0, 1); returns their log folder."""
    from fade_rl.experiments.runs.config import validate_config
    from fade_rl.experiments.runs.run import train_run

    root = tmp_path_factory.mktemp("runs")
    for method in ("fade", "none"):
        for seed in (0, 1):
            train_run(validate_config(small_config(method=method, seed=seed)), root)
    return root
