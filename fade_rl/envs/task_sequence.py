"""Task sequence: one environment that switches among environment ids every N steps.

The switch happens at the first episode start at or after the scheduled step, so no
episode mixes two tasks; with ``truncate_at_switch=True`` the running episode is cut
(``truncated=True``) on the last step before the switch instead. The first step in the
new task carries ``info["shift"] = True``; ``info["task"]`` is the index into ``env_ids``
and ``info["task_id"]`` the id. See :mod:`fade_rl.envs.core` for the clock and seeding.

``preset="atari"`` builds every task the usual way for Atari agents: ALE v5 game with
the full 18-action set (``full_action_space=True``), ``frameskip=1`` inside and
:class:`gymnasium.wrappers.AtariPreprocessing` (30 no-op starts, frame skip 4, 84x84
grayscale) and a stack of the last 4 frames, so every game has observation space
``Box(0, 255, (4, 84, 84), uint8)`` and ``Discrete(18)`` actions. Rewards are not clipped
(clip them in the agent if you want to).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, SupportsFloat

import gymnasium as gym

from fade_rl.envs.core import (
    CLOCK,
    SEGMENT,
    SHIFT,
    SHIFT_VALUES,
    UNSHIFTED_REWARD,
    derive_seed,
)
from fade_rl.envs.schedules import PeriodicSwitch, RandomSwitch, Schedule

__all__ = ["ATARI_PRESET", "TaskSequence", "make_atari_task"]

#: Keyword arguments of the ``"atari"`` preset (recorded so runs can report them).
ATARI_PRESET: dict[str, Any] = {
    "full_action_space": True,
    "noop_max": 30,
    "frame_skip": 4,
    "screen_size": 84,
    "grayscale_obs": True,
    "frame_stack": 4,
}

TASK = "task"
TASK_ID = "task_id"


def make_atari_task(env_id: str, render_mode: str | None = None, **kwargs: Any) -> gym.Env:
    """One Atari game with the ``"atari"`` preset preprocessing (see the module docstring).

    Example:
        >>> from fade_rl.envs.task_sequence import make_atari_task
        >>> env = make_atari_task("ALE/Pong-v5")  # needs ale_py
        >>> env.observation_space.shape, env.observation_space.dtype, env.action_space
        ((4, 84, 84), dtype('uint8'), Discrete(18))
    """
    import ale_py

    gym.register_envs(ale_py)
    p = ATARI_PRESET
    env = gym.make(
        env_id,
        frameskip=1,
        full_action_space=p["full_action_space"],
        render_mode=render_mode,
        **kwargs,
    )
    env = gym.wrappers.AtariPreprocessing(
        env,
        noop_max=p["noop_max"],
        frame_skip=p["frame_skip"],
        screen_size=p["screen_size"],
        grayscale_obs=p["grayscale_obs"],
    )
    return gym.wrappers.FrameStackObservation(env, p["frame_stack"])


class TaskSequence(gym.Env):
    """Switch among environments with identical spaces every ``switch_every`` steps.

    Example:
        >>> from fade_rl.envs import TaskSequence
        >>> env = TaskSequence(["CartPole-v1", "CartPole-v1"], switch_every=3,
        ...                    env_kwargs=[{}, {"sutton_barto_reward": True}],
        ...                    truncate_at_switch=True)
        >>> _ = env.reset(seed=0)
        >>> for _ in range(4):
        ...     _, r, terminated, truncated, info = env.step(0)
        ...     print(info["task"], r, truncated, info["shift"], info["segment"])
        ...     if terminated or truncated:
        ...         _ = env.reset()
        0 1.0 False False 0
        0 1.0 False False 0
        0 1.0 True False 0
        1 0.0 False True 1

    Args:
        env_ids: the tasks, as Gymnasium ids (each made with ``gym.make`` and its own
            TimeLimit). Their observation and action spaces must be equal.
        switch_every: steps between switches (counted on this environment's clock).
        order: ``"cycle"`` (0, 1, ..., n-1, 0, ...) or ``"random"`` (a different task each
            switch, drawn with ``seed``, or from ``reset(seed=...)`` if ``seed`` is None).
        env_kwargs: one dict for all tasks or one per task, passed to ``gym.make``.
        preset: ``None`` or ``"atari"`` (see the module docstring).
        truncate_at_switch: end the running episode at the switch instead of letting it
            finish in the old task.
        seed: seed for ``order="random"``.
        render_mode: passed to every task.
    """

    metadata: dict[str, Any] = {"render_modes": ["rgb_array"], "render_fps": 30}  # noqa: RUF012

    def __init__(
        self,
        env_ids: Sequence[str],
        switch_every: int,
        order: str = "cycle",
        env_kwargs: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
        preset: str | None = None,
        truncate_at_switch: bool = False,
        seed: int | None = None,
        render_mode: str | None = None,
    ) -> None:
        where = "TaskSequence"
        if isinstance(env_ids, str) or not isinstance(env_ids, Sequence) or len(env_ids) < 2:
            raise ValueError(f"{where}: env_ids must be a list of at least 2 ids, got {env_ids!r}.")
        if isinstance(switch_every, bool) or not isinstance(switch_every, int) or switch_every < 1:
            raise ValueError(
                f"{where}: switch_every must be a positive number of steps, got {switch_every!r}."
            )
        if order not in ("cycle", "random"):
            raise ValueError(f"{where}: order must be 'cycle' or 'random', got {order!r}.")
        if preset not in (None, "atari"):
            raise ValueError(f"{where}: preset must be None or 'atari', got {preset!r}.")
        n = len(env_ids)
        if env_kwargs is None:
            per_task: list[dict[str, Any]] = [{} for _ in env_ids]
        elif isinstance(env_kwargs, Mapping):
            per_task = [dict(env_kwargs) for _ in env_ids]
        else:
            if len(env_kwargs) != n:
                raise ValueError(
                    f"{where}: env_kwargs must be one dict or one per task ({n}), "
                    f"got {len(env_kwargs)}."
                )
            per_task = [dict(k) for k in env_kwargs]
        self.env_ids = list(env_ids)
        self.switch_every = switch_every
        self.truncate_at_switch = bool(truncate_at_switch)
        self.render_mode = render_mode
        self.envs: list[gym.Env] = []
        try:
            for env_id, kwargs in zip(self.env_ids, per_task, strict=True):
                if preset == "atari":
                    self.envs.append(make_atari_task(env_id, render_mode=render_mode, **kwargs))
                else:
                    self.envs.append(gym.make(env_id, render_mode=render_mode, **kwargs))
            self._check_spaces(preset)
        except Exception:
            self.close()
            raise
        self.observation_space = self.envs[0].observation_space
        self.action_space = self.envs[0].action_space
        values = list(range(n))
        self.schedule: Schedule = (
            PeriodicSwitch(values, switch_every)
            if order == "cycle"
            else RandomSwitch(values, switch_every, seed=seed)
        )
        self.clock = 0
        self.segment = 0
        self.task = 0
        self._pending_shift = False
        self._needs_reset = True
        self._task_seeds: dict[int, int] = {}

    def _check_spaces(self, preset: str | None) -> None:
        first = self.envs[0]
        hint = (
            " Atari games: pass preset='atari' (full 18-action set, same preprocessing)."
            if preset is None and any(i.startswith("ALE/") for i in self.env_ids)
            else ""
        )
        for i, env in enumerate(self.envs[1:], start=1):
            for kind in ("observation_space", "action_space"):
                a, b = getattr(first, kind), getattr(env, kind)
                if a != b:
                    raise ValueError(
                        f"TaskSequence: task {i} ({self.env_ids[i]}) has {kind} {b}, but task 0 "
                        f"({self.env_ids[0]}) has {a}; every task needs the same observation and "
                        f"action spaces.{hint}"
                    )

    @property
    def task_id(self) -> str:
        """Id of the task in force."""
        return self.env_ids[self.task]

    def _values(self) -> dict[str, Any]:
        return {"task.index": self.task}

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Start an episode in the task the schedule says; a seeded reset restarts the clock."""
        super().reset(seed=seed)
        if seed is not None:
            self.clock = 0
            self.segment = 0
            self._pending_shift = False
            if self.schedule.is_random:
                self.schedule.reseed(derive_seed(seed, "task", 0))
            self._task_seeds = {i: derive_seed(seed, "task", 1 + i) for i in range(len(self.envs))}
            self.task = int(self.schedule.value(0))
        else:
            task = int(self.schedule.value(self.clock))
            if task != self.task:
                self.task = task
                self._pending_shift = True
        obs, info = self.envs[self.task].reset(
            seed=self._task_seeds.pop(self.task, None), options=options
        )
        self._needs_reset = False
        info[SHIFT_VALUES] = self._values()
        info[SHIFT] = False
        info[SEGMENT] = self.segment
        info[CLOCK] = self.clock
        info[TASK] = self.task
        info[TASK_ID] = self.task_id
        return obs, info

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """Step the task in force."""
        if self._needs_reset:
            raise gym.error.ResetNeeded("TaskSequence: call reset() before step().")
        obs, reward, terminated, truncated, info = self.envs[self.task].step(action)
        t = self.clock
        self.clock = t + 1
        shift = self._pending_shift
        if shift:
            self._pending_shift = False
            self.segment += 1
        if (
            self.truncate_at_switch
            and not terminated
            and self.schedule.segment(t + 1) != self.schedule.segment(t)
            and int(self.schedule.value(t + 1)) != self.task
        ):
            truncated = True
        if terminated or truncated:
            self._needs_reset = True
        info[UNSHIFTED_REWARD] = float(reward)
        info[SHIFT_VALUES] = self._values()
        info[SHIFT] = shift
        info[SEGMENT] = self.segment
        info[CLOCK] = t
        info[TASK] = self.task
        info[TASK_ID] = self.task_id
        return obs, reward, terminated, truncated, info

    def render(self) -> Any:
        """Render the task in force."""
        return self.envs[self.task].render()

    def close(self) -> None:
        """Close every task."""
        for env in getattr(self, "envs", []):
            env.close()
        super().close()
