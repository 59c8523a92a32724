"""Where a measurement's batch comes from: the model's buffer, whatever its kind.

:func:`batch_source` is the one place that knows the buffer: it returns a
:class:`BatchSource` whose ``size()`` says how many transitions it holds and whose
``sample(n)`` draws ``n`` of them as the model's family trains on them. An off-policy
model (DQN, SAC, TD3) is measured on its replay buffer (:class:`ReplaySource`); an
on-policy one (PPO) on its last collected rollout (:class:`RolloutSource`), which the
callback keeps at each rollout's end (``rollout_end()``), before the buffer is emptied
for the next one.

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

import numpy as np
import torch as th
from stable_baselines3.common.buffers import ReplayBuffer

from fade_rl.algos import SupportedModel, check_model, check_replay_buffer, family_of

__all__ = ["BatchSource", "ReplaySource", "RolloutSource", "batch_source"]


class BatchSource(Protocol):
    """A buffer the callback samples its measurement, probe and memory batches from.

    A batch is what the model's family trains on (``AlgorithmFamily.sample_batch``): a
    named tuple with ``observations`` and ``actions``, which the family's targets and loss
    read.

    Example:
        >>> import torch
        >>> from stable_baselines3.common.type_aliases import ReplayBufferSamples
        >>> class FixedBatch:  # any object with these three methods is a BatchSource
        ...     def __init__(self, obs):
        ...         self.obs = obs
        ...
        ...     def size(self):
        ...         return len(self.obs)
        ...
        ...     def sample(self, batch_size):
        ...         obs, zeros = self.obs[:batch_size], torch.zeros(batch_size, 1)
        ...         return ReplayBufferSamples(obs, zeros, obs, zeros, zeros)
        ...
        ...     def rollout_end(self):
        ...         pass
        >>> source: BatchSource = FixedBatch(torch.ones(10, 4))
        >>> source.size(), source.sample(3).observations.shape
        (10, torch.Size([3, 4]))
    """

    def size(self) -> int:
        """Transitions held."""
        ...

    def sample(self, batch_size: int) -> Any:
        """``batch_size`` transitions, as the family's batch (``observations``, ``actions``...)."""
        ...

    def rollout_end(self) -> None:
        """Called at the end of each rollout (after its returns are computed, before training)."""
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

    def sample(self, batch_size: int) -> Any:
        """``batch_size`` transitions drawn uniformly (with SB3's own random draws)."""
        return self.buffer.sample(batch_size, env=self.model._vec_normalize_env)

    def rollout_end(self) -> None:
        """Nothing to do: the replay buffer keeps its transitions."""


class RolloutSource:
    """An on-policy model's last collected rollout, kept at its end (returns and advantages
    computed), when the model's rollout buffer is emptied for the next one.

    ``rollout_end()`` keeps the whole rollout as the family's batch (for PPO, the rollout
    samples with the value loss's settings then); ``sample(n)`` draws ``n`` of its
    transitions with numpy's generator, without replacement as PPO's minibatches are (with
    replacement if ``n`` is more than the rollout holds).
    Until the first rollout ends it holds nothing. The rollout stays on the model's device
    (one more copy of one rollout).

    Example:
        >>> from stable_baselines3 import PPO
        >>> model = PPO("MlpPolicy", "CartPole-v1", n_steps=32, batch_size=16)
        >>> source = RolloutSource(model)
        >>> _ = model.learn(32)  # its rollout buffer is emptied when the next rollout starts
        >>> source.size()
        0
        >>> source.rollout_end()  # the callback calls it at each rollout's end
        >>> source.size(), source.sample(8).returns.shape
        (32, torch.Size([8]))
    """

    def __init__(self, model: SupportedModel) -> None:
        self.model = model
        self._rollout: Any = None
        self._rows = 0

    def size(self) -> int:
        """Transitions of the last rollout kept (0 before the first ends)."""
        return self._rows

    def rollout_end(self) -> None:
        """Keep the rollout the model has just collected (nothing while its buffer is not full)."""
        buffer = getattr(self.model, "rollout_buffer", None)
        if buffer is None or not buffer.full:
            return
        rows = buffer.buffer_size * buffer.n_envs
        self._rollout = family_of(self.model, "PlasticityCallback").sample_batch(self.model, rows)
        self._rows = rows

    def sample(self, batch_size: int) -> Any:
        """``batch_size`` transitions of the kept rollout: drawn without replacement, as a
        minibatch is, or with replacement where the rollout holds fewer (as a replay buffer
        holding fewer is sampled)."""
        if self._rollout is None:
            raise ValueError(
                "no rollout kept yet: the callback measures once the first rollout has ended"
            )
        if batch_size <= self._rows:
            picks = np.random.permutation(self._rows)[:batch_size]
        else:
            picks = np.random.randint(0, self._rows, size=batch_size)
        return _rows_of(self._rollout, picks)


def _rows_of(batch: Any, picks: np.ndarray) -> Any:
    """The rows ``picks`` of every tensor (and dict of tensors) of a named-tuple batch."""

    def take(value: Any) -> Any:
        if isinstance(value, th.Tensor):
            return value[th.as_tensor(picks, device=value.device)]
        if isinstance(value, dict):
            return {key: take(item) for key, item in value.items()}
        return value  # a setting of the batch (e.g. PPO's vf_coef)

    return type(batch)(*(take(value) for value in batch))


def batch_source(model: Any, who: str = "PlasticityCallback") -> BatchSource:
    """The source of ``model``'s measurement batches, or an error naming the fix (a model
    fade_rl does not measure; a model without a replay or rollout buffer)."""
    checked = check_model(model, who)
    if getattr(checked, "rollout_buffer", None) is not None:
        return RolloutSource(checked)
    check_replay_buffer(checked, who)
    return ReplaySource(checked)
