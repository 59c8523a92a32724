"""SwitchingFrozenLake: the blog's maps and switch, the fade_rl info keys, seeding, errors."""

from __future__ import annotations

import itertools

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import fade_rl.envs  # noqa: F401 - registers the id
from fade_rl.envs import SwitchingFrozenLake

LEFT, DOWN, RIGHT, UP = 0, 1, 2, 3
SWITCH_AFTER_1 = {"type": "piecewise", "boundaries": [1], "values": [0, 1]}


def _cell(obs: np.ndarray) -> int:
    assert obs.dtype == np.float32 and obs.shape == (4,) and obs.sum() == 1.0
    return int(obs.argmax())


def test_first_map_old_route_reaches_the_goal_new_route_falls_in() -> None:
    env = SwitchingFrozenLake(map_schedule=SWITCH_AFTER_1)
    obs, info = env.reset(seed=0)
    assert _cell(obs) == 0
    assert info == {"clock": 0, "segment": 0, "shift": False, "shift_values": {"lake.map": 0}}
    obs, reward, terminated, truncated, info = env.step(DOWN)  # S -> F at (1, 0)
    assert (_cell(obs), reward, terminated, truncated) == (2, 0.0, False, False)
    obs, reward, terminated, _, info = env.step(RIGHT)  # F -> G
    assert (_cell(obs), reward, terminated) == (3, 1.0, True)
    assert info["clock"] == 1 and info["unshifted_reward"] == 1.0 and not info["shift"]
    env.reset(seed=0)
    obs, reward, terminated, _, _ = env.step(RIGHT)  # S -> H at (0, 1)
    assert (_cell(obs), reward, terminated) == (1, 0.0, True)


def test_second_map_flips_the_route_and_marks_the_shift_once() -> None:
    env = SwitchingFrozenLake(map_schedule=SWITCH_AFTER_1)
    env.reset(seed=0)
    env.step(RIGHT)  # episode 0 ends in the hole
    obs, info = env.reset()  # episode 1: second map
    assert info["shift"] is False and info["segment"] == 0  # reset never marks the shift
    assert info["shift_values"] == {"lake.map": 1} and env.episode == 1
    obs, reward, terminated, _, info = env.step(RIGHT)  # S -> F at (0, 1)
    assert (_cell(obs), reward, terminated) == (1, 0.0, False)
    assert info["shift"] is True and info["segment"] == 1 and info["clock"] == 1
    obs, reward, terminated, _, info = env.step(DOWN)  # F -> G
    assert (_cell(obs), reward, terminated) == (3, 1.0, True)
    assert info["shift"] is False and info["segment"] == 1
    env.reset()
    obs, reward, terminated, _, info = env.step(DOWN)  # the old route: now a hole
    assert (_cell(obs), reward, terminated, info["shift"]) == (2, 0.0, True, False)


def test_registered_id_switches_on_episode_200_with_two_steps_per_episode() -> None:
    env = gym.make("fade_rl/FrozenLake-SwitchingGoal-v0")
    env.reset(seed=3)
    shifts = []
    for episode in range(203):
        if episode:
            env.reset()
        steps = 0
        while True:
            _, _, terminated, truncated, info = env.step(LEFT)  # bump the wall: stay on S
            steps += 1
            if info["shift"]:
                shifts.append((episode, steps))
            if terminated or truncated:
                break
        assert (steps, terminated, truncated) == (2, False, True)  # time limit 2
        assert info["shift_values"]["lake.map"] == (0 if episode < 200 else 1)
    assert shifts == [(200, 1)]


def test_seeded_reset_restarts_the_process_unseeded_keeps_it() -> None:
    env = SwitchingFrozenLake(map_schedule={"type": "periodic", "values": [0, 1], "period": 2})
    env.reset(seed=1)
    maps = []
    for _ in range(5):
        _, _, _, _, info = env.step(RIGHT)
        maps.append(info["shift_values"]["lake.map"])
        env.reset()
    assert maps == [0, 0, 1, 1, 0]  # periodic: 2 episodes on each map
    assert env.clock == 5 and env.segment == 2
    _, info = env.reset(seed=1)
    assert (env.episode, env.clock, env.segment, info["shift_values"]) == (0, 0, 0, {"lake.map": 0})


def test_random_switch_schedule_is_driven_by_the_reset_seed() -> None:
    maps3 = [["SF", "FG"], ["SH", "FG"], ["SF", "HG"]]
    schedule = {"type": "random_switch", "values": [0, 1, 2], "every": 1}

    def run(seed: int) -> list[int]:
        env = SwitchingFrozenLake(maps=maps3, map_schedule=schedule)
        env.reset(seed=seed)
        out = []
        for _ in range(30):
            out.append(env.step(UP)[4]["shift_values"]["lake.map"])
            env.reset()
        return out

    a = run(0)
    assert a == run(0) and a != run(1)
    assert all(x != y for x, y in itertools.pairwise(a))  # every episode a new map


def test_checkers_pass_and_spec_rebuilds_with_recorded_overrides() -> None:
    gym_check_env(SwitchingFrozenLake(), skip_render_check=True)
    sb3_check_env(SwitchingFrozenLake(), warn=False)
    env = gym.make("fade_rl/FrozenLake-SwitchingGoal-v0", map_schedule=SWITCH_AFTER_1)
    rebuilt = gym.make(env.spec)
    assert rebuilt.unwrapped.map_schedule == env.unwrapped.map_schedule
    assert SwitchingFrozenLake(map_schedule=SWITCH_AFTER_1)._saved_kwargs == {
        "maps": [["SH", "FG"], ["SF", "HG"]],
        "map_schedule": {"type": "piecewise", "boundaries": [1], "values": [0.0, 1.0]},
        "is_slippery": False,
        "render_mode": None,
    }


def test_render_shows_the_map_in_force() -> None:
    env = SwitchingFrozenLake(map_schedule=SWITCH_AFTER_1, render_mode="ansi")
    env.reset(seed=0)
    assert "H" in env.render().splitlines()[1]  # first map: hole at (0, 1)
    env.step(RIGHT)
    env.reset()
    assert "H" in env.render().splitlines()[2]  # second map: hole at (1, 0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"maps": [["SH", "FG"]]}, "at least 2 maps"),
        ({"maps": [["SH", "FG"], ["SX", "HG"]]}, "letters S, F, H, G"),
        ({"maps": [["SH", "FG"], ["FF", "HG"]]}, "exactly one start"),
        ({"maps": [["SH", "FG"], ["SFF", "HHG"]]}, "shape of maps"),
        (
            {"map_schedule": {"type": "piecewise", "boundaries": [5], "values": [0, 2]}},
            "map indices 0..1",
        ),
        ({"map_schedule": 0.5}, "map indices"),
        (
            {"map_schedule": {"type": "linear", "start": 0, "end": 1, "duration": 5}},
            "constant, piecewise",
        ),
        ({"is_slippery": "no"}, "is_slippery must be a bool"),
        ({"render_mode": "video"}, "render_mode must be"),
    ],
)
def test_bad_arguments_are_rejected_with_a_message(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SwitchingFrozenLake(**kwargs)


def _shortest_path(rows: tuple[str, ...]) -> int | None:
    """Steps from S to G around the holes (breadth first), None if G cannot be reached."""
    n = len(rows)
    frontier, seen = [(0, 0)], {(0, 0)}
    for steps in itertools.count():
        if not frontier:
            return None
        if any(rows[r][c] == "G" for r, c in frontier):
            return steps
        nxt = []
        for r, c in frontier:
            for dr, dc in ((0, 1), (1, 0), (0, -1), (-1, 0)):
                cell = (r + dr, c + dc)
                if 0 <= cell[0] < n and 0 <= cell[1] < n and cell not in seen:
                    seen.add(cell)
                    if rows[cell[0]][cell[1]] != "H":
                        nxt.append(cell)
        frontier = nxt
    return None


def test_the_maps_lake_gives_a_new_solvable_map_every_100_episodes() -> None:
    from fade_rl.envs.switching_frozenlake import LEVEL_MAPS

    assert len(set(LEVEL_MAPS)) == 10 and all(row[0][0] == "S" for row in LEVEL_MAPS)
    assert all(3 <= (_shortest_path(m) or 99) <= 4 for m in LEVEL_MAPS)  # each within the cap
    env = gym.make("fade_rl/FrozenLake-Maps-v0")
    assert env.spec.max_episode_steps == 8
    env.reset(seed=0)
    maps, steps = [], 0
    for episode in range(1000):
        terminated = truncated = False
        while not (terminated or truncated):
            _, _, terminated, truncated, info = env.step(UP)  # never leaves the start cell
            steps += 1
            if info["shift"] or (episode == 0 and steps == 1):
                maps.append((episode, info["shift_values"]["lake.map"]))
        assert truncated  # 8 steps pushing against the wall: the cap ends it
        env.reset()
    assert maps == [(100 * k, k) for k in range(10)]
