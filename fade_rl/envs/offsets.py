"""Observation offsets per level: the continual Gym control protocol of TRAC and C-CHAIN."""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np

from fade_rl.envs.core import ScheduledWrapper, derive_seed
from fade_rl.envs.observation import check_float_box
from fade_rl.envs.schedules import Piecewise

__all__ = ["ObservationOffsets"]


def _check_int(name: str, value: Any, low: int, where: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{where}: {name} must be an int >= {low}, got {value!r}.")


class ObservationOffsets(ScheduledWrapper, gym.utils.RecordConstructorArgs):
    """Add a fixed offset per level to every observation: ``obs' = obs + offset[k]``; on
    request also permute the dimensions and flip their signs per level.

    Level ``k = t // level_steps`` (``t``: the env's clock, counting steps across episodes;
    after the last level it stays at ``levels - 1``). Level 0 has no offset; level ``k >= 1``
    adds ``offset[k]``, drawn once from ``N(0, scale**2)`` per dimension, that is
    ``numpy.random.Generator.normal(0, scale, obs_shape)``: ``scale`` is the **standard
    deviation** (TRAC's and C-CHAIN's ``np.random.normal(0, 2, ...)``, written "N(0, 2)" in
    their papers, is ``scale=2``). All offsets are drawn from one generator seeded by
    ``seed`` or, if ``seed`` is None, by the seed of ``reset(seed=...)``: one seed, the same
    levels for every agent. (SB3's vector envs seed copy ``i`` with ``seed + i``: pass
    ``seed`` to give all copies the same offsets.)

    ``info`` gets the keys of :mod:`fade_rl.envs.core`: ``shift`` is True on the first step
    of each new level, ``segment`` is the level, and ``shift_values`` holds
    ``observation.level`` (int) and ``observation.level_offset`` (a tuple, one float per
    dimension; all zeros on level 0). The observation space keeps its shape and dtype and
    becomes unbounded (the offsets are unbounded draws).

    With ``permute`` and/or ``flip_signs`` (1-D observations) level ``k >= 1`` also draws a
    random permutation ``perm[k]`` and/or random signs ``sign[k]`` (each dimension +1 or -1
    with probability 1/2): ``obs' = sign[k] * obs[perm[k]] + offset[k]``, the RL analogue of
    permuted MNIST (``scale=0`` for no offsets). Each comes from a stream of its own, so a
    seed's offsets (and permutations) are the same whatever else is drawn. ``shift_values``
    then also holds ``observation.level_permutation`` and/or ``observation.level_signs``.

    Example:
        CartPole with 3 levels of 5 steps each:

        >>> import gymnasium as gym
        >>> import numpy as np
        >>> from fade_rl.envs import ObservationOffsets
        >>> env = ObservationOffsets(gym.make("CartPole-v1"), levels=3, level_steps=5)
        >>> raw = gym.make("CartPole-v1")
        >>> obs, info = env.reset(seed=1)
        >>> raw_obs, _ = raw.reset(seed=1)
        >>> bool((obs == raw_obs).all()), info["shift_values"]["observation.level"]
        (True, 0)
        >>> for t in range(6):
        ...     obs, _, _, _, info = env.step(0)
        ...     raw_obs = raw.step(0)[0]
        >>> info["clock"], info["shift"], info["segment"]
        (5, True, 1)
        >>> bool(np.allclose(obs - raw_obs, env.offsets[1]))
        True
        >>> env.offsets.shape, bool((env.offsets[0] == 0).all())
        ((3, 4), True)

    Args:
        env: an environment with a floating-point Box observation space.
        levels: number of levels (>= 1); level 0 has no offset.
        level_steps: environment steps per level (>= 1).
        scale: standard deviation of every offset entry (>= 0).
        seed: seed of the offsets; ``None`` derives them from ``reset(seed=...)``.
        permute: draw a permutation of the dimensions per level ``k >= 1``.
        flip_signs: draw a sign per dimension per level ``k >= 1``.
    """

    kind = "observation"
    maps_observation = True

    def __init__(
        self,
        env: gym.Env,
        *,
        levels: int = 10,
        level_steps: int = 160_000,
        scale: float = 2.0,
        seed: int | None = None,
        permute: bool = False,
        flip_signs: bool = False,
    ) -> None:
        where = "ObservationOffsets"
        space = check_float_box(env.observation_space, where)
        for name, flag in (("permute", permute), ("flip_signs", flip_signs)):
            if not isinstance(flag, bool):
                raise ValueError(f"{where}: {name} must be true or false, got {flag!r}.")
        if (permute or flip_signs) and len(space.shape) != 1:
            raise ValueError(
                f"{where}: permute and flip_signs need a 1-D observation space, got shape "
                f"{space.shape}; drop them."
            )
        _check_int("levels", levels, 1, where)
        _check_int("level_steps", level_steps, 1, where)
        if isinstance(scale, bool) or not isinstance(scale, (int, float)):
            raise ValueError(f"{where}: scale must be a number >= 0, got {scale!r}.")
        if not math.isfinite(scale) or scale < 0:
            raise ValueError(f"{where}: scale must be a finite number >= 0, got {scale!r}.")
        if seed is not None:
            _check_int("seed", seed, 0, where)
        gym.utils.RecordConstructorArgs.__init__(
            self,
            levels=levels,
            level_steps=level_steps,
            scale=scale,
            seed=seed,
            permute=permute,
            flip_signs=flip_signs,
        )
        self.levels = int(levels)
        self.level_steps = int(level_steps)
        self.scale = float(scale)
        self.seed = seed
        self.permute = permute
        self.flip_signs = flip_signs
        self._dtype = space.dtype
        self._shape = space.shape
        self._draw_all(seed)
        self._offset: np.ndarray | None = None
        self._perm: np.ndarray | None = None
        self._signs: np.ndarray | None = None
        boundaries = [k * self.level_steps for k in range(1, self.levels)]
        level = Piecewise(boundaries, [float(k) for k in range(self.levels)])
        ScheduledWrapper.__init__(self, env, {"level": level})
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, space.shape, space.dtype)

    def _draw_all(self, seed: int | None) -> None:
        """Every level's offset (``offsets``, row 0 zeros), permutation (``permutations``)
        and signs (``signs``; row 0 the identity), each from its own stream of ``seed``."""
        rng = np.random.default_rng(seed)
        offsets = np.zeros((self.levels, *self._shape), dtype=np.float64)
        offsets[1:] = rng.normal(0.0, self.scale, size=(self.levels - 1, *self._shape))
        self.offsets = offsets.astype(self._dtype)
        n = self._shape[0] if len(self._shape) == 1 else 0
        self.permutations = np.tile(np.arange(n), (self.levels, 1))
        self.signs = np.ones((self.levels, n), dtype=self._dtype)
        root = 0 if seed is None else seed
        perm_rng, sign_rng = np.random.default_rng([root, 1]), np.random.default_rng([root, 2])
        for k in range(1, self.levels):
            if self.permute:
                self.permutations[k] = perm_rng.permutation(n)
            if self.flip_signs:
                self.signs[k] = sign_rng.choice(np.array([-1, 1], dtype=self._dtype), size=n)

    def _reseed(self, seed: int) -> None:
        super()._reseed(seed)
        if self.seed is None:
            self._draw_all(derive_seed(seed, self.kind, 102))

    def _apply(self, values: dict[str, float], t: int) -> None:
        level = int(values["level"])
        self._offset = self.offsets[level] if level > 0 and self.scale > 0 else None
        self._perm = self.permutations[level] if level > 0 and self.permute else None
        self._signs = self.signs[level] if level > 0 and self.flip_signs else None

    def _describe(self, values: dict[str, float]) -> dict[str, Any]:
        level = int(values["level"])
        offset = tuple(float(x) for x in self.offsets[level].ravel())
        out: dict[str, Any] = {"observation.level": level, "observation.level_offset": offset}
        if self.permute:
            out["observation.level_permutation"] = tuple(int(i) for i in self.permutations[level])
        if self.flip_signs:
            out["observation.level_signs"] = tuple(float(x) for x in self.signs[level])
        return out

    @property
    def level(self) -> int:
        """The level in force: that of the last step taken (0 after a seeded reset)."""
        return int((self._values or {"level": 0.0})["level"])

    def _observe(self, obs: Any) -> Any:
        if self._perm is not None:
            obs = obs[self._perm]
        if self._signs is not None:
            obs = obs * self._signs
        if self._offset is not None:
            obs = obs + self._offset
        return obs.astype(self._dtype, copy=False)
