"""IterationCut: episodes cut at fixed points of the clock (fade_rl/envs/cuts.py)."""

from __future__ import annotations

import pickle

import gymnasium as gym
import pytest
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env

import fade_rl.envs  # noqa: F401  (registers the ids)
from fade_rl.envs import IterationCut


def test_the_episode_is_truncated_at_every_multiple_of_the_clock() -> None:
    env = IterationCut(gym.make("CartPole-v1"), every=3)
    env.reset(seed=0)
    ends = []
    for t in range(1, 10):
        _, _, terminated, truncated, _ = env.step(t % 2)  # alternating: the pole stays up
        assert not terminated
        if truncated:
            ends.append(t)
            env.reset()
    assert ends == [3, 6, 9]


def test_a_termination_on_a_cut_step_stays_a_termination() -> None:
    plain = gym.make("CartPole-v1")
    plain.reset(seed=0)
    steps = 1
    while not plain.step(0)[2]:  # pushed left until it falls
        steps += 1
    env = IterationCut(gym.make("CartPole-v1"), every=steps)
    env.reset(seed=0)
    for _ in range(steps - 1):
        assert env.step(0)[2:4] == (False, False)
    assert env.step(0)[2:4] == (True, False)


def test_the_clock_survives_pickling() -> None:
    env = IterationCut(gym.make("CartPole-v1"), every=4)
    env.reset(seed=0)
    env.step(0)
    env.step(1)
    copy = pickle.loads(pickle.dumps(env))
    assert copy.clock == 2
    assert [copy.step(0)[3], copy.step(0)[3]] == [False, True]


def test_a_seeded_reset_restarts_the_clock_and_a_plain_one_does_not() -> None:
    env = IterationCut(gym.make("CartPole-v1"), every=100)
    env.reset(seed=0)
    env.step(0)
    env.reset()
    assert env.clock == 1
    env.reset(seed=1)
    assert env.clock == 0


@pytest.mark.parametrize("bad", [0, -800, 2.5, True])
def test_a_bad_iteration_length_is_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="every must be an int >= 1"):
        IterationCut(gym.make("CartPole-v1"), every=bad)  # type: ignore[arg-type]


def test_under_ppo_every_rollout_starts_a_fresh_episode() -> None:
    """The continual control id with iteration_steps=n_steps: TRAC's and C-CHAIN's iterations.
    Monitor's episodes end at every multiple of the rollout, cut ones with partial returns."""
    kwargs = dict(iteration_steps=64, level_steps=128)
    env = make_vec_env("fade_rl/CartPole-ObsOffsets-v0", n_envs=1, seed=0, env_kwargs=kwargs)
    model = PPO("MlpPolicy", env, n_steps=64, batch_size=32, n_epochs=1, seed=0)
    model.learn(256)
    monitor = env.envs[0]
    ends = [
        sum(monitor.get_episode_lengths()[: i + 1]) for i in range(len(monitor.episode_lengths))
    ]
    assert {64, 128, 192, 256} <= set(ends)
    assert monitor.get_episode_rewards() == [float(n) for n in monitor.get_episode_lengths()]
