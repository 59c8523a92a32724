"""Shared fixtures of the fade_rl.envs tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _run_in_tmp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """MuJoCo 4.0 writes MUJOCO_LOG.TXT into the working directory when HalfCheetah's model
    loads (a deprecation warning); run every test elsewhere so it stays out of the repo."""
    monkeypatch.chdir(tmp_path)
