"""Random schedules: a path of per-segment values drawn from a seeded generator.

With ``seed=None`` the wrappers reseed them from ``reset(seed=...)``, so one environment
seed gives one path; a fixed ``seed`` pins the path whatever the environment seed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from fade_rl.envs.schedules.base import Schedule, _as_float, _as_int, _as_values, _config

__all__ = ["RandomSwitch", "RandomWalk"]


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
        return _config(self, "start", "std", "every", "low", "high", "seed")


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
        return _config(self, "values", "every", "seed")
