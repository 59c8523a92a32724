"""Reward shift: the reward is scaled, offset and sign-flipped on schedules."""

from __future__ import annotations

import gymnasium as gym

from fade_rl.envs.core import ScheduledWrapper
from fade_rl.envs.schedules import Schedule, ScheduleLike, make_schedule
from fade_rl.envs.schedules.base import switching_values

__all__ = ["RewardShift", "check_sign_schedule"]


def check_sign_schedule(schedule: Schedule, where: str) -> None:
    """Reject a ``sign`` schedule that can take a value other than +1 or -1.

    Example:
        >>> from fade_rl.envs.reward import check_sign_schedule
        >>> from fade_rl.envs.schedules import Constant, PeriodicSwitch
        >>> check_sign_schedule(PeriodicSwitch([1.0, -1.0], period=10), "RewardShift")
        >>> check_sign_schedule(Constant(0.5), "RewardShift")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: RewardShift: sign values must be +1 or -1, got [0.5]; use scale for ...
    """
    values = switching_values(
        schedule,
        f"{where}: sign takes a schedule of +1/-1 values",
        "; use scale for gradual change",
    )
    bad = [v for v in values if v not in (1.0, -1.0)]
    if bad:
        raise ValueError(
            f"{where}: sign values must be +1 or -1, got {bad}; use scale for other factors."
        )


class RewardShift(ScheduledWrapper, gym.utils.RecordConstructorArgs):
    """Shift the reward on schedules: ``reward' = sign(t) * scale(t) * reward + offset(t)``.

    ``t`` is the step count of this environment copy (see :mod:`fade_rl.envs.core` for the
    clock, seeding and the ``info`` keys: ``info["unshifted_reward"]`` keeps the original).
    Each argument is a number, a schedule config dict or a
    :class:`~fade_rl.envs.schedules.Schedule`; configs are recorded in ``env.spec``.

    Example:
        >>> import gymnasium as gym
        >>> from fade_rl.envs import RewardShift
        >>> env = RewardShift(gym.make("CartPole-v1"),
        ...                   sign={"type": "piecewise", "boundaries": [2], "values": [1, -1]})
        >>> _ = env.reset(seed=0)
        >>> [env.step(0)[1] for _ in range(3)]
        [1.0, 1.0, -1.0]
        >>> _, _, _, _, info = env.step(0)
        >>> info["unshifted_reward"], info["shift_values"]["reward.sign"], info["segment"]
        (1.0, -1.0, 1)

    Args:
        env: the environment to wrap.
        scale: factor on the reward (default 1).
        offset: added after scaling (default 0).
        sign: +1 or -1; a schedule of these (constant, piecewise, periodic, random_switch).
    """

    kind = "reward"
    maps_reward = True

    def __init__(
        self,
        env: gym.Env,
        scale: ScheduleLike = 1.0,
        offset: ScheduleLike = 0.0,
        sign: ScheduleLike = 1.0,
    ) -> None:
        schedules = {
            "scale": make_schedule(scale, "RewardShift scale"),
            "offset": make_schedule(offset, "RewardShift offset"),
            "sign": make_schedule(sign, "RewardShift sign"),
        }
        check_sign_schedule(schedules["sign"], "RewardShift")
        gym.utils.RecordConstructorArgs.__init__(
            self,
            scale=schedules["scale"].to_config(),
            offset=schedules["offset"].to_config(),
            sign=schedules["sign"].to_config(),
        )
        ScheduledWrapper.__init__(self, env, schedules)

    def _apply(self, values: dict[str, float], t: int) -> None:
        self._reward_factor = values["sign"] * values["scale"]
        self._reward_offset = values["offset"]
