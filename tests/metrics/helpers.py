"""Shared pieces of the metrics tests: small environments and event-file reading."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import pandas as pd
from tbparse import SummaryReader

import fade_rl.envs  # noqa: F401  (registers the fade_rl/... ids)
from fade_rl import PlasticityCallback

FLIP_PERIOD = 400


def reward_flip_env(period: int = FLIP_PERIOD) -> gym.Env:
    """CartPole whose reward sign flips every ``period`` steps (registered id, short period)."""
    sign = {"type": "periodic", "values": [1.0, -1.0], "period": period}
    return gym.make("fade_rl/CartPole-RewardFlip-v0", reward={"sign": sign})


def pendulum_env(period: int = 300) -> gym.Env:
    """Pendulum whose gravity switches every ``period`` steps."""
    g = {"type": "periodic", "values": [10.0, 15.0], "period": period}
    return gym.make("fade_rl/Pendulum-Dynamics-v0", dynamics={"g": g})


def scalars(log_dir: Path) -> pd.DataFrame:
    """Every scalar event under ``log_dir``: columns step, tag, value."""
    return SummaryReader(str(log_dir), event_types={"scalars"}).scalars


def histograms(log_dir: Path) -> pd.DataFrame:
    """Every histogram event under ``log_dir``."""
    return SummaryReader(str(log_dir), event_types={"histograms"}).histograms


def small_callback(**kwargs: Any) -> PlasticityCallback:
    """A PlasticityCallback measuring often on small batches (``kwargs`` replace defaults)."""
    defaults: dict[str, Any] = dict(
        interval=200,
        batch_size=64,
        histogram_interval=400,
        probe_interval=600,
        probe_steps=5,
        probe_batch_size=64,
        memory_batch_size=128,
    )
    return PlasticityCallback(**{**defaults, **kwargs})


def logged_run(model: Any, log_dir: Path, name: str, **kwargs: Any) -> PlasticityCallback:
    """Train ``model`` (made with ``tensorboard_log=log_dir``) over three reward flips and a
    bit, measured by ``small_callback(**kwargs)``; returns the callback."""
    callback = small_callback(**kwargs)
    model.learn(3 * FLIP_PERIOD + 50, callback=callback, tb_log_name=name)
    return callback
