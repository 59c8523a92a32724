"""The :class:`Schedule` interface and the argument checks every schedule shares.

See :mod:`fade_rl.envs.schedules` for what ``value``, ``segment`` and ``next_change`` mean.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

__all__ = ["NEVER", "Schedule"]

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


def _config(schedule: Schedule, *keys: str) -> dict[str, Any]:
    """A schedule's config form: its type, then its attributes ``keys`` (tuples as lists)."""
    config: dict[str, Any] = {"type": schedule.type_name}
    for key in keys:
        value = getattr(schedule, key)
        config[key] = list(value) if isinstance(value, tuple) else value
    return config


def switching_values(schedule: Schedule, takes: str, hint: str = "") -> tuple[float, ...]:
    """Every value a schedule of discrete switches can take, or a ValueError for another kind.

    Constant, piecewise, periodic and random_switch schedules take a fixed list of values;
    drifts and walks do not. ``takes`` opens the error (what the parameter takes) and
    ``hint`` closes it.

    Example:
        >>> from fade_rl.envs.schedules import Constant, LinearDrift, PeriodicSwitch
        >>> from fade_rl.envs.schedules.base import switching_values
        >>> switching_values(PeriodicSwitch([1.0, -1.0], period=10), "sign takes +1/-1")
        (1.0, -1.0)
        >>> switching_values(Constant(2.0), "sign takes +1/-1")
        (2.0,)
        >>> switching_values(LinearDrift(0.0, 1.0, 10), "X: sign takes +1/-1")
        Traceback (most recent call last):
        ...
        ValueError: X: sign takes +1/-1 (constant, piecewise, ...), got a 'linear' schedule.
    """
    values = getattr(schedule, "values", None)
    if values is None and schedule.type_name == "constant":
        values = (schedule.value(0),)
    if values is None:
        raise ValueError(
            f"{takes} (constant, piecewise, periodic or random_switch), got a "
            f"{schedule.type_name!r} schedule{hint}."
        )
    return tuple(values)


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
