"""ObservationOffsets and the continual Gym control ids (TRAC's and C-CHAIN's protocol)."""

from __future__ import annotations

import subprocess
import sys
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import fade_rl.envs
from fade_rl.envs import ObservationOffsets

IDS = {
    "fade_rl/CartPole-ObsOffsets-v0": "CartPole-v1",
    "fade_rl/Acrobot-ObsOffsets-v0": "Acrobot-v1",
}


def _paired_run(env_id: str, base: str, seed: int, steps: int, **kwargs):
    """Step the shifted id and its raw base in lockstep (same actions, same resets).

    Returns per step: clock, shift flag, level, observed offset (shifted - raw obs), done.
    """
    env = gym.make(env_id, **kwargs)
    raw = gym.make(base, max_episode_steps=400)
    obs, info = env.reset(seed=seed)
    raw_obs, _ = raw.reset(seed=seed)
    rng = np.random.default_rng(seed)
    rows = []
    assert info["shift_values"]["observation.level"] == 0
    np.testing.assert_array_equal(obs, raw_obs)
    for _ in range(steps):
        action = int(rng.integers(env.action_space.n))
        obs, _, term, trunc, info = env.step(action)
        raw_obs, _, raw_term, raw_trunc, _ = raw.step(action)
        assert (term, trunc) == (raw_term, raw_trunc)
        level = info["shift_values"]["observation.level"]
        rows.append((info["clock"], info["shift"], level, obs - raw_obs, term or trunc))
        if term or trunc:
            obs, _ = env.reset()
            raw_obs, _ = raw.reset()
    return env, rows


@pytest.mark.parametrize("env_id", IDS)
def test_level_zero_has_no_offset_and_offsets_change_exactly_every_level_steps(env_id):
    level_steps = 37  # levels change inside episodes, and the clock runs on across them
    env, rows = _paired_run(env_id, IDS[env_id], seed=3, steps=450, level_steps=level_steps)
    offsets = env.get_wrapper_attr("offsets")
    for step, (clock, shift, level, diff, _) in enumerate(rows):
        assert clock == step
        assert level == min(clock // level_steps, 9)  # 10 levels, then the last one stays
        assert shift == (0 < clock < 10 * level_steps and clock % level_steps == 0)
        np.testing.assert_allclose(diff, offsets[level], atol=1e-5)
    assert sum(done for *_, done in rows) >= 1  # at least one episode ended on the way
    assert not offsets[0].any()
    assert (offsets[1:] != 0).all()


def test_level_stays_at_the_last_after_all_levels():
    env = ObservationOffsets(gym.make("CartPole-v1"), levels=2, level_steps=3)
    env.reset(seed=0)
    levels = []
    for _ in range(10):
        _, _, term, trunc, info = env.step(0)
        levels.append(info["shift_values"]["observation.level"])
        if term or trunc:
            env.reset()
    assert levels == [0, 0, 0] + [1] * 7
    assert env.level == 1


def test_same_seed_same_offsets_other_seed_other_offsets():
    def offsets(seed: int) -> np.ndarray:
        env = gym.make("fade_rl/CartPole-ObsOffsets-v0")
        env.reset(seed=seed)
        return env.get_wrapper_attr("offsets").copy()

    np.testing.assert_array_equal(offsets(5), offsets(5))
    assert not np.array_equal(offsets(5), offsets(6))
    # an unseeded reset keeps the seed's offsets; a fixed ``seed`` pins them for every reset
    env = gym.make("fade_rl/CartPole-ObsOffsets-v0", seed=11)
    env.reset(seed=1)
    first = env.get_wrapper_attr("offsets").copy()
    env.reset()
    env.reset(seed=2)
    np.testing.assert_array_equal(first, env.get_wrapper_attr("offsets"))


def test_offsets_have_standard_deviation_scale():
    env = ObservationOffsets(gym.make("Acrobot-v1"), levels=2001, level_steps=1, scale=2.0)
    env.reset(seed=0)
    drawn = env.offsets[1:].astype(np.float64).ravel()  # 2000 levels x 6 dims
    assert abs(drawn.mean()) < 0.1
    assert abs(drawn.std() - 2.0) < 0.1  # scale is the standard deviation, not the variance


def test_registered_defaults_and_400_step_episodes():
    for env_id, base in IDS.items():
        spec = gym.spec(env_id)
        assert spec.max_episode_steps == 400
        assert spec.kwargs == {"base": base, "levels": 10, "level_steps": 160_000, "scale": 2.0}
    env = gym.make("fade_rl/CartPole-ObsOffsets-v0")
    env.reset(seed=0)
    env.unwrapped.theta_threshold_radians = 1e9  # never falls: only the time limit ends it
    env.unwrapped.x_threshold = 1e9
    for t in range(1, 401):
        _, _, term, trunc, _ = env.step(t % 2)
        assert not term
        assert trunc == (t == 400)


@pytest.mark.parametrize("env_id", IDS)
def test_gymnasium_check_env_passes_and_space_is_unbounded(env_id):
    env = gym.make(env_id, level_steps=5)
    assert env.observation_space.shape == gym.make(IDS[env_id]).observation_space.shape
    assert np.isinf(env.observation_space.low).all() and np.isinf(env.observation_space.high).all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "minimum value is -infinity"
        check_env(env, skip_render_check=True)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"levels": 0}, "levels must be an int >= 1"),
        ({"level_steps": 1.5}, "level_steps must be an int >= 1"),
        ({"scale": -1.0}, "scale must be a finite number >= 0"),
        ({"scale": "2"}, "scale must be a number >= 0"),
        ({"seed": -3}, "seed must be an int >= 0"),
        ({"permute": 1}, "permute must be true or false"),
        ({"flip_signs": "yes"}, "flip_signs must be true or false"),
    ],
)
def test_bad_arguments_name_the_problem(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ObservationOffsets(gym.make("CartPole-v1"), **kwargs)


def test_permuted_and_sign_flipped_levels_by_hand():
    """Level k >= 1 observes sign[k] * obs[perm[k]] + offset[k]; level 0 the raw obs."""
    kwargs = dict(levels=4, level_steps=7, scale=0.5, permute=True, flip_signs=True)
    env = gym.make("fade_rl/CartPole-ObsOffsets-v0", **kwargs)
    raw = gym.make("CartPole-v1", max_episode_steps=400)
    obs, _ = env.reset(seed=3)
    raw_obs, _ = raw.reset(seed=3)
    perms, signs, offsets = (env.get_wrapper_attr(a) for a in ("permutations", "signs", "offsets"))
    np.testing.assert_array_equal(obs, raw_obs)
    assert (perms[0] == np.arange(4)).all() and (signs[0] == 1).all()
    for level in range(1, 4):
        assert sorted(perms[level]) == [0, 1, 2, 3] and set(signs[level]) <= {-1.0, 1.0}
    assert len({tuple(p) for p in perms[1:]}) > 1 and (signs[1:] == -1).any()
    for t in range(1, 28):
        obs, _, term, trunc, info = env.step(t % 2)
        raw_obs, *_ = raw.step(t % 2)
        level = (t - 1) // 7  # step t runs under the clock t - 1
        expected = signs[level] * raw_obs[perms[level]] + offsets[level]
        np.testing.assert_allclose(obs, expected, rtol=1e-6)
        assert info["shift_values"]["observation.level_signs"] == tuple(signs[level])
        if term or trunc:
            break


def test_permutations_leave_a_seeds_offsets_as_they_were():
    def drawn(**kwargs):
        env = gym.make("fade_rl/CartPole-ObsOffsets-v0", **kwargs)
        env.reset(seed=5)
        return {a: env.get_wrapper_attr(a).copy() for a in ("offsets", "permutations")}

    plain, both = drawn(), drawn(permute=True, flip_signs=True)
    np.testing.assert_array_equal(plain["offsets"], both["offsets"])
    assert (plain["permutations"] == np.arange(4)).all()
    assert not (both["permutations"] == np.arange(4)).all()
    np.testing.assert_array_equal(both["permutations"], drawn(permute=True)["permutations"])


def test_permutations_need_a_flat_observation():
    from gymnasium.spaces import Box

    class Image(gym.Env):
        observation_space = Box(0.0, 1.0, (2, 2))
        action_space = gym.spaces.Discrete(2)

    with pytest.raises(ValueError, match=r"permute and flip_signs need a 1-D .*drop them"):
        ObservationOffsets(Image(), permute=True)


def test_needs_a_float_box():
    with pytest.raises(ValueError, match="floating-point Box"):
        ObservationOffsets(gym.make("FrozenLake-v1"))


def test_ids_are_listed_by_fade_rl_envs():
    listed = dict(fade_rl.envs.list_envs())
    assert set(IDS) <= set(listed)
    out = subprocess.run(
        [sys.executable, "-m", "fade_rl.cli", "envs"], capture_output=True, text=True, check=True
    ).stdout
    for env_id in IDS:
        assert env_id in out
