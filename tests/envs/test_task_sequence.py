"""TaskSequence: when tasks switch, what info says, seeding, space checks, the Atari preset."""

from __future__ import annotations

import ale_py
import gymnasium as gym
import numpy as np
import pytest

from fade_rl.envs import TaskSequence

gym.register_envs(ale_py)  # the ALE/ ids

TWO_CARTPOLES = {
    "env_ids": ["CartPole-v1", "CartPole-v1"],
    "env_kwargs": [{}, {"sutton_barto_reward": True}],  # task 1 pays 0 per step, -1 at the end
}


def _run(env: gym.Env, n: int, action=0) -> list[tuple[float, bool, dict]]:
    out = []
    for _ in range(n):
        _, reward, terminated, truncated, info = env.step(action)
        out.append((reward, terminated or truncated, info))
        if terminated or truncated:
            env.reset()
    return out


def test_switch_waits_for_the_episode_end() -> None:
    env = TaskSequence(**TWO_CARTPOLES, switch_every=4)
    env.reset(seed=0)
    steps = _run(env, 60)
    # The task of each episode is the cycle's value at the clock of its first step.
    task, start = 0, 0
    for t, (reward, done, info) in enumerate(steps):
        if t == start:
            want = (t // 4) % 2
            assert info["shift"] == (t > 0 and want != task)
            task = want
        assert info["task"] == task and info["task_id"] == "CartPole-v1"
        assert reward == (1.0 if task == 0 else (-1.0 if done else 0.0))
        assert info["unshifted_reward"] == reward and info["clock"] == t
        if done:
            start = t + 1
    assert {i["task"] for *_, i in steps} == {0, 1}
    assert steps[-1][2]["segment"] == sum(i["shift"] for *_, i in steps)


def test_truncate_at_switch_cuts_the_episode() -> None:
    env = TaskSequence(**TWO_CARTPOLES, switch_every=3, truncate_at_switch=True)
    env.reset(seed=0)
    steps = _run(env, 9, action=1)
    assert [done for _, done, _ in steps] == [False, False, True] * 3
    assert [i["task"] for *_, i in steps] == [0] * 3 + [1] * 3 + [0] * 3
    assert [i["shift"] for *_, i in steps] == [False] * 3 + [True, False, False] * 2
    assert [i["segment"] for *_, i in steps] == [0] * 3 + [1] * 3 + [2] * 3


def test_random_order_is_seeded_and_seeded_reset_restarts() -> None:
    ids = ["CartPole-v1"] * 3

    def tasks(reset_seed: int) -> list[int]:
        env = TaskSequence(ids, switch_every=2, order="random", truncate_at_switch=True)
        env.reset(seed=reset_seed)
        return [i["task"] for *_, i in _run(env, 40, action=1)]

    a = tasks(0)
    assert a[:2] == [0, 0]
    assert all(a[k] != a[k - 1] for k in range(2, 40, 2))
    assert a == tasks(0) and a != tasks(1)

    env = TaskSequence(ids, switch_every=2, truncate_at_switch=True)
    obs0, info = env.reset(seed=5)
    _run(env, 5, action=1)
    obs1, info = env.reset(seed=5)
    np.testing.assert_array_equal(obs0, obs1)
    assert info["clock"] == 0 and info["task"] == 0


@pytest.mark.parametrize(
    ("env_ids", "match"),
    [
        pytest.param(
            ["CartPole-v1", "Acrobot-v1"],
            r"task 1 \(Acrobot-v1\) has observation_space Box.*\(6,\).*but "
            r"task 0 \(CartPole-v1\) has Box.*\(4,\).*every task needs the same",
            id="observation-space",
        ),
        pytest.param(
            ["ALE/Pong-v5", "ALE/Breakout-v5"],
            r"has action_space Discrete\(4\).* Discrete\(6\).*pass "
            r"preset='atari' \(full 18-action set",
            id="atari-without-preset-points-to-it",
        ),
    ],
)
def test_incompatible_spaces_say_why(env_ids: list[str], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        TaskSequence(env_ids, switch_every=10)


def test_atari_preset_spaces_and_switch() -> None:
    env = TaskSequence(
        ["ALE/Pong-v5", "ALE/Breakout-v5"], switch_every=3, preset="atari", truncate_at_switch=True
    )
    assert env.observation_space == gym.spaces.Box(0, 255, (4, 84, 84), np.uint8)
    assert env.action_space == gym.spaces.Discrete(18)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (4, 84, 84)
    steps = _run(env, 4)
    assert [i["task_id"] for *_, i in steps] == ["ALE/Pong-v5"] * 3 + ["ALE/Breakout-v5"]
    env.close()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"env_ids": ["CartPole-v1"], "switch_every": 5},
            "env_ids must be a list of at least 2 ids",
        ),
        ({"env_ids": "CartPole-v1", "switch_every": 5}, "env_ids must be a list of at least 2 ids"),
        (
            {"env_ids": ["CartPole-v1"] * 2, "switch_every": 0},
            "switch_every must be a positive number",
        ),
        (
            {"env_ids": ["CartPole-v1"] * 2, "switch_every": 5, "order": "shuffle"},
            "order must be 'cycle' or 'random', got 'shuffle'",
        ),
        (
            {"env_ids": ["CartPole-v1"] * 2, "switch_every": 5, "preset": "mujoco"},
            "preset must be None or 'atari', got 'mujoco'",
        ),
        (
            {"env_ids": ["CartPole-v1"] * 2, "switch_every": 5, "env_kwargs": [{}]},
            r"env_kwargs must be one dict or one per task \(2\), got 1",
        ),
    ],
)
def test_bad_arguments(kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        TaskSequence(**kwargs)


def test_step_before_reset_is_refused() -> None:
    env = TaskSequence(["CartPole-v1"] * 2, switch_every=5)
    with pytest.raises(gym.error.ResetNeeded, match="call reset"):
        env.step(0)


def test_reward_shift_on_top_merges_with_the_task_keys() -> None:
    from fade_rl.envs import RewardShift

    env = RewardShift(
        TaskSequence(**TWO_CARTPOLES, switch_every=2, truncate_at_switch=True), scale=2.0
    )
    _, info = env.reset(seed=0)
    assert info["shift_values"] == {
        "task.index": 0,
        "reward.scale": 2.0,
        "reward.offset": 0.0,
        "reward.sign": 1.0,
    }
    steps = _run(env, 4, action=1)
    assert [r for r, _, _ in steps] == [2.0, 2.0, 0.0, 0.0]
    assert [i["unshifted_reward"] for *_, i in steps] == [1.0, 1.0, 0.0, 0.0]
    assert [i["shift"] for *_, i in steps] == [False, False, True, False]
    assert [i["segment"] for *_, i in steps] == [0, 0, 1, 1]
    assert steps[2][2]["shift_values"]["task.index"] == 1
