"""Deterministic schedules: the same value for the same step, whatever the seed.

:class:`Constant`, :class:`Piecewise` and :class:`PeriodicSwitch` change in discrete steps
(each piece a new segment); :class:`LinearDrift` and :class:`Sinusoid` change continuously
and stay in segment 0.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from typing import Any

from fade_rl.envs.schedules.base import NEVER, Schedule, _as_float, _as_int, _as_values, _config

__all__ = ["Constant", "LinearDrift", "PeriodicSwitch", "Piecewise", "Sinusoid"]


class Constant(Schedule):
    """The same value on every step (a plain number given as a schedule becomes one).

    Example:
        >>> from fade_rl.envs.schedules import NEVER, Constant
        >>> s = Constant(2.5)
        >>> s.value(0), s.value(10**6), s.segment(10**6), s.next_change(0) == NEVER
        (2.5, 2.5, 0, True)
        >>> s.to_config()
        {'type': 'constant', 'value': 2.5}
    """

    type_name = "constant"

    def __init__(self, value: float) -> None:
        self._value = _as_float("value", value, "Constant")

    def value(self, t: int) -> float:
        return self._value

    def next_change(self, t: int) -> int:
        return NEVER

    def bounds(self) -> tuple[float, float]:
        return (self._value, self._value)

    def to_config(self) -> dict[str, Any]:
        return {"type": self.type_name, "value": self._value}


class Piecewise(Schedule):
    """``values[i]`` on steps ``boundaries[i-1] <= t < boundaries[i]``.

    Example:
        >>> from fade_rl.envs.schedules import Piecewise
        >>> s = Piecewise(boundaries=[100, 200], values=[1.0, -1.0, 2.0])
        >>> [s.value(t) for t in (0, 99, 100, 199, 200)]
        [1.0, 1.0, -1.0, -1.0, 2.0]
        >>> [s.segment(t) for t in (0, 100, 200)], s.next_change(150)
        ([0, 1, 2], 200)

    Args:
        boundaries: strictly increasing steps ``> 0`` at which the value changes.
        values: one more value than boundaries.
    """

    type_name = "piecewise"

    def __init__(self, boundaries: Sequence[int], values: Sequence[float]) -> None:
        where = "Piecewise"
        if isinstance(boundaries, (str, bytes)) or not isinstance(boundaries, Sequence):
            raise TypeError(f"{where}: boundaries must be a list of steps, got {boundaries!r}.")
        self.boundaries = tuple(
            _as_int(f"boundaries[{i}]", b, where, 1) for i, b in enumerate(boundaries)
        )
        if any(a >= b for a, b in zip(self.boundaries, self.boundaries[1:], strict=False)):
            raise ValueError(
                f"{where}: boundaries must be strictly increasing, got {list(self.boundaries)}."
            )
        self.values = _as_values(values, where, 1)
        if len(self.values) != len(self.boundaries) + 1:
            raise ValueError(
                f"{where}: needs len(values) == len(boundaries) + 1, got {len(self.values)} "
                f"values for {len(self.boundaries)} boundaries."
            )

    def segment(self, t: int) -> int:
        return bisect.bisect_right(self.boundaries, t)

    def value(self, t: int) -> float:
        return self.values[bisect.bisect_right(self.boundaries, t)]

    def next_change(self, t: int) -> int:
        i = bisect.bisect_right(self.boundaries, t)
        return self.boundaries[i] if i < len(self.boundaries) else NEVER

    def bounds(self) -> tuple[float, float]:
        return (min(self.values), max(self.values))

    def to_config(self) -> dict[str, Any]:
        return _config(self, "boundaries", "values")


class PeriodicSwitch(Schedule):
    """Cycle through ``values``, holding each ``period`` steps: ``values[(t // period) % n]``.

    Every switch starts a new segment, also when the cycle comes back to a value.

    Example:
        >>> from fade_rl.envs.schedules import PeriodicSwitch
        >>> s = PeriodicSwitch(values=[1.0, -1.0], period=3)
        >>> [s.value(t) for t in range(7)]
        [1.0, 1.0, 1.0, -1.0, -1.0, -1.0, 1.0]
        >>> [s.segment(t) for t in range(7)], s.next_change(4)
        ([0, 0, 0, 1, 1, 1, 2], 6)
    """

    type_name = "periodic"

    def __init__(self, values: Sequence[float], period: int) -> None:
        self.values = _as_values(values, "PeriodicSwitch", 1)
        self.period = _as_int("period", period, "PeriodicSwitch", 1)

    def segment(self, t: int) -> int:
        return t // self.period

    def value(self, t: int) -> float:
        return self.values[(t // self.period) % len(self.values)]

    def next_change(self, t: int) -> int:
        return (t // self.period + 1) * self.period

    def bounds(self) -> tuple[float, float]:
        return (min(self.values), max(self.values))

    def to_config(self) -> dict[str, Any]:
        return _config(self, "values", "period")


class LinearDrift(Schedule):
    """``start`` until step ``delay``, then a straight line reaching ``end`` after ``duration``
    more steps, then ``end`` for ever:
    ``start + (end - start) * clip((t - delay) / duration, 0, 1)``.

    A continuous change: it stays in segment 0, so it never marks a shift.

    Example:
        >>> from fade_rl.envs.schedules import LinearDrift
        >>> s = LinearDrift(start=1.0, end=2.0, duration=100, delay=50)
        >>> [s.value(t) for t in (0, 50, 75, 100, 150, 1000)]
        [1.0, 1.0, 1.25, 1.5, 2.0, 2.0]
        >>> s.segment(1000), s.bounds()
        (0, (1.0, 2.0))
    """

    type_name = "linear"

    def __init__(self, start: float, end: float, duration: int, delay: int = 0) -> None:
        self.start = _as_float("start", start, "LinearDrift")
        self.end = _as_float("end", end, "LinearDrift")
        self.duration = _as_int("duration", duration, "LinearDrift", 1)
        self.delay = _as_int("delay", delay, "LinearDrift", 0)

    def value(self, t: int) -> float:
        frac = (t - self.delay) / self.duration
        if frac <= 0.0:
            return self.start
        if frac >= 1.0:
            return self.end
        return self.start + (self.end - self.start) * frac

    def next_change(self, t: int) -> int:
        if t < self.delay:
            return self.delay + 1
        return t + 1 if t < self.delay + self.duration else NEVER

    def bounds(self) -> tuple[float, float]:
        return (min(self.start, self.end), max(self.start, self.end))

    def to_config(self) -> dict[str, Any]:
        return _config(self, "start", "end", "duration", "delay")


class Sinusoid(Schedule):
    """``mean + amplitude * sin(2 * pi * t / period + phase)``.

    A continuous change: it stays in segment 0, so it never marks a shift.

    Example:
        >>> import math
        >>> from fade_rl.envs.schedules import Sinusoid
        >>> s = Sinusoid(mean=1.0, amplitude=0.5, period=4)
        >>> [round(s.value(t), 6) for t in range(5)]
        [1.0, 1.5, 1.0, 0.5, 1.0]

        A phase of pi / 2 starts a quarter period on; the segment stays 0:

        >>> later = Sinusoid(mean=1.0, amplitude=0.5, period=4, phase=math.pi / 2)
        >>> [round(later.value(t), 6) for t in range(4)], later.segment(3)
        ([1.5, 1.0, 0.5, 1.0], 0)
    """

    type_name = "sinusoid"

    def __init__(self, mean: float, amplitude: float, period: int, phase: float = 0.0) -> None:
        self.mean = _as_float("mean", mean, "Sinusoid")
        self.amplitude = _as_float("amplitude", amplitude, "Sinusoid")
        self.period = _as_int("period", period, "Sinusoid", 1)
        self.phase = _as_float("phase", phase, "Sinusoid")
        self._omega = 2.0 * math.pi / self.period

    def value(self, t: int) -> float:
        return self.mean + self.amplitude * math.sin(self._omega * t + self.phase)

    def bounds(self) -> tuple[float, float]:
        a = abs(self.amplitude)
        return (self.mean - a, self.mean + a)

    def to_config(self) -> dict[str, Any]:
        return _config(self, "mean", "amplitude", "period", "phase")
