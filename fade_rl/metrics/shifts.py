"""Shift-aligned return statistics: pure functions on episode and shift records.

An environment from :mod:`fade_rl.envs` marks the first step under new values with
``info["shift"] = True`` (and counts segments in ``info["segment"]``). Given the episodes
of one environment copy (when each ended and its return) and the shifts it saw, these
functions cut the stream into segments and report, per segment:

* the return just before the shift that opened it and just after (means over ``window``
  episodes on each side),
* the steps needed after the shift to recover a share (default 90%) of a reference return
  (the pre-shift return, or the return of the last earlier segment with the same values),
* the area under the return curve: the return of the latest finished episode, held
  constant until the next one ends, integrated over the segment's steps (and that area per
  step, the time-averaged return).

All steps are on one clock (e.g. the environment copy's own step count).

Example:
    >>> episodes = [Episode(end_step=s, ret=r) for s, r in
    ...             [(100, 10.0), (200, 10.0), (300, 2.0), (400, 6.0), (500, 9.5)]]
    >>> shifts = [Shift(step=250, segment=1)]
    >>> stats = shift_statistics(episodes, shifts, window=2, recovery_window=1)
    >>> stats[1].return_before, stats[1].return_after, stats[1].recovery_steps
    (10.0, 4.0, 250)
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Hashable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

__all__ = [
    "Episode",
    "SegmentStats",
    "Shift",
    "recovery_steps",
    "return_area",
    "segment_scalars",
    "shift_statistics",
]


@dataclass(frozen=True)
class Episode:
    """One finished episode: the step at which it ended (exclusive end) and its return.

    Example:
        >>> episodes = [Episode(end_step=100, ret=10.0), Episode(end_step=300, ret=4.0, length=200)]
        >>> return_area(episodes, 0, 400)  # 10 over [100, 300), 4 over [300, 400)
        (2400.0, 8.0)
    """

    end_step: int
    ret: float
    length: int = 0


@dataclass(frozen=True)
class Shift:
    """A shift: the first step under new values, the segment it opens, those values' key.

    Example:
        >>> episodes = [Episode(100, 10.0), Episode(200, 2.0), Episode(300, 9.0)]
        >>> shifts = [Shift(150, 1, values="windy"), Shift(250, 2, values="calm")]
        >>> stats = shift_statistics(
        ...     episodes, shifts, window=1, reference="same_values", initial_values="calm"
        ... )
        >>> [s.reference_return for s in stats]  # back to "calm": segment 0's return
        [None, None, 10.0]
    """

    step: int
    segment: int
    values: Hashable = None


@dataclass(frozen=True)
class SegmentStats:
    """Statistics of one segment (segment 0 has no opening shift: its shift fields are None).

    Example:
        >>> episodes = [Episode(100, 10.0), Episode(300, 9.5)]
        >>> first, second = shift_statistics(episodes, [Shift(200, 1)], window=1)
        >>> first.return_before, second.return_before, second.return_after
        (None, 10.0, 9.5)
        >>> second.as_dict()["recovery_steps"]  # 9.5 >= 90% of 10.0 at the first episode
        100
    """

    segment: int
    start: int
    end: int
    n_episodes: int
    return_before: float | None
    return_after: float | None
    reference_return: float | None
    recovery_steps: int | None
    return_area: float | None
    mean_return: float | None

    def as_dict(self) -> dict[str, Any]:
        """The fields as a plain dict."""
        return asdict(self)


def segment_scalars(stats: SegmentStats) -> dict[str, float]:
    """A closed segment's logged statistics, by tag suffix (``shift/<suffix>``).

    Example:
        >>> segment_scalars(SegmentStats(0, 0, 10, 2, None, None, None, None, 40.0, 4.0))
        {'segment_closed': 0.0, 'return_area': 40.0, 'mean_return': 4.0}
    """
    s = stats
    scalars = {"segment_closed": float(s.segment)}
    if s.return_area is not None and s.mean_return is not None:
        scalars["return_area"] = s.return_area
        scalars["mean_return"] = s.mean_return
    if s.segment > 0:
        if s.return_before is not None:
            scalars["return_before"] = s.return_before
        if s.return_after is not None:
            scalars["return_after"] = s.return_after
        if s.reference_return is not None:
            scalars["recovered"] = float(s.recovery_steps is not None)
        if s.recovery_steps is not None:
            scalars["recovery_steps"] = float(s.recovery_steps)
    return scalars


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _in(episodes: Sequence[Episode], start: int, end: int) -> list[Episode]:
    return [e for e in episodes if start <= e.end_step < end]


def _check_positive(name: str, value: int) -> None:
    if not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def recovery_steps(
    episodes: Sequence[Episode],
    shift_step: int,
    reference: float,
    share: float = 0.9,
    window: int = 5,
    end: int | None = None,
) -> int | None:
    """Steps after ``shift_step`` until the return recovers ``share`` of ``reference``.

    The return is the mean of the last ``window`` episodes that ended after the shift (fewer
    while fewer have ended); the threshold is ``reference - (1 - share) * |reference|``
    (``share * reference`` for a positive reference, within ``1 - share`` of it below for a
    negative one). Returns the ``end_step`` of the episode at which the running mean first
    reaches it, minus ``shift_step``; ``None`` if it does not before ``end``.
    """
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"share must be in [0, 1] (0.9 for 90% recovery), got {share!r}")
    _check_positive("window", window)
    threshold = reference - (1.0 - share) * abs(reference)
    after = _in(episodes, shift_step, math.inf if end is None else end)  # type: ignore[arg-type]
    for i, episode in enumerate(after):
        recent = after[max(0, i + 1 - window) : i + 1]
        if sum(e.ret for e in recent) / len(recent) >= threshold:
            return episode.end_step - shift_step
    return None


def return_area(episodes: Sequence[Episode], start: int, end: int) -> tuple[float, float] | None:
    """Area under the return curve over ``[start, end)`` and that area per step.

    The curve is the return of the latest episode that ended in the segment, held until
    the next one ends (and the last one until ``end``); it starts at the first episode end
    in the segment. Returns ``(area, area / (end - first_end))``, or ``None`` when no
    episode ended in ``[start, end)``.
    """
    if end <= start:
        raise ValueError(f"return_area needs end > start, got start={start}, end={end}")
    inside = _in(episodes, start, end)
    if not inside:
        return None
    ends = [e.end_step for e in inside[1:]] + [end]
    area = sum(e.ret * (nxt - e.end_step) for e, nxt in zip(inside, ends, strict=True))
    span = end - inside[0].end_step
    return float(area), float(area / span) if span > 0 else float(inside[-1].ret)


def shift_statistics(
    episodes: Sequence[Episode],
    shifts: Sequence[Shift],
    share: float = 0.9,
    window: int = 10,
    recovery_window: int = 5,
    reference: Literal["previous", "same_values"] = "previous",
    start: int = 0,
    end: int | None = None,
    initial_values: Hashable = None,
) -> list[SegmentStats]:
    """Per-segment statistics of one stream of episodes cut at ``shifts``.

    Args:
        episodes: finished episodes in the order they ended.
        shifts: the shifts in the order they happened (steps increasing).
        share: the share of the reference return that counts as recovered.
        window: episodes averaged on each side of a shift for ``return_before/after``,
            and at the end of a segment for the ``same_values`` reference.
        recovery_window: episodes in the running mean tested by :func:`recovery_steps`.
        reference: what a segment must recover: ``"previous"``, the return just before its
            shift; ``"same_values"``, the return at the end of the last earlier segment whose
            shift carried the same ``values`` (segment 0 has ``initial_values``); ``None``
            when there is none. Use
            ``"same_values"`` when a shift changes what a good return is (a reward flip).
        start: first step of segment 0.
        end: end of the last segment (default: the last episode's end step + 1).
        initial_values: the ``values`` key of segment 0 (for ``"same_values"``).
    """
    if reference not in ("previous", "same_values"):
        raise ValueError(f"reference must be 'previous' or 'same_values', got {reference!r}")
    _check_positive("window", window)
    steps = [s.step for s in shifts]
    if any(b < a for a, b in itertools.pairwise(steps)):
        raise ValueError("shifts must be in the order they happened (steps non-decreasing)")
    if end is None:
        end = max([e.end_step + 1 for e in episodes] + [*steps, start + 1])
    bounds = [start, *steps, end]
    values: list[Hashable] = [initial_values, *(s.values for s in shifts)]
    last_returns: list[float | None] = []
    out = []
    for k in range(len(bounds) - 1):
        seg_start, seg_end = bounds[k], bounds[k + 1]
        inside = _in(episodes, seg_start, seg_end)
        area = return_area(episodes, seg_start, seg_end) if seg_end > seg_start else None
        before = after = ref = None
        recovered = None
        if k > 0:
            prev = _in(episodes, bounds[k - 1], seg_start)
            before = _mean([e.ret for e in prev[-window:]])
            after = _mean([e.ret for e in inside[:window]])
            if reference == "previous":
                ref = before
            else:
                same = [j for j in range(k) if values[j] == values[k] and values[k] is not None]
                ref = last_returns[same[-1]] if same else None
            if ref is not None:
                recovered = recovery_steps(
                    episodes, seg_start, ref, share=share, window=recovery_window, end=seg_end
                )
        last_returns.append(_mean([e.ret for e in inside[-window:]]))
        out.append(
            SegmentStats(
                segment=shifts[k - 1].segment if k > 0 else 0,
                start=seg_start,
                end=seg_end,
                n_episodes=len(inside),
                return_before=before,
                return_after=after,
                reference_return=ref,
                recovery_steps=recovered,
                return_area=None if area is None else area[0],
                mean_return=None if area is None else area[1],
            )
        )
    return out
