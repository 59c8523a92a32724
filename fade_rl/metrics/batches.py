"""Where a measurement's batch comes from: the model's buffer, whatever its kind.

:func:`batch_source` is the one place that knows the buffer: it returns a
:class:`BatchSource` whose ``size()`` says how many transitions it holds and whose
``sample(n)`` draws ``n`` of them as SB3's ``ReplayBufferSamples``. Today the source is the
replay buffer of an off-policy model (DQN, SAC, TD3); another kind of buffer (e.g. an
on-policy rollout buffer) is one more :class:`BatchSource` and one more branch there.

Example:
    >>> from stable_baselines3 import DQN
    >>> model = DQN("MlpPolicy", "CartPole-v1", learning_starts=10)
    >>> _ = model.learn(20)
    >>> source = batch_source(model)
    >>> source.size(), source.sample(8).observations.shape
    (20, torch.Size([8, 4]))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.type_aliases import ReplayBufferSamples

from fade_rl.algos import SupportedModel, check_model, check_replay_buffer

__all__ = ["BatchSource", "ReplaySource", "batch_source"]


class BatchSource(Protocol):
    """A buffer the callback samples its measurement, probe and memory batches from.

    Example:
        >>> import torch
        >>> from stable_baselines3.common.type_aliases import ReplayBufferSamples
        >>> class FixedBatch:  # any object with these two methods is a BatchSource
        ...     def __init__(self, obs):
        ...         self.obs = obs
        ...
        ...     def size(self):
        ...         return len(self.obs)
        ...
        ...     def sample(self, batch_size):
        ...         obs, zeros = self.obs[:batch_size], torch.zeros(batch_size, 1)
        ...         return ReplayBufferSamples(obs, zeros, obs, zeros, zeros)
        >>> source: BatchSource = FixedBatch(torch.ones(10, 4))
        >>> source.size(), source.sample(3).observations.shape
        (10, torch.Size([3, 4]))
    """

    def size(self) -> int:
        """Transitions held."""
        ...

    def sample(self, batch_size: int) -> ReplayBufferSamples:
        """``batch_size`` transitions (observations, actions, rewards, next observations)."""
        ...


@dataclass(frozen=True)
class ReplaySource:
    """An off-policy model's replay buffer (read at each call: loading one replaces it),
    sampled as training samples it, through the model's ``VecNormalize`` if any.

    Example:
        >>> from stable_baselines3 import DQN
        >>> model = DQN("MlpPolicy", "CartPole-v1", learning_starts=10, seed=0)
        >>> source = ReplaySource(model)
        >>> source.size()
        0
        >>> _ = model.learn(20)
        >>> source.size(), source.sample(4).rewards.shape
        (20, torch.Size([4, 1]))
    """

    model: SupportedModel

    @property
    def buffer(self) -> ReplayBuffer:
        """The model's replay buffer now."""
        return check_replay_buffer(self.model, "PlasticityCallback")

    def size(self) -> int:
        """Transitions held."""
        return self.buffer.size()

    def sample(self, batch_size: int) -> ReplayBufferSamples:
        """``batch_size`` transitions drawn uniformly (with SB3's own random draws)."""
        return self.buffer.sample(batch_size, env=self.model._vec_normalize_env)


def batch_source(model: Any, who: str = "PlasticityCallback") -> BatchSource:
    """The source of ``model``'s measurement batches, or an error naming the fix (a model
    fade_rl does not measure; a model without a replay buffer)."""
    checked = check_model(model, who)
    check_replay_buffer(checked, who)
    return ReplaySource(checked)
