"""FADE as a PyTorch optimizer, and the head curvature it needs. Knows nothing of SB3."""

from fade_rl.optim import curvature
from fade_rl.optim.curvature import *  # noqa: F403 (the names in curvature.__all__)
from fade_rl.optim.fade import FADE
from fade_rl.optim.state import NonFiniteCurvatureError, step_counts_to_cpu

__all__ = ["FADE", "NonFiniteCurvatureError", "step_counts_to_cpu", *curvature.__all__]
