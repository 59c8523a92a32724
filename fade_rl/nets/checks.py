"""Argument checks shared by the methods and the metrics: one message per mistake.

Example:
    >>> check_positive_int("every", 100)
    100
    >>> check_tau(0.025)
    0.025
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

__all__ = [
    "check_choice",
    "check_fraction",
    "check_nonnegative",
    "check_positive_int",
    "check_tau",
]


def check_choice(name: str, value: Any, choices: Iterable[str]) -> str:
    """``value`` if it is one of ``choices``, else a ValueError naming them."""
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


def check_positive_int(name: str, value: Any, allow_none: bool = False) -> int | None:
    """``value`` if it is an int >= 1 (or None when allowed), else a ValueError."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f"{name} must be a positive int{' or None' if allow_none else ''}, got {value!r}"
        )
    return value


def check_fraction(name: str, value: Any, low_open: bool = False) -> float:
    """``value`` as a float in [0, 1] (``low_open``: (0, 1]), else a ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if not (0.0 < value <= 1.0 if low_open else 0.0 <= value <= 1.0):
        raise ValueError(f"{name} must be in {'(0, 1]' if low_open else '[0, 1]'}, got {value}")
    return float(value)


def check_nonnegative(name: str, value: Any) -> float:
    """``value`` as a float if it is a finite number >= 0 (a penalty, a decay); else ValueError."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
    ):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def check_tau(tau: Any) -> float:
    """A dormancy threshold: a finite number >= 0 (see :func:`~fade_rl.nets.dormant_scores`)."""
    if isinstance(tau, bool) or not isinstance(tau, (int, float)) or not math.isfinite(tau):
        raise ValueError(f"tau must be a finite number >= 0 (e.g. 0.0, 0.025 or 0.1), got {tau!r}")
    if tau < 0:
        raise ValueError(
            f"tau must be >= 0, got {tau}: units whose score (a share of the layer's mean "
            "activation) is <= tau are dormant; Sokar et al. use 0, 0.025 and 0.1"
        )
    return float(tau)
