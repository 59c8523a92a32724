"""Action shift: permuted discrete actions, or sign and scale of Box actions, on schedules."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from fade_rl.envs.core import (
    Permutations,
    PermutationSchedule,
    ScheduledWrapper,
    check_permutation_args,
    derive_seed,
    permutations_config,
)
from fade_rl.envs.reward import check_sign_schedule
from fade_rl.envs.schedules import ScheduleLike, make_schedule

__all__ = ["ActionShift"]


class ActionShift(ScheduledWrapper, gym.utils.RecordConstructorArgs):
    """Shift what the agent's actions do.

    * ``Discrete`` actions: action ``a`` becomes ``perm(t)[a]``. The permutation is the
      identity for the first ``permute_every`` steps, then a fresh random one (different
      from the last) every ``permute_every`` steps; or it cycles through ``permutations``.
    * ``Box`` actions: ``a' = clip(sign(t) * scale(t) * a, low, high)``.

    The action space is unchanged. See :mod:`fade_rl.envs.core` for the clock, seeding and
    ``info`` keys (``"action.permutation"`` as a tuple, or ``"action.sign"`` and
    ``"action.scale"``, in ``info["shift_values"]``).

    Example:
        >>> import gymnasium as gym
        >>> from fade_rl.envs import ActionShift
        >>> env = ActionShift(gym.make("CartPole-v1"), permutations=[[1, 0]])
        >>> raw = gym.make("CartPole-v1")
        >>> _ = env.reset(seed=0), raw.reset(seed=0)
        >>> bool((env.step(0)[0] == raw.step(1)[0]).all())
        True

    Args:
        env: an environment with Discrete or Box actions.
        permute_every: Discrete only: steps between permutation changes (``None``: never).
        permutations: Discrete only: explicit permutations of the actions to cycle through.
        sign: Box only: +1 or -1, or a schedule of these.
        scale: Box only: factor on the action (number, schedule config dict or Schedule).
        seed: seed of the permutation draws; ``None`` derives it from ``reset(seed=...)``.
    """

    kind = "action"
    maps_action = True

    def __init__(
        self,
        env: gym.Env,
        permute_every: int | None = None,
        permutations: list[list[int]] | None = None,
        sign: ScheduleLike = 1.0,
        scale: ScheduleLike = 1.0,
        seed: int | None = None,
    ) -> None:
        where = "ActionShift"
        space = env.action_space
        check_permutation_args(permute_every, seed, where)
        sign_s = make_schedule(sign, f"{where} sign")
        scale_s = make_schedule(scale, f"{where} scale")
        permuting = permute_every is not None or permutations is not None
        schedules: dict[str, Any] = {}
        self._perms: Permutations | None = None
        if isinstance(space, gym.spaces.Discrete):
            if sign_s.to_config() != {"type": "constant", "value": 1.0} or scale_s.to_config() != {
                "type": "constant",
                "value": 1.0,
            }:
                raise ValueError(
                    f"{where}: sign and scale apply to Box actions, but the action space is "
                    f"{space}; use permute_every or permutations for Discrete actions."
                )
            if not permuting:
                raise ValueError(
                    f"{where}: nothing to shift; for {space} pass permute_every or permutations."
                )
            n = int(space.n)
            if n < 2:
                raise ValueError(f"{where}: permuting needs at least 2 actions, got {space}.")
            self._perms = Permutations(n, permutations, seed, where)
            self._start = int(space.start)
            schedules["permutation"] = PermutationSchedule(permute_every)
        elif isinstance(space, gym.spaces.Box):
            if permuting:
                raise ValueError(
                    f"{where}: permutations apply to Discrete actions, but the action space is "
                    f"{space}; use sign or scale for Box actions."
                )
            check_sign_schedule(sign_s, where)
            schedules["sign"] = sign_s
            schedules["scale"] = scale_s
        else:
            raise ValueError(f"{where}: needs a Discrete or Box action space, got {space}.")
        gym.utils.RecordConstructorArgs.__init__(
            self,
            permute_every=permute_every,
            permutations=permutations_config(permutations),
            sign=sign_s.to_config(),
            scale=scale_s.to_config(),
            seed=seed,
        )
        self.seed = seed
        self._table: list[int] | None = None
        self._factor = 1.0
        if isinstance(space, gym.spaces.Box):
            self._low, self._high, self._dtype = space.low, space.high, space.dtype
        ScheduledWrapper.__init__(self, env, schedules)

    def _reseed(self, seed: int) -> None:
        super()._reseed(seed)
        if self._perms is not None:
            self._perms.reseed(derive_seed(seed, self.kind, 101))

    def _apply(self, values: dict[str, float], t: int) -> None:
        if self._perms is not None:
            perm = self._perms[int(values["permutation"])]
            # table[a - start] is what the wrapped env receives for the agent's action a.
            self._table = [self._start + int(i) for i in perm]
            if self._start == 0:
                self._action_table = self._table  # the base step indexes it directly
        else:
            self._factor = values["sign"] * values["scale"]

    def _describe(self, values: dict[str, float]) -> dict[str, Any]:
        if self._perms is not None:
            perm = self._perms[int(values["permutation"])]
            return {"action.permutation": tuple(int(i) for i in perm)}
        return {"action.sign": values["sign"], "action.scale": values["scale"]}

    def action(self, action: Any) -> Any:
        """The action the wrapped environment receives for the agent's ``action`` now."""
        if self._table is not None:
            return self._table[int(action) - self._start]
        if self._factor == 1.0:
            return action
        scaled = self._factor * np.asarray(action)
        return np.clip(scaled, self._low, self._high).astype(self._dtype)
