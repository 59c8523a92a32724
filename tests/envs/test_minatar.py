"""MinAtar ids: observations against MinAtar's own state, sticky actions, seeding, padding,
the C-MinAtar sequence's switches, checkers, bad arguments, lazy import."""

from __future__ import annotations

import subprocess
import sys
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import fade_rl.envs  # noqa: F401  (registers the ids)
from fade_rl.envs.minatar import (
    C_MINATAR_GAMES,
    MINATAR_GAMES,
    MinAtarEnv,
    make_minatar_sequence,
    minatar_channels,
    minatar_env_id,
)

# Channel counts read off MinAtar's game sources (each Env's ``self.channels`` dict).
CHANNELS = {"asterix": 4, "breakout": 4, "freeway": 7, "seaquest": 10, "space_invaders": 6}
SEQUENCE = "fade_rl/MinAtar-Sequence-v0"


def test_importing_envs_imports_neither_minatar_nor_torch() -> None:
    code = (
        "import sys, gymnasium as gym, fade_rl.envs; "
        "gym.spec('fade_rl/MinAtar-Seaquest-v0'); "
        "print('minatar' in sys.modules, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


@pytest.mark.parametrize("game", sorted(CHANNELS))
def test_ids_spaces_and_channel_counts(game: str) -> None:
    env_id = minatar_env_id(game)
    assert env_id == f"fade_rl/MinAtar-{game.title().replace('_', '')}-v0"
    assert MINATAR_GAMES[env_id.split("-")[1]] == game
    assert minatar_channels(game) == CHANNELS[game]
    env = gym.make(env_id)
    assert env.observation_space == gym.spaces.Box(0, 1, (CHANNELS[game], 10, 10), np.uint8)
    assert env.action_space == gym.spaces.Discrete(6)
    assert env.spec is not None and env.spec.max_episode_steps == 10_000


def _raw_seed(seed: int) -> int:
    """The seed MinAtarEnv hands MinAtar on ``reset(seed=seed)``: the first draw of np_random."""
    rng, _ = gym.utils.seeding.np_random(seed)
    return int(rng.integers(2**31 - 1))


@pytest.mark.parametrize("game", ["space_invaders", "seaquest"])
def test_observations_rewards_and_ends_match_minatar(game: str) -> None:
    """MinAtar's game, seeded from ``reset(seed)``, channels moved first, as 0/1 bytes."""
    from minatar import Environment

    env = MinAtarEnv(game)
    raw = Environment(game, sticky_action_prob=0.1)
    obs, _ = env.reset(seed=3)
    raw.seed(_raw_seed(3))
    raw.reset()
    actions = np.random.default_rng(0).integers(0, 6, size=400)
    total, ends = 0.0, 0
    for a in actions:
        state = raw.state()
        assert obs.dtype == np.uint8 and obs.shape == (CHANNELS[game], 10, 10)
        np.testing.assert_array_equal(obs, np.moveaxis(state, -1, 0).astype(np.uint8))
        obs, reward, terminated, truncated, _ = env.step(a)
        raw_reward, raw_done = raw.act(int(a))
        assert (reward, terminated, truncated) == (raw_reward, raw_done, False)
        total += reward
        if terminated:
            ends += 1
            obs, _ = env.reset()
            raw.last_action = 0  # MinAtarEnv starts every episode with a no-op as last action
            raw.reset()
    assert ends >= 2 and total > 0  # the comparison went through episode ends and rewards


def _paddle(obs: np.ndarray) -> int:
    """Breakout's paddle column (channel 0, bottom row)."""
    (col,) = np.flatnonzero(obs[0, 9])
    return int(col)


def test_sticky_actions_repeat_the_last_action_which_reset_clears() -> None:
    left, right = 1, 3
    free = MinAtarEnv("breakout", sticky_action_prob=0.0)
    obs, _ = free.reset(seed=0)
    start = _paddle(obs)
    for k in range(1, 3):
        obs, *_ = free.step(left)
        assert _paddle(obs) == start - k

    stuck = MinAtarEnv("breakout", sticky_action_prob=1.0)
    obs, _ = stuck.reset(seed=0)
    for _ in range(2):  # every action is replaced by the last one: the no-op of reset
        obs, *_ = stuck.step(left)
        assert _paddle(obs) == start
    # Move left freely, then make actions stick: after reset the no-op sticks, not "left".
    stuck.game.sticky_action_prob = 0.0
    stuck.step(left)
    stuck.game.sticky_action_prob = 1.0
    obs, _ = stuck.reset()
    obs, *_ = stuck.step(right)
    assert _paddle(obs) == start


def test_seeded_reset_restarts_the_game_and_seeds_differ() -> None:
    def run(env: MinAtarEnv, seed: int) -> list:
        obs, _ = env.reset(seed=seed)
        out = [obs]
        for a in np.random.default_rng(1).integers(0, 6, size=300):
            obs, reward, terminated, _, _ = env.step(a)
            out.append((obs, reward))
            if terminated:
                out.append(env.reset()[0])
        return out

    env = MinAtarEnv("asterix")
    a = run(env, 7)
    assert gym.utils.env_checker.data_equivalence(a, run(env, 7))  # same env object, replayed
    assert gym.utils.env_checker.data_equivalence(a, run(MinAtarEnv("asterix"), 7))
    assert not gym.utils.env_checker.data_equivalence(a, run(env, 8))


def test_padding_appends_empty_channels() -> None:
    plain = MinAtarEnv("breakout", sticky_action_prob=0.0)
    padded = MinAtarEnv("breakout", sticky_action_prob=0.0, channels=10)
    assert padded.observation_space.shape == (10, 10, 10)
    a, _ = plain.reset(seed=2)
    b, _ = padded.reset(seed=2)
    for action in [0, 1, 1, 3, 5] * 4:
        np.testing.assert_array_equal(b[:4], a)
        assert not b[4:].any()
        a, *_ = plain.step(action)
        b, *_ = padded.step(action)


def test_render_rgb_array_colours_each_channel() -> None:
    import seaborn as sns

    env = MinAtarEnv("breakout", render_mode="rgb_array")
    obs, _ = env.reset(seed=0)
    frame = env.render()
    assert frame is not None and frame.shape == (10, 10, 3) and frame.dtype == np.uint8
    palette = (np.asarray(sns.color_palette("cubehelix", 4)) * 255).astype(np.uint8)
    np.testing.assert_array_equal(frame[9, _paddle(obs)], palette[0])  # paddle: channel 0
    empty = ~obs.any(axis=0)
    assert empty.any() and not frame[empty].any()
    assert MinAtarEnv("breakout").render() is None


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"game": "pong"}, r"unknown MinAtar game 'pong'; use one of \['asterix'"),
        ({"game": "breakout", "sticky_action_prob": 1.5}, r"sticky_action_prob must be a prob"),
        ({"game": "breakout", "sticky_action_prob": True}, r"sticky_action_prob must be a prob"),
        ({"game": "seaquest", "channels": 6}, r"channels must be an integer >= 10 \(seaquest"),
        ({"game": "breakout", "difficulty_ramping": 1}, r"difficulty_ramping must be true"),
        ({"game": "breakout", "render_mode": "human"}, r"render_mode must be None or 'rgb_array'"),
    ],
)
def test_bad_arguments_say_what_to_do(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        MinAtarEnv(**kwargs)


def test_out_of_range_action_is_refused() -> None:
    env = MinAtarEnv("breakout")
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"action must be in 0\.\.5, got 6"):
        env.step(6)


# ------------------------------------------------------------------------- the sequence
def test_sequence_switches_games_at_the_right_steps() -> None:
    env = gym.make(SEQUENCE, switch_every=40)
    assert env.observation_space == gym.spaces.Box(0, 1, (10, 10, 10), np.uint8)
    assert env.action_space == gym.spaces.Discrete(6)
    obs, info = env.reset(seed=0)
    assert info["task_id"] == minatar_env_id("space_invaders") and not info["shift"]
    env.action_space.seed(0)
    ids = [minatar_env_id(g) for g in C_MINATAR_GAMES]
    rows = []
    for t in range(130):
        assert obs.shape == (10, 10, 10)
        # The game in force fills its own channels only (SpaceInvaders 6, Asterix 4).
        assert not obs[CHANNELS[C_MINATAR_GAMES[(t // 40) % 3]] :].any()
        obs, _, terminated, truncated, info = env.step(env.action_space.sample())
        rows.append((info["task_id"], info["shift"], info["segment"], info["clock"], truncated))
        if terminated or truncated:
            obs, _ = env.reset()
    assert [r[0] for r in rows] == [ids[(t // 40) % 3] for t in range(130)]
    assert [t for t, r in enumerate(rows) if r[1]] == [40, 80, 120]
    assert [r[2] for r in rows] == [t // 40 for t in range(130)]
    assert [r[3] for r in rows] == list(range(130))
    assert all(rows[t][4] for t in (39, 79, 119))  # the episode is cut before each switch


def test_sequence_passes_both_checkers() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # SB3: "not an image in [0, 255]", "36x36"
        gym_check_env(gym.make(SEQUENCE, switch_every=5), skip_render_check=True)
        sb3_check_env(gym.make(SEQUENCE, switch_every=5), warn=False)


def test_sequence_options_reach_every_game() -> None:
    env = make_minatar_sequence(
        switch_every=10, games=["breakout", "freeway"], sticky_action_prob=0.0
    )
    assert env.observation_space.shape == (7, 10, 10)  # Freeway's 7 channels
    for task in env.envs:
        assert task.unwrapped.game.sticky_action_prob == 0.0
        assert task.observation_space.shape == (7, 10, 10)


@pytest.mark.parametrize(
    ("games", "match"),
    [
        (["breakout"], "games must be a list of at least 2 MinAtar games"),
        ("breakout", "games must be a list of at least 2 MinAtar games"),
        (["breakout", "SpaceInvaders"], r"unknown MinAtar game 'SpaceInvaders'"),
    ],
)
def test_sequence_bad_games(games, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make_minatar_sequence(switch_every=10, games=games)


def test_minatar_own_gym_env_fails_the_checker_that_ours_passes() -> None:
    """Why MinAtarEnv exists: minatar 1.0.15's gym class skips ``super().reset()``."""
    from minatar.gym import BaseEnv

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with pytest.raises(AssertionError, match=r"does not call `super\(\).reset\(seed=seed\)`"):
            gym_check_env(BaseEnv("breakout"), skip_render_check=True)
        gym_check_env(MinAtarEnv("breakout"), skip_render_check=True)
