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

The classes live in :mod:`~fade_rl.envs.schedules.base` (the :class:`Schedule` interface),
:mod:`~fade_rl.envs.schedules.deterministic`, :mod:`~fade_rl.envs.schedules.stochastic`
(seeded random paths) and :mod:`~fade_rl.envs.schedules.parsing` (:func:`make_schedule`);
import them from here.

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

from fade_rl.envs.schedules.base import NEVER, Schedule
from fade_rl.envs.schedules.deterministic import (
    Constant,
    LinearDrift,
    PeriodicSwitch,
    Piecewise,
    Sinusoid,
)
from fade_rl.envs.schedules.parsing import ScheduleLike, make_schedule
from fade_rl.envs.schedules.stochastic import RandomSwitch, RandomWalk

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
