"""The many-level score: each level's return between a random policy and the oracle.

A many-level setting changes its task at every level (``configs/suite_v2``). Its
*ceiling* on level ``k`` is the oracle's return there: the continual-RL literature's fresh
agent (fresh networks, optimizer and replay buffer at every level change), at the plain
agent's hyperparameters, averaged over the held-out seeds. Its *floor* is a uniformly
random policy's return on level ``k``, averaged over the same seeds. A run's normalized
return on level ``k`` is ``(r_k - floor_k) / (ceiling_k - floor_k)``: 0 is random, 1 is a
fresh agent. On level 0 every agent is still fresh, so every method scores about 1 there.

Per run, :func:`level_score` gives:

* ``score``: the mean normalized return over the levels (the area under the normalized
  curve, per level: every level has the same number of steps);
* ``last_half``: that mean over the last half of the levels, where lost plasticity shows;
* ``slope``: the least-squares slope of the normalized return against the level index,
  the plasticity lost (negative) or gained per level.

Example:
    >>> floors, ceilings = [20.0, 20.0, 20.0, 20.0], [120.0, 220.0, 120.0, 120.0]
    >>> normalized = normalize_levels([120.0, 120.0, 45.0, 20.0], floors, ceilings)
    >>> normalized
    [1.0, 0.5, 0.25, 0.0]
    >>> s = level_score(normalized)
    >>> s.score, s.last_half, round(s.slope, 6)  # slope: -1.625 / 5 by least squares
    (0.4375, 0.125, -0.325)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "MIN_GAP",
    "WELL_CONDITIONED",
    "LevelScore",
    "level_means",
    "level_score",
    "normalize_levels",
    "prefix_return",
    "well_conditioned_share",
]

#: A level's ceiling must beat its floor by this share of the floor's magnitude (and by a
#: positive amount) to give a scale; a setting with a level below it is redesigned.
MIN_GAP = 0.1
#: The bounds that normalized level returns of a well-conditioned setting stay within.
WELL_CONDITIONED = (-3.0, 3.0)


@dataclass(frozen=True)
class LevelScore:
    """A run's mean normalized return, over its last half of levels, and its slope per level.

    Example:
        >>> level_score([1.0, 0.0])
        LevelScore(score=0.5, last_half=0.0, slope=-1.0)
    """

    score: float
    last_half: float
    slope: float


def level_means(runs: Sequence[Sequence[float | None]]) -> list[float]:
    """Each level's mean over runs (one list of per-level returns per seed).

    A level where a run ended no episode (``None``) is left out of that level's mean; a
    level where none did raises ValueError, since it gives no ceiling or floor.

    Example:
        >>> level_means([[10.0, None], [20.0, 4.0]])
        [15.0, 4.0]
    """
    if not runs:
        raise ValueError("level_means needs at least one run")
    n_levels = min(len(run) for run in runs)
    out = []
    for k in range(n_levels):
        values = [v for run in runs if (v := run[k]) is not None]
        if not values:
            raise ValueError(f"level {k}: no run ended an episode in it")
        out.append(float(np.mean(values)))
    return out


def normalize_levels(
    returns: Sequence[float | None], floors: Sequence[float], ceilings: Sequence[float]
) -> list[float | None]:
    """``(r_k - floor_k) / (ceiling_k - floor_k)`` per level (``None`` where ``r_k`` is).

    Raises ValueError, naming the level, where the ceiling does not beat the floor by
    :data:`MIN_GAP` of the floor's magnitude: such a level gives no scale to measure by.
    """
    if not len(returns) == len(floors) == len(ceilings):
        raise ValueError(
            f"{len(returns)} levels of returns, {len(floors)} floors, {len(ceilings)} ceilings"
        )
    out: list[float | None] = []
    for k, (r, floor, ceiling) in enumerate(zip(returns, floors, ceilings, strict=True)):
        gap = ceiling - floor
        if not gap > MIN_GAP * abs(floor) or gap <= 0:
            raise ValueError(
                f"level {k}: the oracle ({ceiling:.4g}) does not beat the random policy "
                f"({floor:.4g}) by {MIN_GAP:.0%} of its magnitude; redesign the setting "
                "(longer levels, other hyperparameters) before scoring it"
            )
        out.append(None if r is None else (r - floor) / gap)
    return out


def level_score(normalized: Sequence[float | None]) -> LevelScore:
    """Mean, last-half mean and least-squares slope of a run's normalized level returns.

    Levels without a return are left out of all three (the slope fits the levels that
    have one); a run with none has NaNs.
    """
    points = [(k, v) for k, v in enumerate(normalized) if v is not None]
    if not points:
        return LevelScore(math.nan, math.nan, math.nan)
    half = len(normalized) // 2
    late = [v for k, v in points if k >= half]
    xs = np.array([k for k, _ in points], dtype=float)
    ys = np.array([v for _, v in points], dtype=float)
    slope = float(np.polyfit(xs, ys, 1)[0]) if len(points) > 1 else math.nan
    return LevelScore(
        score=float(ys.mean()),
        last_half=float(np.mean(late)) if late else math.nan,
        slope=slope,
    )


def well_conditioned_share(normalized: Sequence[Sequence[float | None]]) -> float:
    """The share of all normalized level returns within :data:`WELL_CONDITIONED`.

    Example:
        >>> well_conditioned_share([[1.0, 0.5, None], [-4.0, 2.0]])
        0.75
    """
    values = [v for run in normalized for v in run if v is not None]
    if not values:
        return math.nan
    low, high = WELL_CONDITIONED
    return sum(low <= v <= high for v in values) / len(values)


def prefix_return(summary: Mapping[str, Any]) -> float | None:
    """A run's return over its levels: each level's time-averaged return weighted by its
    steps (levels without an episode are left out); ``None`` if no level has one.

    Example:
        >>> prefix_return({"segments": [{"start": 0, "end": 100, "mean_return": 10.0},
        ...     {"start": 100, "end": 400, "mean_return": 30.0},
        ...     {"start": 400, "end": 500, "mean_return": None}]})
        25.0
    """
    pairs = [
        (s["end"] - s["start"], s["mean_return"])
        for s in summary["segments"]
        if s["mean_return"] is not None
    ]
    steps = sum(w for w, _ in pairs)
    return sum(w * r for w, r in pairs) / steps if steps else None
