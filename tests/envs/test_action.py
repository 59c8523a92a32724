"""ActionShift: discrete permutations and Box sign/scale against the raw environment."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from fade_rl.envs import ActionShift


def test_two_action_permutations_alternate_identity_and_swap() -> None:
    """With 2 actions the only permutation other than the identity is the swap."""
    env = ActionShift(gym.make("CartPole-v1"), permute_every=3)
    raw = gym.make("CartPole-v1")
    env.reset(seed=0)
    raw.reset(seed=0)
    agent_actions = [1, 1, 0, 1, 0, 0, 1, 1, 0]
    for t, a in enumerate(agent_actions):
        swapped = (t // 3) % 2 == 1
        obs, *_, info = env.step(a)
        raw_obs, *_ = raw.step(1 - a if swapped else a)
        np.testing.assert_array_equal(obs, raw_obs)
        assert info["shift_values"]["action.permutation"] == ((1, 0) if swapped else (0, 1))
        assert info["shift"] == (t in (3, 6))


def test_given_permutation_on_acrobot() -> None:
    env = ActionShift(gym.make("Acrobot-v1"), permutations=[[2, 0, 1]])
    env.reset(seed=0)
    assert [env.action(a) for a in range(3)] == [2, 0, 1]
    assert env.action(np.int64(1)) == 0


def test_box_sign_and_scale_with_clipping() -> None:
    sign = {"type": "piecewise", "boundaries": [2], "values": [1, -1]}
    env = ActionShift(gym.make("Pendulum-v1"), sign=sign, scale=0.5)
    raw = gym.make("Pendulum-v1")
    env.reset(seed=0)
    raw.reset(seed=0)
    for t in range(4):
        a = np.array([1.5], np.float32)
        obs, *_ = env.step(a)
        raw_obs, *_ = raw.step(np.array([0.75 if t < 2 else -0.75], np.float32))
        np.testing.assert_array_equal(obs, raw_obs)
    big = ActionShift(gym.make("Pendulum-v1"), scale=3.0)
    big.reset(seed=0)
    np.testing.assert_array_equal(big.action(np.array([1.0], np.float32)), [2.0])
    assert big.action(np.array([1.0], np.float32)).dtype == np.float32
    np.testing.assert_array_equal(big.action([-0.5]), [-1.5])  # plain lists work too


@pytest.mark.parametrize(
    ("env_id", "kwargs", "match"),
    [
        (
            "CartPole-v1",
            {"sign": -1.0, "permute_every": 5},
            r"sign and scale apply to Box actions, but the action space is Discrete\(2\); use "
            "permute_every or permutations",
        ),
        (
            "CartPole-v1",
            {},
            r"nothing to shift; for Discrete\(2\) pass permute_every or permutations",
        ),
        (
            "Pendulum-v1",
            {"permute_every": 5},
            "permutations apply to Discrete actions, .* use sign or scale for Box actions",
        ),
        ("Pendulum-v1", {"sign": 0.3}, r"sign values must be \+1 or -1, got \[0.3\]"),
        (
            "CartPole-v1",
            {"permutations": [[0, 1, 2]]},
            r"permutations\[0\] must be a permutation of 0..1",
        ),
    ],
)
def test_bad_arguments(env_id, kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        ActionShift(gym.make(env_id), **kwargs)
