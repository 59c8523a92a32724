"""FADE as a PyTorch optimizer, and the head curvature it needs. Knows nothing of SB3."""

from fade_rl.optim.curvature import (
    cross_entropy_output_hessian,
    dqn_head_curvature,
    dqn_output_hessian,
    grad_clip_factor,
    half_squared_error_output_hessian,
    linear_head_curvature,
    mse_output_hessian,
)
from fade_rl.optim.fade import FADE
from fade_rl.optim.state import NonFiniteCurvatureError, step_counts_to_cpu

__all__ = [
    "FADE",
    "NonFiniteCurvatureError",
    "cross_entropy_output_hessian",
    "dqn_head_curvature",
    "dqn_output_hessian",
    "grad_clip_factor",
    "half_squared_error_output_hessian",
    "linear_head_curvature",
    "mse_output_hessian",
    "step_counts_to_cpu",
]
