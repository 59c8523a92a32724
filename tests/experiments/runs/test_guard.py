"""NonFiniteGuard: a NaN reward, loss, parameter or optimizer state stops the run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import SupportsFloat

import gymnasium as gym
import numpy as np
import pytest
import torch

from fade_rl import NonFiniteGuard
from fade_rl.experiments.runs.config import validate_config
from fade_rl.experiments.runs.folder import RunError, run_dir_for
from fade_rl.experiments.runs.guard import NonFiniteError
from fade_rl.experiments.runs.run import train_run

from ..helpers import fast_config

NAN_ENV = "FadeRlTest/CartPole-NanReward-v0"


class _NanRewardAfter(gym.RewardWrapper):
    """CartPole whose reward becomes NaN from its ``after``-th step on (counted over resets)."""

    def __init__(self, env: gym.Env, after: int = 700) -> None:
        super().__init__(env)
        self.after = after
        self.steps = 0

    def reward(self, reward: SupportsFloat) -> SupportsFloat:
        self.steps += 1
        return float("nan") if self.steps >= self.after else reward


def _make_nan_env(after: int = 700) -> gym.Env:
    return _NanRewardAfter(gym.make("CartPole-v1"), after)


if NAN_ENV not in gym.registry:
    gym.register(NAN_ENV, entry_point=_make_nan_env)


def test_nan_reward_fails_the_run_and_keeps_the_last_good_checkpoint(tmp_path: Path) -> None:
    data = fast_config(n_timesteps=1200, method="none")
    data["env"] = {"id": NAN_ENV}
    config = validate_config(data)
    run_dir = run_dir_for(tmp_path, config)
    with pytest.raises(RunError, match=r"non-finite reward at step 700.*step 600"):
        train_run(config, tmp_path)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "failed" and summary["step"] == 700
    assert summary["last_checkpoint"] == 600 and "reward" in summary["reason"]
    assert json.loads((run_dir / "checkpoint.json").read_text())["step"] == 600
    assert not (run_dir / "final_model.zip").exists()


def _tiny_fade_dqn() -> object:
    from fade_rl import FadeDQN

    torch.manual_seed(0)
    model = FadeDQN(
        "MlpPolicy",
        "CartPole-v1",
        learning_starts=20,
        buffer_size=200,
        batch_size=8,
        policy_kwargs={"net_arch": [8]},
        seed=0,
    )
    model.learn(60)
    return model


def test_guard_names_a_nan_in_fade_state_and_in_parameters() -> None:
    model = _tiny_fade_dqn()
    guard = NonFiniteGuard(check_every=10)
    guard.check_model(model)  # all finite: no error
    optimizer = model.policy.optimizer
    head = next(p for p in optimizer.param_groups[-1]["params"] if p in optimizer.state)
    state = optimizer.state[head]
    key = next(k for k, v in state.items() if torch.is_tensor(v) and v.is_floating_point())
    saved = state[key].clone()
    state[key].view(-1)[0] = float("nan")
    with pytest.raises(NonFiniteError, match=f"state '{key}'") as info:
        guard.check_model(model)
    assert info.value.step == model.num_timesteps
    state[key].copy_(saved)
    with torch.no_grad():
        next(model.policy.parameters()).view(-1)[0] = float("inf")
    with pytest.raises(NonFiniteError, match="parameter q_net"):
        guard.check_model(model)


def test_guard_in_learn_stops_at_the_nan_reward_step() -> None:
    from stable_baselines3 import DQN

    model = DQN("MlpPolicy", _make_nan_env(after=30), learning_starts=10, buffer_size=100)
    with pytest.raises(NonFiniteError, match="non-finite reward at step 30"):
        model.learn(100, callback=NonFiniteGuard(check_every=10))
    buffer = model.replay_buffer  # the guard runs before SB3 stores the transition
    assert buffer.pos == 29 and np.isfinite(buffer.rewards[: buffer.pos]).all()


def test_diverging_parameters_are_caught_by_the_guard_before_a_measurement(tmp_path: Path) -> None:
    """With plasticity measurements on, a NaN weight used to surface as the SVD's
    "linalg.svd failed to converge" (or an empty histogram): the guard checks at every
    measurement step, before the measurement."""
    data = fast_config(n_timesteps=1500, method="none")
    data["algo"]["hyperparams"]["learning_rate"] = 1e30
    data["logging"].update(plasticity_interval=250, checkpoint_interval=500)
    config = validate_config(data)
    with pytest.raises(RunError, match=r"non-finite"):
        train_run(config, tmp_path)
    summary = json.loads((run_dir_for(tmp_path, config) / "summary.json").read_text())
    assert summary["status"] == "failed" and "non-finite" in summary["reason"]


def test_a_non_finite_curvature_fails_the_run_instead_of_crashing_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FADE raises a NaN curvature at its next host read (here the first checkpoint's
    ``state_dict``), which happens before the guard sees any NaN parameter."""
    from fade_rl.optim import FADE

    set_curvature = FADE.set_curvature

    def nan_curvature(self: FADE, param: torch.Tensor, h: torch.Tensor) -> None:
        set_curvature(self, param, h * float("nan"))

    monkeypatch.setattr(FADE, "set_curvature", nan_curvature)
    config = validate_config(fast_config(n_timesteps=1200, method="fade"))
    with pytest.raises(RunError, match=r"training stopped: .*curvature"):
        train_run(config, tmp_path)
    summary = json.loads((run_dir_for(tmp_path, config) / "summary.json").read_text())
    assert summary["status"] == "failed" and "curvature" in summary["reason"]
