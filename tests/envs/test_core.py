"""Stacked wrappers merge the shift keys; doctests in every module run."""

from __future__ import annotations

import doctest
import importlib

import gymnasium as gym
import pytest

from fade_rl.envs import DynamicsShift, ObservationShift, RewardShift


def test_stacked_layers_merge_info() -> None:
    inner = DynamicsShift(
        gym.make("CartPole-v1"),
        {"gravity": {"type": "piecewise", "boundaries": [2], "values": [9.8, 12.0]}},
    )
    env = RewardShift(inner, scale={"type": "piecewise", "boundaries": [4], "values": [1.0, 3.0]})
    _, info = env.reset(seed=0)
    assert info["shift_values"] == {
        "dynamics.gravity": 9.8,
        "reward.scale": 1.0,
        "reward.offset": 0.0,
        "reward.sign": 1.0,
    }
    infos, rewards = [], []
    for _ in range(6):
        _, r, *_, info = env.step(1)
        infos.append(info)
        rewards.append(r)
    assert [i["shift"] for i in infos] == [False, False, True, False, True, False]
    assert [i["segment"] for i in infos] == [0, 0, 1, 1, 2, 2]
    assert [i["shift_values"]["dynamics.gravity"] for i in infos] == [9.8, 9.8] + [12.0] * 4
    assert rewards == [1.0] * 4 + [3.0] * 2
    assert all(i["unshifted_reward"] == 1.0 for i in infos)
    assert infos[0]["shift_values"] is not infos[1]["shift_values"]  # fresh dict per step


def test_values_are_those_of_the_last_step_taken() -> None:
    env = ObservationShift(
        gym.make("CartPole-v1"), scale={"type": "linear", "start": 1.0, "end": 2.0, "duration": 4}
    )
    env.reset(seed=0)
    assert env.values["scale"] == 1.0
    for _ in range(3):
        env.step(0)
    assert env.clock == 3
    assert env.values["scale"] == 1.5  # read at step 2, the last step taken


@pytest.mark.parametrize(
    "module",
    [
        "core",
        "schedules",
        "schedules.base",
        "schedules.deterministic",
        "schedules.stochastic",
        "schedules.parsing",
        "reward",
        "dynamics.base",
        "dynamics.classic_control",
        "dynamics.mujoco",
        "dynamics.registry",
        "dynamics.shift",
        "observation",
        "action",
        "minatar",
        "registration",
        "task_sequence",
    ],
)
def test_docstring_examples_run(module: str) -> None:
    mod = importlib.import_module(f"fade_rl.envs.{module}")
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


def test_envs_package_imports_no_torch_and_nothing_above_it() -> None:
    """DESIGN.md: envs knows no torch; arrows point down only (envs may not import agents...)."""
    import ast
    from pathlib import Path

    import fade_rl.envs

    forbidden = (
        "torch",
        "fade_rl.agents",
        "fade_rl.algos",
        "fade_rl.nets",
        "fade_rl.metrics",
        "fade_rl.experiments",
        "fade_rl.cli",
    )
    for path in Path(fade_rl.envs.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert not name.startswith(forbidden), f"{path.name} imports {name}"
