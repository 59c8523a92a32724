"""The :class:`DynamicsShift` wrapper: physical parameters on schedules."""

from __future__ import annotations

import math
from collections.abc import Mapping

import gymnasium as gym

from fade_rl.envs.core import ScheduledWrapper
from fade_rl.envs.dynamics.registry import adapter_for
from fade_rl.envs.schedules import ScheduleLike, make_schedule

__all__ = ["DynamicsShift"]


class DynamicsShift(ScheduledWrapper, gym.utils.RecordConstructorArgs):
    """Change physical parameters of the environment on schedules.

    Values are written into the unwrapped environment before the step that uses them
    (after ``reset`` too), so the same state and action give a different next state once a
    parameter has changed. See the module docstring for each family's parameters and
    :mod:`fade_rl.envs.core` for the clock, seeding and ``info`` keys
    (``info["shift_values"]["dynamics.<name>"]``).

    Example:
        >>> import gymnasium as gym
        >>> from fade_rl.envs import DynamicsShift
        >>> gravity = {"type": "periodic", "values": [9.8, 20.0], "period": 2}
        >>> env = DynamicsShift(gym.make("CartPole-v1"), {"gravity": gravity})
        >>> _ = env.reset(seed=0)
        >>> [round(env.step(1)[4]["shift_values"]["dynamics.gravity"], 1) for _ in range(4)]
        [9.8, 9.8, 20.0, 20.0]
        >>> env.unwrapped.gravity
        20.0

    Args:
        env: an environment of a supported family (any wrappers around it are fine).
        params: parameter name -> number, schedule config dict or Schedule.
    """

    kind = "dynamics"

    def __init__(self, env: gym.Env, params: Mapping[str, ScheduleLike]) -> None:
        adapter = adapter_for(env)
        valid = ", ".join(sorted(adapter.parameters))
        if not isinstance(params, Mapping) or not params:
            raise ValueError(
                f"DynamicsShift: params must be a non-empty dict of parameter -> schedule; "
                f"{adapter.family} has: {valid}."
            )
        schedules = {}
        for name, spec in params.items():
            if name not in adapter.parameters:
                raise ValueError(
                    f"DynamicsShift: {name!r} is not a dynamics parameter of "
                    f"{adapter.family}; valid parameters: {valid}."
                )
            schedule = make_schedule(spec, f"DynamicsShift {name}")
            floor = adapter.parameters[name]
            low, _ = schedule.bounds()
            if floor is not None and not low > floor:
                shown = "-inf" if math.isinf(low) else low
                raise ValueError(
                    f"DynamicsShift: {adapter.family} {name} must stay > {floor}, but its "
                    f"schedule can reach {shown}; bound it (e.g. random_walk low=...)."
                )
            schedules[name] = schedule
        gym.utils.RecordConstructorArgs.__init__(
            self, params={name: s.to_config() for name, s in schedules.items()}
        )
        self.adapter = adapter
        ScheduledWrapper.__init__(self, env, schedules)

    def _apply(self, values: dict[str, float], t: int) -> None:
        self.adapter.apply(values)
