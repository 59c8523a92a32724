"""ObservationShift: permutations, affine map and noise against the raw environment."""

from __future__ import annotations

import itertools

import gymnasium as gym
import numpy as np
import pytest

from fade_rl.envs import ObservationShift


def _paired(env: gym.Env, n: int, seed: int = 0, env_id: str = "CartPole-v1"):
    """(shifted obs, raw obs, info) for n steps of the same actions from the same seed."""
    raw = gym.make(env_id)
    obs, _ = env.reset(seed=seed)
    raw_obs, _ = raw.reset(seed=seed)
    out = [(obs, raw_obs, None)]
    actions = (
        [k % 2 for k in range(n)] if env_id == "CartPole-v1" else [np.zeros(1, np.float32)] * n
    )
    for a in actions:
        obs, *_, info = env.step(a)
        raw_obs, *_ = raw.step(a)
        out.append((obs, raw_obs, info))
    return out


def test_given_permutations_cycle_every_n_steps() -> None:
    perms = [[0, 1, 2, 3], [1, 0, 3, 2]]
    env = ObservationShift(gym.make("CartPole-v1"), permute_every=3, permutations=perms)
    steps = _paired(env, 8)
    # The reset observation and steps 0-2 use perms[0]; steps 3-5 perms[1]; steps 6-7 perms[0].
    for k, (obs, raw_obs, info) in enumerate(steps):
        step = k - 1
        perm = perms[0] if step < 3 or step >= 6 else perms[1]
        np.testing.assert_array_equal(obs, raw_obs[perm])
        if info is not None:
            assert info["shift"] == (step in (3, 6))
            assert info["shift_values"]["observation.permutation"] == tuple(perm)
    assert steps[-1][2]["segment"] == 2


def test_random_permutations_start_at_identity_change_each_time_and_follow_the_seed() -> None:
    def perms(seed: int) -> list[tuple[int, ...]]:
        env = ObservationShift(gym.make("Pendulum-v1"), permute_every=2)
        steps = _paired(env, 12, seed=seed, env_id="Pendulum-v1")
        for obs, raw_obs, info in steps[1:]:
            np.testing.assert_array_equal(
                obs, raw_obs[list(info["shift_values"]["observation.permutation"])]
            )
        return [steps[1 + 2 * k][2]["shift_values"]["observation.permutation"] for k in range(6)]

    a = perms(7)
    assert a[0] == (0, 1, 2)
    assert all(x != y for x, y in itertools.pairwise(a))
    assert a == perms(7)
    assert a != perms(8)


def test_affine_map_and_bounds() -> None:
    env = ObservationShift(gym.make("CartPole-v1"), scale=2.0, offset=1.0)
    for obs, raw_obs, _ in _paired(env, 5):
        np.testing.assert_allclose(obs, 2.0 * raw_obs + 1.0, rtol=1e-6)
        assert obs.dtype == np.float32
    assert env.observation_space.low[0] == pytest.approx(2.0 * -4.8 + 1.0)
    assert env.observation_space.high[2] == pytest.approx(2.0 * 0.41887903 + 1.0)
    flipped = ObservationShift(gym.make("Pendulum-v1"), scale=-1.0)
    np.testing.assert_array_equal(flipped.observation_space.low, [-1.0, -1.0, -8.0])


def test_permutation_widens_bounds_and_noise_unbounds() -> None:
    env = ObservationShift(gym.make("Pendulum-v1"), permute_every=10)
    np.testing.assert_array_equal(env.observation_space.high, [8.0, 8.0, 8.0])
    np.testing.assert_array_equal(env.observation_space.low, [-8.0, -8.0, -8.0])
    noisy = ObservationShift(gym.make("Pendulum-v1"), noise_std=0.1)
    assert np.isinf(noisy.observation_space.high).all()


def test_noise_has_the_scheduled_std_and_is_seeded() -> None:
    noise = {"type": "piecewise", "boundaries": [300], "values": [0.0, 0.2]}

    def diffs(seed: int) -> np.ndarray:
        env = ObservationShift(gym.make("Pendulum-v1"), noise_std=noise)
        return np.array(
            [o - r for o, r, _ in _paired(env, 600, seed=seed, env_id="Pendulum-v1")[1:]]
        )

    d = diffs(0)
    assert np.abs(d[:300]).max() == 0.0
    assert d[300:].std() == pytest.approx(0.2, rel=0.1)
    np.testing.assert_array_equal(d, diffs(0))
    assert not np.array_equal(d, diffs(1))


def test_spec_kwargs_are_json() -> None:
    env = ObservationShift(gym.make("CartPole-v1"), permute_every=5, seed=3)
    assert env.spec.additional_wrappers[-1].kwargs == {
        "permute_every": 5,
        "permutations": None,
        "scale": {"type": "constant", "value": 1.0},
        "offset": {"type": "constant", "value": 0.0},
        "noise_std": {"type": "constant", "value": 0.0},
        "seed": 3,
    }
    env.spec.to_json()


def test_fixed_seed_pins_permutations_across_reset_seeds() -> None:
    def first_new_perm(reset_seed: int):
        env = ObservationShift(gym.make("CartPole-v1"), permute_every=1, seed=11)
        env.reset(seed=reset_seed)
        env.step(0)
        return env.step(0)[4]["shift_values"]["observation.permutation"]

    assert first_new_perm(0) == first_new_perm(1)


class _ImageEnv(gym.Env):
    observation_space = gym.spaces.Box(0.0, 1.0, (2, 2), np.float32)
    action_space = gym.spaces.Discrete(2)


@pytest.mark.parametrize(
    ("make", "kwargs", "match"),
    [
        (
            lambda: gym.make("FrozenLake-v1"),
            {"scale": 2.0},
            "needs a floating-point Box observation space, got Discrete",
        ),
        (
            _ImageEnv,
            {"permute_every": 3},
            r"permutations need a 1-D observation space, got shape \(2, 2\)",
        ),
        (
            lambda: gym.make("CartPole-v1"),
            {"permutations": [[0, 0, 1, 2]]},
            r"permutations\[0\] must be a permutation of 0..3 \(each index once\), "
            r"got \[0, 0, 1, 2\]",
        ),
        (
            lambda: gym.make("CartPole-v1"),
            {"permute_every": 0},
            "permute_every must be a positive number of steps or None, got 0",
        ),
        (lambda: gym.make("CartPole-v1"), {"noise_std": -0.1}, "noise_std must stay >= 0"),
        (
            lambda: gym.make("CartPole-v1"),
            {"seed": -2},
            "seed must be a non-negative int or None, got -2",
        ),
    ],
)
def test_bad_arguments(make, kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        ObservationShift(make(), **kwargs)
