"""The measurement batches come from one place, which knows the buffer's kind."""

from __future__ import annotations

import numpy as np
import pytest
from stable_baselines3 import A2C, DQN

from fade_rl.metrics.batches import ReplaySource, batch_source


def test_a_replay_source_samples_as_the_buffer_does() -> None:
    model = DQN("MlpPolicy", "CartPole-v1", learning_starts=10, seed=0)
    model.learn(32)
    source = batch_source(model)
    assert isinstance(source, ReplaySource) and source.size() == 32
    np.random.seed(1)
    ours = source.sample(5).observations
    np.random.seed(1)
    assert (ours == model.replay_buffer.sample(5).observations).all()


def test_a_replaced_buffer_is_the_one_sampled() -> None:
    model = DQN("MlpPolicy", "CartPole-v1", learning_starts=10, seed=0)
    source = batch_source(model)
    model.learn(20)
    assert source.size() == 20
    model.replay_buffer = None
    with pytest.raises(ValueError, match="no replay buffer"):
        source.size()


def test_models_without_a_known_buffer_are_refused() -> None:
    with pytest.raises(TypeError, match="DQN, SAC, TD3 and PPO"):
        batch_source(A2C("MlpPolicy", "CartPole-v1", n_steps=64))
