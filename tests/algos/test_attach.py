"""attach_fade: an existing SB3 model becomes its FADE counterpart and keeps what it had."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
import torch as th
from stable_baselines3 import A2C, DQN, SAC, TD3

from fade_rl import FADE, FadeDQN, FadeSAC, FadeTD3, attach_fade
from fade_rl.algos import FadeCheckpointError

from .helpers import trained


def test_trained_dqn_keeps_weights_buffer_counters_and_adam_moments() -> None:
    model = trained(
        DQN,
        "CartPole-v1",
        200,
        net_arch=[24, 12],
        learning_starts=50,
        batch_size=16,
        learning_rate=3e-4,
        exploration_fraction=0.3,
    )
    weights = {n: p.detach().clone() for n, p in model.policy.state_dict().items()}
    adam = model.policy.optimizer
    moments = {id(p): {k: v.clone() for k, v in adam.state[p].items()} for p in adam.state}
    buffer, logger, pos = model.replay_buffer, model.logger, model.replay_buffer.pos

    fade = attach_fade(model, meta_lr=0.5, init_decay=1e-3)

    assert type(fade) is FadeDQN
    assert fade.num_timesteps == 200 and fade._n_updates == model._n_updates
    assert fade.replay_buffer is buffer and fade.replay_buffer.pos == pos
    assert fade.logger is logger
    assert fade.learning_rate == 3e-4 and fade.exploration_fraction == 0.3
    assert fade.batch_size == 16 and fade.policy_kwargs == model.policy_kwargs
    for name, p in fade.policy.state_dict().items():
        assert th.equal(p, weights[name]), name
    optimizer = fade.policy.optimizer
    assert isinstance(optimizer, FADE)
    assert optimizer.param_groups[-1]["meta_lr"] == 0.5
    head = fade.fade_heads["q_net"]
    assert head is fade.q_net.q_net[-1]
    assert type(optimizer.body) is th.optim.Adam  # SB3's optimizer, as it was, on the body
    for p, old_p in zip(fade.q_net.parameters(), model.q_net.parameters(), strict=True):
        state = optimizer.state[p]  # one state dict: the body's Adam state and FADE's
        old = moments[id(old_p)]
        assert int(state["step"]) == int(old["step"])
        assert th.equal(state["exp_avg"], old["exp_avg"])
        assert th.equal(state["exp_avg_sq"], old["exp_avg_sq"])
    assert all(isinstance(optimizer.state[p]["step"], int) for p in (head.weight, head.bias))
    for p in (head.weight, head.bias):
        assert th.allclose(optimizer.decay_rates(p), th.tensor(1e-3))

    fade.learn(100, reset_num_timesteps=False)
    assert fade.num_timesteps == 300
    old_head = model.q_net.q_net[-1]
    assert optimizer.state[head.weight]["step"] > int(moments[id(old_head.weight)]["step"])


@pytest.mark.parametrize(("vanilla", "counterpart"), [(SAC, FadeSAC), (TD3, FadeTD3)])
def test_saved_zip_with_custom_net_arch(vanilla: type, counterpart: type, tmp_path: Path) -> None:
    net_arch = dict(pi=[8], qf=[20, 10])
    model = trained(vanilla, "Pendulum-v1", 60, net_arch=net_arch, learning_starts=30, batch_size=8)
    model.save(tmp_path / "vanilla.zip")
    actor_state = {k: v.clone() for k, v in model.actor.optimizer.state_dict()["state"][0].items()}

    fade = attach_fade(tmp_path / "vanilla.zip", env=model.get_env(), init_decay=1e-5)

    assert type(fade) is counterpart
    assert fade.num_timesteps == 60
    for (name, p), q in zip(
        model.policy.state_dict().items(), fade.policy.state_dict().values(), strict=True
    ):
        assert th.equal(p, q), name
    assert [h.in_features for h in fade.fade_heads.values()] == [10, 10]
    assert type(fade.actor.optimizer) is th.optim.Adam  # the actor is untouched
    for key, value in fade.actor.optimizer.state_dict()["state"][0].items():
        assert th.equal(th.as_tensor(value), th.as_tensor(actor_state[key]))
    assert all(
        math.isclose(r.max().item(), 1e-5, rel_tol=1e-5) for r in fade.fade_decay_rates().values()
    )
    fade.learn(40, reset_num_timesteps=False)  # the replay buffer is empty after a zip; it refills


def test_fresh_model() -> None:
    fade = attach_fade(TD3("MlpPolicy", "Pendulum-v1", policy_kwargs=dict(net_arch=[8])))
    assert type(fade) is FadeTD3 and fade.num_timesteps == 0
    assert not fade.critic.optimizer.state  # nothing to move over


def test_errors_say_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="DQN, SAC, TD3 and PPO"):
        attach_fade(A2C("MlpPolicy", "CartPole-v1", n_steps=64))
    fade = FadeDQN("MlpPolicy", "CartPole-v1", policy_kwargs=dict(net_arch=[8]))
    with pytest.raises(TypeError, match="already a FadeDQN"):
        attach_fade(fade)
    fade.save(tmp_path / "fade.zip")
    with pytest.raises(TypeError, match=r"open it with FadeDQN\.load"):
        attach_fade(tmp_path / "fade.zip")
    with pytest.raises(ValueError, match="unknown keyword arguments"):
        attach_fade(DQN("MlpPolicy", "CartPole-v1"), meta_rate=1.0)
    with pytest.raises(TypeError, match="model or the path"):
        attach_fade(42)  # type: ignore[arg-type]


def test_the_original_model_keeps_working_and_saving_as_sb3(tmp_path: Path) -> None:
    """Old code: the original shared its policy and held FADE's optimizer afterwards."""
    model = trained(DQN, "CartPole-v1", 100, net_arch=[8], learning_starts=50, batch_size=16)
    weights = {n: p.detach().clone() for n, p in model.policy.state_dict().items()}
    optimizer = model.policy.optimizer

    fade = attach_fade(model)
    fade.learn(100, reset_num_timesteps=False)

    assert model.policy is not fade.policy and model.q_net is model.policy.q_net
    assert model.policy.optimizer is optimizer and type(optimizer) is th.optim.Adam
    assert not {id(p) for g in optimizer.param_groups for p in g["params"]} & {
        id(p) for p in fade.policy.parameters()
    }
    for name, p in model.policy.state_dict().items():  # FADE's training left it alone
        assert th.equal(p, weights[name]), name
    model.learn(50, reset_num_timesteps=False)  # and it still trains
    model.save(tmp_path / "original.zip")
    reloaded = DQN.load(tmp_path / "original.zip")
    assert type(reloaded.policy.optimizer) is th.optim.Adam
    again = attach_fade(tmp_path / "original.zip")
    assert type(again) is FadeDQN
    with pytest.raises(
        FadeCheckpointError, match=r"load it with SB3's DQN\.load, or .*attach_fade"
    ):
        FadeDQN.load(tmp_path / "original.zip")


def test_a_missing_path_is_named_as_given(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.zip")
    with pytest.raises(FileNotFoundError, match=rf"{re.escape(missing)}: no such file") as info:
        attach_fade(missing)
    assert "nope.zip.zip:" not in str(info.value)


@pytest.mark.skipif(th.cuda.is_available(), reason="checks the fallback on a machine without CUDA")
def test_cuda_requested_without_cuda_warns_and_runs_on_cpu(tmp_path: Path) -> None:
    DQN("MlpPolicy", "CartPole-v1", policy_kwargs=dict(net_arch=[8])).save(tmp_path / "d.zip")
    with pytest.warns(UserWarning, match=r"attach_fade: device='cuda' .* runs on cpu"):
        model = attach_fade(tmp_path / "d.zip", device="cuda")
    assert model.device.type == "cpu"
