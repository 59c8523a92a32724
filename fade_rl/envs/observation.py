"""Observation shift: permuted dimensions, an affine map and Gaussian noise on schedules."""

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
from fade_rl.envs.schedules import ScheduleLike, make_schedule

__all__ = ["ObservationShift"]


def check_float_box(space: gym.Space, where: str) -> gym.spaces.Box:
    """``space``, or a one-line refusal when an observation shift cannot act on it.

    Example:
        >>> check_float_box(gym.spaces.Discrete(3), "ObservationShift")
        Traceback (most recent call last):
        ...
        ValueError: ObservationShift: needs a floating-point Box observation space, got ...
    """
    if not isinstance(space, gym.spaces.Box) or not np.issubdtype(space.dtype, np.floating):
        raise ValueError(
            f"{where}: needs a floating-point Box observation space, got {space}; "
            "image observations: convert them to float first."
        )
    return space


class ObservationShift(ScheduledWrapper, gym.utils.RecordConstructorArgs):
    """Shift observations: ``obs' = scale(t) * obs[perm(t)] + offset(t) + noise_std(t) * N(0, 1)``.

    The permutation (1-D observations only) is the identity for the first ``permute_every``
    steps, then a fresh random one (different from the last) every ``permute_every`` steps;
    or it cycles through ``permutations`` if given. ``scale``, ``offset`` and ``noise_std``
    are numbers, schedule config dicts or Schedules. See :mod:`fade_rl.envs.core` for the
    clock, seeding and ``info`` keys (``info["shift_values"]["observation.permutation"]``
    is the permutation in force, as a tuple).

    The observation space keeps its shape and dtype. Its bounds are the exact image of the
    old ones under a fixed map; a permutation widens every dimension to the widest bounds;
    noise or a scheduled scale/offset make it unbounded.

    Example:
        >>> import gymnasium as gym
        >>> from fade_rl.envs import ObservationShift
        >>> env = ObservationShift(gym.make("CartPole-v1"), permutations=[[3, 2, 1, 0]])
        >>> raw = gym.make("CartPole-v1")
        >>> obs, _ = env.reset(seed=1)
        >>> raw_obs, _ = raw.reset(seed=1)
        >>> bool((obs == raw_obs[::-1]).all())
        True

    Args:
        env: an environment with a floating-point Box observation space.
        permute_every: steps between permutation changes (``None``: never change).
        permutations: explicit permutations of ``range(obs_dim)`` to cycle through.
        scale: factor on every dimension (default 1).
        offset: added to every dimension (default 0).
        noise_std: standard deviation of added Gaussian noise (default 0, must stay >= 0).
        seed: seed of the permutation draws and the noise; ``None`` derives them from
            ``reset(seed=...)``.
    """

    kind = "observation"
    maps_observation = True

    def __init__(
        self,
        env: gym.Env,
        permute_every: int | None = None,
        permutations: list[list[int]] | None = None,
        scale: ScheduleLike = 1.0,
        offset: ScheduleLike = 0.0,
        noise_std: ScheduleLike = 0.0,
        seed: int | None = None,
    ) -> None:
        where = "ObservationShift"
        space = check_float_box(env.observation_space, where)
        check_permutation_args(permute_every, seed, where)
        permuting = permute_every is not None or permutations is not None
        if permuting and len(space.shape) != 1:
            raise ValueError(
                f"{where}: permutations need a 1-D observation space, got shape {space.shape}."
            )
        schedules = {
            "scale": make_schedule(scale, f"{where} scale"),
            "offset": make_schedule(offset, f"{where} offset"),
            "noise_std": make_schedule(noise_std, f"{where} noise_std"),
        }
        if schedules["noise_std"].bounds()[0] < 0:
            raise ValueError(f"{where}: noise_std must stay >= 0, but its schedule can go below.")
        self._perms = Permutations(space.shape[0], permutations, seed, where) if permuting else None
        if permuting:
            schedules["permutation"] = PermutationSchedule(permute_every)
        gym.utils.RecordConstructorArgs.__init__(
            self,
            permute_every=permute_every,
            permutations=permutations_config(permutations),
            scale=schedules["scale"].to_config(),
            offset=schedules["offset"].to_config(),
            noise_std=schedules["noise_std"].to_config(),
            seed=seed,
        )
        self.seed = seed
        self._rng = np.random.default_rng(seed)
        self._dtype = space.dtype
        self._perm: np.ndarray | None = None
        self._scale = 1.0
        self._offset = 0.0
        self._affine = False
        self._noise = 0.0
        ScheduledWrapper.__init__(self, env, schedules)
        self.observation_space = self._shifted_space(space, schedules, permuting)

    @staticmethod
    def _shifted_space(space: gym.spaces.Box, schedules: dict, permuting: bool) -> gym.spaces.Box:
        low = space.low.astype(np.float64)
        high = space.high.astype(np.float64)
        if permuting:
            low = np.full_like(low, low.min())
            high = np.full_like(high, high.max())
        fixed = all(schedules[k].type_name == "constant" for k in ("scale", "offset", "noise_std"))
        if not fixed or schedules["noise_std"].value(0) > 0:
            low = np.full_like(low, -np.inf)
            high = np.full_like(high, np.inf)
        else:
            scale, offset = schedules["scale"].value(0), schedules["offset"].value(0)
            if scale == 0.0:
                low = np.full_like(low, offset)
                high = np.full_like(high, offset)
            else:
                a, b = scale * low + offset, scale * high + offset
                low, high = np.minimum(a, b), np.maximum(a, b)
        return gym.spaces.Box(
            low.astype(space.dtype), high.astype(space.dtype), space.shape, space.dtype
        )

    def _reseed(self, seed: int) -> None:
        super()._reseed(seed)
        self._rng = np.random.default_rng(
            self.seed if self.seed is not None else derive_seed(seed, self.kind, 100)
        )
        if self._perms is not None:
            self._perms.reseed(derive_seed(seed, self.kind, 101))

    def _apply(self, values: dict[str, float], t: int) -> None:
        if self._perms is not None:
            perm = self._perms[int(values["permutation"])]
            identity = bool((perm == np.arange(perm.size)).all())
            self._perm = None if identity else perm
        self._scale = values["scale"]
        self._offset = values["offset"]
        self._affine = self._scale != 1.0 or self._offset != 0.0
        self._noise = values["noise_std"]
        # A permutation alone is one fancy index (dtype kept): the base step's fast path.
        perm_only = self._perm is not None and not self._affine and self._noise == 0.0
        self._obs_index = self._perm if perm_only else None

    def _describe(self, values: dict[str, float]) -> dict[str, Any]:
        out: dict[str, Any] = {
            f"observation.{k}": values[k] for k in ("scale", "offset", "noise_std")
        }
        if self._perms is not None:
            perm = self._perms[int(values["permutation"])]
            out["observation.permutation"] = tuple(int(i) for i in perm)
        return out

    def _observe(self, obs: Any) -> Any:
        if self._perm is not None:
            obs = obs[self._perm]
        if self._affine:
            obs = obs * self._scale + self._offset
        if self._noise > 0.0:
            obs = obs + self._noise * self._rng.standard_normal(obs.shape)
        return obs.astype(self._dtype, copy=False)
