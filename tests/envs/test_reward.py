"""RewardShift: hand-computed rewards, the clock across episodes, seeding, spec, errors."""

from __future__ import annotations

import math

import gymnasium as gym
import pytest

from fade_rl.envs import RewardShift


def _run(env: gym.Env, n: int, action: int = 0) -> list[tuple[float, dict]]:
    """n steps of one action, resetting (unseeded) at episode ends."""
    out = []
    for _ in range(n):
        _, reward, terminated, truncated, info = env.step(action)
        out.append((reward, info))
        if terminated or truncated:
            env.reset()
    return out


def test_scale_offset_sign_hand_computed() -> None:
    env = RewardShift(
        gym.make("CartPole-v1"),
        scale=2.0,
        offset=0.5,
        sign={"type": "piecewise", "boundaries": [3], "values": [1, -1]},
    )
    env.reset(seed=0)
    steps = _run(env, 5, action=1)
    assert [r for r, _ in steps] == [2.5, 2.5, 2.5, -1.5, -1.5]
    assert [i["shift"] for _, i in steps] == [False, False, False, True, False]
    assert [i["segment"] for _, i in steps] == [0, 0, 0, 1, 1]
    assert [i["clock"] for _, i in steps] == [0, 1, 2, 3, 4]
    assert all(i["unshifted_reward"] == 1.0 for _, i in steps)
    assert steps[3][1]["shift_values"] == {
        "reward.scale": 2.0,
        "reward.offset": 0.5,
        "reward.sign": -1.0,
    }


def test_clock_runs_across_unseeded_resets_and_restarts_on_seeded_reset() -> None:
    env = RewardShift(
        gym.make("CartPole-v1"), sign={"type": "periodic", "values": [1, -1], "period": 5}
    )
    env.reset(seed=3)
    steps, episode_ends = [], 0
    for _ in range(40):  # always pushing left: episodes of ~10 steps
        _, reward, terminated, truncated, info = env.step(0)
        steps.append((reward, info))
        if terminated or truncated:
            episode_ends += 1
            env.reset()
    assert episode_ends >= 3
    assert [i["clock"] for _, i in steps] == list(range(40))  # unseeded resets keep the clock
    assert [r for r, _ in steps] == [1.0 if (k // 5) % 2 == 0 else -1.0 for k in range(40)]
    assert [i["segment"] for _, i in steps] == [k // 5 for k in range(40)]
    _, info = env.reset(seed=3)
    assert info["clock"] == 0 and info["segment"] == 0 and info["shift"] is False
    assert [r for r, _ in _run(env, 7)] == [1.0] * 5 + [-1.0] * 2


def test_continuous_schedule_changes_values_but_marks_no_shift() -> None:
    env = RewardShift(
        gym.make("CartPole-v1"),
        scale={"type": "sinusoid", "mean": 1.0, "amplitude": 0.5, "period": 8},
    )
    env.reset(seed=0)
    steps = _run(env, 9, action=1)
    for k, (reward, info) in enumerate(steps):
        assert reward == pytest.approx(1.0 + 0.5 * math.sin(2 * math.pi * k / 8))
        assert info["shift"] is False and info["segment"] == 0


def test_random_scale_follows_reset_seed() -> None:
    scale = {"type": "random_walk", "start": 1.0, "std": 0.2, "every": 2, "low": 0.1}

    def rewards(seed: int) -> list[float]:
        env = RewardShift(gym.make("CartPole-v1"), scale=scale)
        env.reset(seed=seed)
        return [r for r, _ in _run(env, 12, action=1)]

    assert rewards(1) == rewards(1)
    assert rewards(1) != rewards(2)
    assert rewards(1)[:2] == [1.0, 1.0]


def test_spec_records_json_configs_and_rebuilds() -> None:
    sign = {"type": "periodic", "values": [1, -1], "period": 2}
    env = RewardShift(gym.make("CartPole-v1"), sign=sign, offset=0.25)
    wrapper_spec = env.spec.additional_wrappers[-1]
    assert wrapper_spec.name == "RewardShift"
    assert wrapper_spec.kwargs == {
        "scale": {"type": "constant", "value": 1.0},
        "offset": {"type": "constant", "value": 0.25},
        "sign": {"type": "periodic", "values": [1.0, -1.0], "period": 2},
    }
    env.spec.to_json()
    rebuilt = gym.make(env.spec)
    env.reset(seed=0)
    rebuilt.reset(seed=0)
    assert (
        [r for r, _ in _run(env, 6, 1)]
        == [r for r, _ in _run(rebuilt, 6, 1)]
        == [1.25, 1.25, -0.75, -0.75, 1.25, 1.25]
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"sign": 0.5}, ValueError, r"sign values must be \+1 or -1, got \[0.5\]; use scale"),
        (
            {"sign": {"type": "linear", "start": 1, "end": -1, "duration": 10}},
            ValueError,
            "sign takes a schedule of \\+1/-1 values .* got a 'linear' schedule",
        ),
        ({"scale": "big"}, TypeError, "RewardShift scale: expected a number, a schedule config"),
        (
            {"offset": {"type": "nope"}},
            ValueError,
            "RewardShift offset: unknown schedule type 'nope'",
        ),
    ],
)
def test_bad_arguments(kwargs, error, match) -> None:
    with pytest.raises(error, match=match):
        RewardShift(gym.make("CartPole-v1"), **kwargs)
