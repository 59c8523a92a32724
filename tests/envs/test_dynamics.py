"""DynamicsShift: every parameter changes the physics; CartPole against hand-computed physics."""

from __future__ import annotations

import copy
import math
import warnings

import gymnasium as gym
import numpy as np
import pytest

from fade_rl.envs import DynamicsShift
from fade_rl.envs.dynamics import DynamicsAdapter, adapter_for

# (env id, parameter, new value, action, steps compared)
CASES = [
    ("CartPole-v1", "gravity", 20.0, 1, 1),
    ("CartPole-v1", "masscart", 3.0, 1, 1),
    ("CartPole-v1", "masspole", 0.5, 1, 1),
    ("CartPole-v1", "length", 1.0, 1, 1),
    ("CartPole-v1", "force_mag", 20.0, 1, 1),
    ("Pendulum-v1", "g", 15.0, [1.0], 1),
    ("Pendulum-v1", "m", 2.0, [1.0], 1),
    ("Pendulum-v1", "l", 2.0, [1.0], 1),
    ("Pendulum-v1", "max_torque", 0.5, [2.0], 1),
    ("MountainCar-v0", "force", 0.002, 2, 1),
    ("MountainCar-v0", "gravity", 0.005, 2, 1),
    ("MountainCarContinuous-v0", "power", 0.003, [1.0], 1),
    ("Acrobot-v1", "link_mass_1", 2.0, 2, 1),
    ("Acrobot-v1", "link_mass_2", 2.0, 2, 1),
    ("Acrobot-v1", "link_length_1", 1.5, 2, 1),
    ("Acrobot-v1", "link_length_2", 1.5, 2, 1),
    ("Acrobot-v1", "link_moi", 2.0, 2, 1),
    ("HalfCheetah-v5", "body_mass_scale", 2.0, [1.0] * 6, 10),
    ("HalfCheetah-v5", "friction_scale", 0.1, [1.0] * 6, 10),
    ("HalfCheetah-v5", "gravity", 3.0, [1.0] * 6, 10),
]


def _snapshot(base: gym.Env):
    if hasattr(base, "data"):  # MuJoCo
        return base.data.qpos.copy(), base.data.qvel.copy()
    return copy.deepcopy(base.state)


def _restore(base: gym.Env, snap) -> None:
    if hasattr(base, "data"):
        base.set_state(*snap)
    else:
        base.state = copy.deepcopy(snap)


def _two_runs(env_id: str, param: str, new_value: float, action, k: int):
    """From one state, k steps under the default value, then k steps under ``new_value``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = gym.make(env_id)
    default = adapter_for(raw).defaults[param]
    schedule = {"type": "piecewise", "boundaries": [k], "values": [default, new_value]}
    env = DynamicsShift(raw, {param: schedule})
    env.reset(seed=0)
    base = env.unwrapped
    snap = _snapshot(base)
    act = np.asarray(action, dtype=np.float32) if isinstance(action, list) else action
    for _ in range(k):
        before, *_ = env.step(act)
    _restore(base, snap)
    for step in range(k):
        after, _, _, _, info = env.step(act)
        assert info["shift_values"][f"dynamics.{param}"] == new_value
        assert info["shift"] == (step == 0)
    return np.asarray(before, dtype=np.float64), np.asarray(after, dtype=np.float64)


@pytest.mark.parametrize(("env_id", "param", "new_value", "action", "k"), CASES)
def test_each_parameter_changes_the_next_state(env_id, param, new_value, action, k) -> None:
    before, after = _two_runs(env_id, param, new_value, action, k)
    assert not np.allclose(before, after, rtol=0, atol=1e-9), f"{param} did not change physics"


@pytest.mark.parametrize("env_id", ["CartPole-v1", "Acrobot-v1", "HalfCheetah-v5"])
def test_same_value_gives_same_next_state(env_id) -> None:
    """Control for the test above: restoring the state and keeping the value repeats the step."""
    case = next(c for c in CASES if c[0] == env_id)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        default = adapter_for(gym.make(env_id)).defaults[case[1]]
    before, after = _two_runs(env_id, case[1], default, case[3], case[4])
    np.testing.assert_allclose(before, after, rtol=0, atol=1e-9)  # MuJoCo warm start: ~1e-14


def test_cartpole_matches_hand_computed_physics_with_derived_quantities() -> None:
    env = DynamicsShift(gym.make("CartPole-v1"), {"masspole": 0.5, "length": 1.0, "gravity": 12.0})
    env.reset(seed=0)
    base = env.unwrapped
    assert base.total_mass == pytest.approx(1.5)
    assert base.polemass_length == pytest.approx(0.5)
    base.state = np.array([0.0, 0.0, 0.1, 0.0])
    obs, *_ = env.step(1)
    # Euler step of Gymnasium's CartPole with masscart 1, masspole 0.5, half length 1, g 12.
    force, mp, mt, half, g, tau = 10.0, 0.5, 1.5, 1.0, 12.0, 0.02
    s, c = math.sin(0.1), math.cos(0.1)
    temp = force / mt
    thetaacc = (g * s - c * temp) / (half * (4.0 / 3.0 - mp * c * c / mt))
    xacc = temp - mp * half * thetaacc * c / mt
    expected = [0.0, tau * xacc, 0.1, tau * thetaacc]
    np.testing.assert_allclose(obs, expected, rtol=1e-6)


def test_defaults_are_read_from_the_env() -> None:
    assert adapter_for(gym.make("CartPole-v1")).defaults == {
        "gravity": 9.8,
        "masscart": 1.0,
        "masspole": 0.1,
        "length": 0.5,
        "force_mag": 10.0,
    }
    assert adapter_for(gym.make("Pendulum-v1", g=9.0)).defaults["g"] == 9.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mujoco = adapter_for(gym.make("HalfCheetah-v5"))
    assert mujoco.defaults == {
        "body_mass_scale": 1.0,
        "friction_scale": 1.0,
        "gravity": pytest.approx(9.81),
    }


def test_acrobot_length_moves_centre_of_mass() -> None:
    env = DynamicsShift(gym.make("Acrobot-v1"), {"link_length_2": 3.0})
    env.reset(seed=0)
    assert env.unwrapped.LINK_LENGTH_2 == 3.0 and env.unwrapped.LINK_COM_POS_2 == 1.5


def test_register_adapter_adds_a_family() -> None:
    from fade_rl.envs.dynamics import register_adapter, registry

    class FrozenLakeAdapter(DynamicsAdapter):
        family = "FrozenLakeTest"
        parameters = {"slip": None}  # noqa: RUF012

        @classmethod
        def matches(cls, env):
            return type(env).__name__ == "FrozenLakeEnv"

        def read(self, name):
            return 0.0

        def apply(self, values):
            self.env.test_slip = values["slip"]

    register_adapter(FrozenLakeAdapter)
    try:
        env = DynamicsShift(gym.make("FrozenLake-v1"), {"slip": 0.25})
        env.reset(seed=0)
        assert env.unwrapped.test_slip == 0.25
    finally:
        registry._ADAPTERS.remove(FrozenLakeAdapter)


@pytest.mark.parametrize(
    ("env_id", "params", "match"),
    [
        (
            "CartPole-v1",
            {"mass": 2.0},
            "'mass' is not a dynamics parameter of CartPole; valid "
            "parameters: force_mag, gravity, length, masscart, masspole",
        ),
        ("Pendulum-v1", {"gravity": 2.0}, "valid parameters: g, l, m, max_torque"),
        ("CartPole-v1", {}, "params must be a non-empty dict"),
        ("Pendulum-v1", {"max_torque": -1.0}, "Pendulum max_torque must stay > 0.0"),
        (
            "CartPole-v1",
            {"masspole": {"type": "periodic", "values": [0.1, 0.0], "period": 5}},
            r"CartPole masspole must stay > 0.0, but its schedule can reach 0.0; bound it",
        ),
        (
            "CartPole-v1",
            {"length": {"type": "random_walk", "start": 0.5, "std": 0.1}},
            "length must stay > 0.0, but its schedule can reach -inf",
        ),
        (
            "FrozenLake-v1",
            {"slip": 0.1},
            "no dynamics adapter for FrozenLakeEnv; supported "
            "families: CartPole, Pendulum, MountainCar, MountainCarContinuous, Acrobot, MuJoCo",
        ),
    ],
)
def test_bad_arguments(env_id, params, match) -> None:
    with pytest.raises(ValueError, match=match):
        DynamicsShift(gym.make(env_id), params)
