"""Turn the accepted schedule forms (number, config dict, Schedule) into a :class:`Schedule`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from fade_rl.envs.schedules.base import Schedule
from fade_rl.envs.schedules.deterministic import (
    Constant,
    LinearDrift,
    PeriodicSwitch,
    Piecewise,
    Sinusoid,
)
from fade_rl.envs.schedules.stochastic import RandomSwitch, RandomWalk

__all__ = ["ScheduleLike", "make_schedule"]

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

    Example:
        >>> from fade_rl.envs.schedules import make_schedule
        >>> make_schedule(2.0)
        Constant(value=2.0)
        >>> make_schedule({"type": "periodic", "values": [1, -1], "period": 1000})
        PeriodicSwitch(values=[1.0, -1.0], period=1000)
        >>> make_schedule({"type": "step", "value": 1.0}, name="reward sign")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: reward sign: unknown schedule type 'step'; use one of ['constant', ...
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
