"""Episodes cut at fixed points of the environment's clock: TRAC's and C-CHAIN's iterations."""

from __future__ import annotations

from typing import Any, SupportsFloat

import gymnasium as gym

__all__ = ["IterationCut"]


class IterationCut(gym.Wrapper[Any, Any, Any, Any], gym.utils.RecordConstructorArgs):
    """Truncate the running episode every ``every`` steps of the clock (steps since creation).

    TRAC's and C-CHAIN's PPO resets the environment at the start of each iteration of
    ``every`` steps and counts the cut episode, with its partial return, among the
    iteration's episodes (its last value bootstraps the cut). With this wrapper SB3 does
    the same: the step that ends an iteration returns ``truncated=True`` (SB3's PPO
    bootstraps a truncation from the value of the last observation), its ``Monitor`` logs
    the partial episode, and the next iteration starts a fresh one. With ``n_steps =
    every`` and one environment, every rollout is one iteration. The clock is the
    wrapper's own and, as every fade_rl wrapper's, restarts at 0 on ``reset(seed=...)`` and
    runs on through ``reset()``; a pickled environment resumes it.

    Example:
        >>> import gymnasium as gym
        >>> env = IterationCut(gym.make("CartPole-v1"), every=5)
        >>> _ = env.reset(seed=0)
        >>> [env.step(t % 2)[3] for t in range(6)]  # truncated at the clock's step 5
        [False, False, False, False, True, False]
        >>> env.clock
        6

    Args:
        env: any environment.
        every: steps per iteration (>= 1).
    """

    def __init__(self, env: gym.Env[Any, Any], every: int) -> None:
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"IterationCut: every must be an int >= 1, got {every!r}.")
        gym.utils.RecordConstructorArgs.__init__(self, every=every)
        super().__init__(env)
        self.every = every
        self.clock = 0

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        if seed is not None:
            self.clock = 0
        return self.env.reset(seed=seed, options=options)

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.clock += 1
        if self.clock % self.every == 0 and not terminated:
            truncated = True
        return obs, reward, terminated, truncated, info
