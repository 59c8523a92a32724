"""Statistics of a report: IQM with bootstrap CIs over seeds, shift recovery, binning."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from fade_rl.experiments.reports.load import RunRecord

__all__ = [
    "binned",
    "ci_columns",
    "format_ci",
    "format_number",
    "iqm_with_ci",
    "shift_stats",
    "t_interval",
]


def binned(steps: np.ndarray, values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Mean of the values falling in each grid bin, the last mean carried through empty bins."""
    out = np.full(len(grid), np.nan)
    edges = np.concatenate([[-np.inf], grid])
    last = np.nan
    for i in range(len(grid)):
        mask = (steps > edges[i]) & (steps <= edges[i + 1])
        if mask.any():
            last = float(values[mask].mean())
        out[i] = last
    return out


def t_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float]:
    """The ``level`` Student-t interval of the mean of ``values``; NaNs under two values.

    Example:
        >>> low, high = t_interval([1.0, 2.0, 3.0])
        >>> round(low, 3), round(high, 3)  # 2 -+ 4.303 * 1 / sqrt(3)
        (-0.484, 4.484)
        >>> t_interval([5.0])
        (nan, nan)
    """
    n = len(values)
    if n < 2:
        return math.nan, math.nan
    from scipy import stats

    mean = float(np.mean(values))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * float(np.std(values, ddof=1)) / math.sqrt(n)
    return mean - half, mean + half


def iqm_with_ci(scores: dict[str, np.ndarray], reps: int, seed: int = 0) -> dict[str, tuple]:
    """``method -> (iqm, low, high, n)`` with rliable's stratified bootstrap.

    A 1-D array is one task's scores over runs; a 2-D one is ``runs x tasks`` (rliable's
    layout, the same number of runs in every task). With one run there is no interval:
    ``low`` and ``high`` are ``None``.
    """
    from rliable import library as rly
    from rliable import metrics

    if reps < 1:
        raise ValueError(f"reps must be >= 1 bootstrap resample, got {reps}")
    valid = {
        m: s if s.ndim == 2 else s.reshape(-1, 1)
        for m, s in scores.items()
        if s.size and np.isfinite(s).all()
    }
    out: dict[str, tuple] = {}
    single = {m: s for m, s in valid.items() if len(s) == 1}
    for m, s in single.items():
        out[m] = (float(metrics.aggregate_iqm(s)), None, None, 1)
    many = {m: s for m, s in valid.items() if len(s) > 1}
    if many:
        np.random.seed(seed)  # rliable draws its resamples from numpy's global generator

        def aggregate(x: np.ndarray) -> np.ndarray:
            return np.array([metrics.aggregate_iqm(x)])

        points, intervals = rly.get_interval_estimates(many, aggregate, reps=reps)
        for m in many:
            low, high = float(intervals[m][0, 0]), float(intervals[m][1, 0])
            out[m] = (float(points[m][0]), low, high, len(many[m]))
    return out


def format_number(value: float | None, digits: int = 1) -> str:
    """``1,234.5``; ``-`` for a missing or non-finite value."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{value:,.{digits}f}"


def format_ci(value: tuple | None, digits: int = 1) -> str:
    """``iqm [low, high]``, or ``value (n=1, no CI)`` for a single seed, ``-`` for none."""
    if not value:
        return "-"
    point = format_number(value[0], digits)
    if value[1] is None:
        return f"{point} (n=1, no CI)"
    return f"{point} [{format_number(value[1], digits)}, {format_number(value[2], digits)}]"


def ci_columns(value: tuple | None, point: str, low: str, high: str) -> dict[str, Any]:
    """A CSV row's columns of an :func:`iqm_with_ci` result (``None`` where there is none).

    Example:
        >>> ci_columns((0.5, 0.25, 0.75), "score_iqm", "score_ci_low", "score_ci_high")
        {'score_iqm': 0.5, 'score_ci_low': 0.25, 'score_ci_high': 0.75}
        >>> ci_columns(None, "p_better", "p_ci_low", "p_ci_high")
        {'p_better': None, 'p_ci_low': None, 'p_ci_high': None}
    """
    return {
        point: value[0] if value else None,
        low: value[1] if value else None,
        high: value[2] if value else None,
    }


def shift_stats(record: RunRecord) -> dict[str, Any]:
    """Per run: shifts, comparable and recovered ones, mean recovery steps and return change."""
    segments = record.summary.get("segments", [])[1:]
    recovered = [s["recovery_steps"] for s in segments if s["recovery_steps"] is not None]
    comparable = [s for s in segments if s["reference_return"] is not None]
    drops = [
        s["return_after"] - s["return_before"]
        for s in segments
        if s["return_after"] is not None and s["return_before"] is not None
    ]
    return {
        "n_shifts": len(segments),
        "n_comparable": len(comparable),
        "n_recovered": len(recovered),
        "recovery_steps": float(np.mean(recovered)) if recovered else None,
        "return_change_at_shift": float(np.mean(drops)) if drops else None,
    }
