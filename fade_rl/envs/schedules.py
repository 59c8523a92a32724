"""Schedules: a value for every step of an environment's own clock.

A schedule maps the step count ``t`` of one environment copy (0 for the first step after a
seeded reset, counting on across episode ends) to a float. Shift wrappers read their
parameters from schedules, so the same few classes describe every kind of change.

Every schedule answers three questions about step ``t``:

* :meth:`Schedule.value` -- the value in force on step ``t``;
* :meth:`Schedule.segment` -- the index of the piece ``t`` falls in. Discrete changes (a
  piecewise boundary, a switch, a random-walk move) start a new segment; continuous
  schedules (linear drift, sinusoid) stay in segment 0, so they never mark a shift;
* :meth:`Schedule.next_change` -- the first step after ``t`` on which value or segment may
  differ. Wrappers use it to skip work on steps where nothing changes.

Every schedule has a JSON-able config form (:meth:`Schedule.to_config`,
:func:`make_schedule`), so environment specs that hold schedules stay serializable.

Example:
    >>> from fade_rl.envs.schedules import make_schedule
    >>> s = make_schedule({"type": "piecewise", "boundaries": [100, 200], "values": [1, -1, 2]})
    >>> [s.value(t) for t in (0, 99, 100, 199, 200)]
    [1.0, 1.0, -1.0, -1.0, 2.0]
    >>> [s.segment(t) for t in (0, 100, 200)]
    [0, 1, 2]
    >>> make_schedule(3.0).to_config()
    {'type': 'constant', 'value': 3.0}
"""

from __future__ import annotations

import bisect
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

__all__ = [
    "NEVER",
    "Constant",
    "LinearDrift",
    "PeriodicSwitch",
    "Piecewise",
    "RandomSwitch",
    "RandomWalk",
    "Schedule",
    "ScheduleLike",
    "Sinusoid",
    "make_schedule",
]

#: ``next_change`` of a schedule that never changes again.
NEVER = 2**62


def _as_float(name: str, value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{where}: {name} must be a number, got {value!r}.")
    out = float(value)
    if not math.isfinite(out):
        raise ValueError(f"{where}: {name} must be finite, got {value!r}.")
    return out


def _as_int(name: str, value: Any, where: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{where}: {name} must be an integer, got {value!r}.")
    if value < minimum:
        raise ValueError(f"{where}: {name} must be >= {minimum}, got {value}.")
    return int(value)


def _as_values(value: Any, where: str, min_len: int) -> tuple[float, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(f"{where}: values must be a list of numbers, got {value!r}.")
    if len(value) < min_len:
        raise ValueError(
            f"{where}: values needs at least {min_len} entr{'y' if min_len == 1 else 'ies'}, "
            f"got {len(value)}."
        )
    return tuple(_as_float(f"values[{i}]", v, where) for i, v in enumerate(value))


class Schedule(ABC):
    """A value indexed by an environment's own step count.

    Subclasses set ``type_name`` (the ``"type"`` key of the config form) and implement
    :meth:`value`, :meth:`segment`, :meth:`next_change` and :meth:`to_config`. Calling a
    schedule is :meth:`value`; two schedules are equal when their configs are.

    Example:
        A schedule that doubles every 10 steps (each doubling is a discrete change, so it
        starts a new segment); the wrappers accept it wherever they accept a schedule:

        >>> from fade_rl.envs.schedules import Schedule
        >>> class Doubling(Schedule):
        ...     type_name = "doubling"
        ...     def value(self, t):
        ...         return 2.0 ** (t // 10)
        ...     def segment(self, t):
        ...         return t // 10
        ...     def next_change(self, t):
        ...         return (t // 10 + 1) * 10
        ...     def to_config(self):
        ...         return {"type": self.type_name}
        >>> s = Doubling()
        >>> [s(t) for t in (0, 9, 10, 25)]
        [1.0, 1.0, 2.0, 4.0]
        >>> s.segment(25), s.next_change(25), s
        (2, 30, Doubling())
    """

    type_name: ClassVar[str]
    #: True for schedules that draw random numbers; the wrappers reseed these on seeded resets.
    is_random: ClassVar[bool] = False

    @abstractmethod
    def value(self, t: int) -> float:
        """The value in force on step ``t`` (``t >= 0``)."""

    def segment(self, t: int) -> int:
        """Index of the piece step ``t`` falls in; a new index marks a discrete change."""
        return 0

    def next_change(self, t: int) -> int:
        """First step after ``t`` on which :meth:`value` or :meth:`segment` may differ."""
        return t + 1

    @abstractmethod
    def to_config(self) -> dict[str, Any]:
        """A JSON-able dict that :func:`make_schedule` turns back into an equal schedule."""

    def reseed(self, seed: int | None) -> None:  # noqa: B027 - deterministic schedules ignore it
        """Restart the random process (random schedules only; others ignore it)."""

    def bounds(self) -> tuple[float, float]:
        """The smallest interval that holds every value this schedule can take."""
        return (-math.inf, math.inf)

    def __call__(self, t: int) -> float:
        return self.value(t)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Schedule) and self.to_config() == other.to_config()

    def __hash__(self) -> int:
        return hash(repr(sorted(self.to_config().items())))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.to_config().items() if k != "type")
        return f"{type(self).__name__}({args})"


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
        return {
            "type": self.type_name,
            "boundaries": list(self.boundaries),
            "values": list(self.values),
        }


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
        return {"type": self.type_name, "values": list(self.values), "period": self.period}


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
        return {
            "type": self.type_name,
            "start": self.start,
            "end": self.end,
            "duration": self.duration,
            "delay": self.delay,
        }


class Sinusoid(Schedule):
    """``mean + amplitude * sin(2 * pi * t / period + phase)``.

    A continuous change: it stays in segment 0, so it never marks a shift.

    Example:
        >>> from fade_rl.envs.schedules import Sinusoid
        >>> s = Sinusoid(mean=1.0, amplitude=0.5, period=4)
        >>> [round(s.value(t), 6) for t in range(5)]
        [1.0, 1.5, 1.0, 0.5, 1.0]
        >>> s.segment(3), s.bounds()
        (0, (0.5, 1.5))
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
        return {
            "type": self.type_name,
            "mean": self.mean,
            "amplitude": self.amplitude,
            "period": self.period,
            "phase": self.phase,
        }


class _RandomSchedule(Schedule):
    """Shared machinery: a sequence of per-segment values drawn lazily from a seeded generator.

    ``seed=None`` means "seed me from the environment": the wrappers call :meth:`reseed` with a
    seed derived from ``reset(seed=...)``. A fixed integer ``seed`` pins the path regardless
    of the environment seed. Values are cached per segment, so asking for step ``t`` costs
    memory proportional to ``t / every``.
    """

    is_random = True

    def __init__(self, every: int, seed: int | None, where: str) -> None:
        self.every = _as_int("every", every, where, 1)
        if seed is not None:
            seed = _as_int("seed", seed, where, 0)
        self.seed = seed
        self.reseed(None)

    def reseed(self, seed: int | None) -> None:
        """Restart the path: from ``self.seed`` if fixed, else from ``seed`` (None: entropy)."""
        use = self.seed if self.seed is not None else seed
        self._rng = np.random.default_rng(use)
        self._path: list[float] = [self._first()]

    def _first(self) -> float:
        raise NotImplementedError

    def _next(self, previous: float) -> float:
        raise NotImplementedError

    def segment(self, t: int) -> int:
        return t // self.every

    def value(self, t: int) -> float:
        k = t // self.every
        path = self._path
        while len(path) <= k:
            path.append(self._next(path[-1]))
        return path[k]

    def next_change(self, t: int) -> int:
        return (t // self.every + 1) * self.every


class RandomWalk(_RandomSchedule):
    """A Gaussian random walk that moves every ``every`` steps, clipped to ``[low, high]``.

    Starts at ``start``; each move adds ``Normal(0, std)``. ``low``/``high`` of ``None`` mean
    unbounded. See :class:`_RandomSchedule` for how ``seed`` works.

    Example:
        Each value holds for ``every`` steps; every move starts a new segment; the same
        seed gives the same path:

        >>> from fade_rl.envs.schedules import RandomWalk
        >>> s = RandomWalk(start=0.0, std=1.0, every=2, low=-1.0, high=1.0, seed=0)
        >>> [round(s.value(t), 3) for t in range(8)]
        [0.0, 0.0, 0.126, 0.126, -0.006, -0.006, 0.634, 0.634]
        >>> [s.segment(t) for t in range(8)]
        [0, 0, 1, 1, 2, 2, 3, 3]
        >>> again = RandomWalk(start=0.0, std=1.0, every=2, low=-1.0, high=1.0, seed=0)
        >>> again.value(7) == s.value(7)
        True
        >>> big_steps = RandomWalk(start=0.0, std=100.0, low=-1.0, high=1.0, seed=0)
        >>> [big_steps.value(t) for t in range(6)]  # clipped to [low, high]
        [0.0, 1.0, -1.0, 1.0, 1.0, -1.0]
    """

    type_name = "random_walk"

    def __init__(
        self,
        start: float,
        std: float,
        every: int = 1,
        low: float | None = None,
        high: float | None = None,
        seed: int | None = None,
    ) -> None:
        where = "RandomWalk"
        self.start = _as_float("start", start, where)
        self.std = _as_float("std", std, where)
        if self.std < 0:
            raise ValueError(f"{where}: std must be >= 0, got {std}.")
        self.low = None if low is None else _as_float("low", low, where)
        self.high = None if high is None else _as_float("high", high, where)
        lo = -math.inf if self.low is None else self.low
        hi = math.inf if self.high is None else self.high
        if not lo <= self.start <= hi:
            raise ValueError(f"{where}: start={self.start} must lie in [low, high] = [{lo}, {hi}].")
        self._lo, self._hi = lo, hi
        super().__init__(every, seed, where)

    def _first(self) -> float:
        return self.start

    def _next(self, previous: float) -> float:
        moved = previous + self.std * float(self._rng.standard_normal())
        return min(max(moved, self._lo), self._hi)

    def bounds(self) -> tuple[float, float]:
        return (self._lo, self._hi)

    def to_config(self) -> dict[str, Any]:
        return {
            "type": self.type_name,
            "start": self.start,
            "std": self.std,
            "every": self.every,
            "low": self.low,
            "high": self.high,
            "seed": self.seed,
        }


class RandomSwitch(_RandomSchedule):
    """``values[0]`` for the first ``every`` steps, then every ``every`` steps a value drawn
    uniformly from the *other* entries of ``values`` (so every switch is a real change).
    See :class:`_RandomSchedule` for how ``seed`` works.

    Example:
        >>> from fade_rl.envs.schedules import RandomSwitch
        >>> s = RandomSwitch(values=[1.0, 2.0, 3.0], every=2, seed=0)
        >>> [s.value(t) for t in range(10)]
        [1.0, 1.0, 3.0, 3.0, 2.0, 2.0, 3.0, 3.0, 1.0, 1.0]
        >>> [s.segment(t) for t in range(0, 10, 2)], s.next_change(5)
        ([0, 1, 2, 3, 4], 6)
    """

    type_name = "random_switch"

    def __init__(self, values: Sequence[float], every: int, seed: int | None = None) -> None:
        self.values = _as_values(values, "RandomSwitch", 2)
        if len(set(self.values)) != len(self.values):
            raise ValueError(f"RandomSwitch: values must be distinct, got {list(self.values)}.")
        super().__init__(every, seed, "RandomSwitch")

    def _first(self) -> float:
        return self.values[0]

    def _next(self, previous: float) -> float:
        i = self.values.index(previous)
        j = int(self._rng.integers(len(self.values) - 1))
        return self.values[j + (j >= i)]

    def bounds(self) -> tuple[float, float]:
        return (min(self.values), max(self.values))

    def to_config(self) -> dict[str, Any]:
        return {
            "type": self.type_name,
            "values": list(self.values),
            "every": self.every,
            "seed": self.seed,
        }


_TYPES: dict[str, type[Schedule]] = {
    cls.type_name: cls
    for cls in (
        Constant,
        Piecewise,
        PeriodicSwitch,
        LinearDrift,
        Sinusoid,
        RandomWalk,
        RandomSwitch,
    )
}

#: What the wrappers accept wherever a schedule is expected.
ScheduleLike = Schedule | float | int | Mapping[str, Any]


def make_schedule(spec: ScheduleLike, name: str = "schedule") -> Schedule:
    """Build a schedule from a number (constant), a config dict or a schedule (returned as is).

    Args:
        spec: ``2.0``, ``{"type": "periodic", "values": [1, -1], "period": 1000}``, or a
            :class:`Schedule`. Config types: ``constant``, ``piecewise``, ``periodic``,
            ``linear``, ``sinusoid``, ``random_walk``, ``random_switch``; the other keys are
            the constructor arguments of the matching class.
        name: what the caller calls this schedule, used in error messages.

    Raises:
        TypeError, ValueError: with a message naming the problem and the accepted forms.
    """
    if isinstance(spec, Schedule):
        return spec
    if isinstance(spec, (int, float, np.integer, np.floating)) and not isinstance(spec, bool):
        return Constant(float(spec))
    if isinstance(spec, Mapping):
        kwargs = dict(spec)
        kind = kwargs.pop("type", None)
        if kind not in _TYPES:
            raise ValueError(
                f"{name}: unknown schedule type {kind!r}; use one of {sorted(_TYPES)} "
                f'as the "type" key, e.g. {{"type": "constant", "value": 1.0}}.'
            )
        try:
            return _TYPES[kind](**kwargs)
        except TypeError as e:
            if "argument" not in str(e):
                raise
            raise TypeError(f"{name}: bad keys for a {kind!r} schedule: {e}") from e
    raise TypeError(
        f"{name}: expected a number, a schedule config dict or a Schedule, got {spec!r}."
    )
