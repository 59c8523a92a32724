"""Registered ids: checkers, determinism, spec round trip, Monitor, vector envs."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

import fade_rl.envs
from fade_rl.envs import list_envs

REQUIRED = [
    "fade_rl/CartPole-RewardFlip-v0",
    "fade_rl/CartPole-Dynamics-v0",
    "fade_rl/Pendulum-Dynamics-v0",
    "fade_rl/MountainCarContinuous-Dynamics-v0",
    "fade_rl/Acrobot-Dynamics-v0",
    "fade_rl/HalfCheetah-Dynamics-v0",
    "fade_rl/Atari-Sequence-v0",
    "fade_rl/CartPole-ObsPermute-v0",
    "fade_rl/CartPole-ActionPermute-v0",
]
IDS = [env_id for env_id, _ in list_envs()]


def _make(env_id: str, **kwargs) -> gym.Env:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MuJoCo 4.0 model-load deprecation
        return gym.make(env_id, **kwargs)


def _rollout(env: gym.Env, seed: int, n: int) -> list:
    obs, info = env.reset(seed=seed)
    env.action_space.seed(seed)
    out = [(obs, info)]
    for _ in range(n):
        step = env.step(env.action_space.sample())
        out.append(step)
        if step[2] or step[3]:
            out.append(env.reset())
    return out


def test_list_envs_has_the_required_ids_with_one_line_descriptions() -> None:
    assert set(REQUIRED) <= set(IDS)
    for env_id, description in list_envs():
        assert env_id in gym.registry
        assert description and "\n" not in description and len(description) < 120


@pytest.mark.parametrize("env_id", IDS)
def test_passes_gymnasium_and_sb3_checkers(env_id: str) -> None:
    env = _make(env_id)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # e.g. "not normalized Box action space"
        gym_check_env(env, skip_render_check=True)
        sb3_check_env(_make(env_id), warn=False)
    env.close()


@pytest.mark.parametrize("env_id", IDS)
def test_same_seed_same_trajectory_and_spec_rebuilds_it(env_id: str) -> None:
    n = 30 if "Atari" in env_id else 120
    a = _rollout(_make(env_id), seed=4, n=n)
    b = _rollout(_make(env_id), seed=4, n=n)
    env = _make(env_id)
    c = _rollout(gym.make(env.spec), seed=4, n=n)
    assert gym.utils.env_checker.data_equivalence(a, b)
    assert gym.utils.env_checker.data_equivalence(a, c)
    d = _rollout(_make(env_id), seed=5, n=n)
    assert not gym.utils.env_checker.data_equivalence(a, d)


@pytest.mark.parametrize(
    ("env_id", "kwargs", "seed_matters"),
    [
        ("fade_rl/CartPole-ObsPermute-v0", {"observation": {"permute_every": 10}}, True),
        # Two actions: the only other permutation is the swap, whatever the seed.
        ("fade_rl/CartPole-ActionPermute-v0", {"action": {"permute_every": 10}}, False),
        (
            "fade_rl/Pendulum-Dynamics-v0",
            {"dynamics": {"g": {"type": "random_walk", "start": 10.0, "std": 1.0, "every": 10}}},
            True,
        ),
    ],
)
def test_seed_drives_the_random_shifts(env_id: str, kwargs: dict, seed_matters: bool) -> None:
    def shifts(seed: int) -> list:
        steps = _rollout(_make(env_id, **kwargs), seed=seed, n=100)
        return [s[-1]["shift_values"] for s in steps if len(s) == 5]

    a = shifts(1)
    assert a == shifts(1)
    assert (a != shifts(2)) == seed_matters
    changes = [k for k in range(1, len(a)) if a[k] != a[k - 1]]
    assert changes == list(range(10, 100, 10))  # a new value every 10 steps


def test_monitor_sees_the_shifted_reward() -> None:
    """make_vec_env puts Monitor outside gym.make, so episode returns are shifted ones."""
    venv = make_vec_env(
        "fade_rl/CartPole-RewardFlip-v0",
        n_envs=1,
        seed=0,
        env_kwargs={"reward": {"sign": -1.0}},
    )
    venv.reset()
    episode = None
    for _ in range(200):
        *_, infos = venv.step(np.array([0]))
        if "episode" in infos[0]:
            episode = infos[0]["episode"]
            break
    assert episode is not None
    assert episode["r"] == -episode["l"]


def _vec_rollout(vec_cls, env_id: str, n_steps: int):
    kwargs = {"reward": {"sign": {"type": "periodic", "values": [1, -1], "period": 7}}}
    venv = make_vec_env(env_id, n_envs=2, seed=0, env_kwargs=kwargs, vec_env_cls=vec_cls)
    venv.reset()
    rewards, clocks = [], []
    for t in range(n_steps):
        _, reward, _, infos = venv.step(np.array([t % 2, 0]))
        rewards.append(reward.copy())
        clocks.append([info["clock"] for info in infos])
    assert venv.get_attr("clock") == [n_steps, n_steps]  # reaches the wrapper inside gym.make
    venv.close()
    return np.array(rewards), np.array(clocks)


def test_each_copy_counts_its_own_steps_under_dummy_vec_env() -> None:
    rewards, clocks = _vec_rollout(DummyVecEnv, "fade_rl/CartPole-RewardFlip-v0", 30)
    # Copy 1 always pushes left, so it resets every ~10 steps; its clock runs on regardless.
    np.testing.assert_array_equal(clocks, np.array([[t, t] for t in range(30)]))
    sign = np.array([1.0 if (t // 7) % 2 == 0 else -1.0 for t in range(30)])
    np.testing.assert_array_equal(rewards, np.stack([sign, sign], axis=1))


def test_subproc_vec_env_matches_dummy_vec_env() -> None:
    # Worker processes must import fade_rl.envs to know the ids: use the "module:id" form.
    sub = _vec_rollout(SubprocVecEnv, "fade_rl.envs:fade_rl/CartPole-RewardFlip-v0", 30)
    dummy = _vec_rollout(DummyVecEnv, "fade_rl/CartPole-RewardFlip-v0", 30)
    np.testing.assert_array_equal(sub[0], dummy[0])
    np.testing.assert_array_equal(sub[1], dummy[1])


def test_registration_is_idempotent() -> None:
    before = len(gym.registry)
    fade_rl.envs.register_envs()
    assert len(gym.registry) == before


def test_render_mode_reaches_the_base_env() -> None:
    env = gym.make("fade_rl/CartPole-Dynamics-v0", render_mode="rgb_array")
    env.reset(seed=0)
    frame = env.render()
    assert frame.shape == (400, 600, 3)
    env.close()


def test_overriding_a_schedule_through_make() -> None:
    env = gym.make(
        "fade_rl/CartPole-Dynamics-v0",
        dynamics={"gravity": {"type": "piecewise", "boundaries": [2], "values": [9.8, 30.0]}},
    )
    env.reset(seed=0)
    values = [env.step(0)[4]["shift_values"] for _ in range(3)]
    assert [v["dynamics.gravity"] for v in values] == [9.8, 9.8, 30.0]
    assert "dynamics.length" not in values[0]  # the override replaces the whole argument
    assert env.unwrapped.gravity == 30.0


def test_sb3_rollout_ep_rew_mean_sees_the_shifted_reward() -> None:
    """What SB3 logs as rollout/ep_rew_mean is the mean of ep_info_buffer's "r"."""
    from stable_baselines3 import DQN

    venv = make_vec_env(
        "fade_rl/CartPole-RewardFlip-v0", n_envs=2, seed=0, env_kwargs={"reward": {"sign": -1.0}}
    )
    model = DQN("MlpPolicy", venv, learning_starts=10_000, seed=0, device="cpu")
    model.learn(400)
    episodes = list(model.ep_info_buffer)
    assert len(episodes) >= 4
    assert all(ep["r"] == -ep["l"] for ep in episodes)
    assert venv.get_attr("clock") == [200, 200]
