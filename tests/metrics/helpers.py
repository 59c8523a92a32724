"""Shared pieces of the metrics tests: small environments and event-file reading."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import pandas as pd
from tbparse import SummaryReader

import fade_rl.envs  # noqa: F401  (registers the fade_rl/... ids)

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
