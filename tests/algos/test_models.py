"""The parts of real SB3 models: networks, heads, blocks, TD targets, optimizers, targets."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch as th
from stable_baselines3 import A2C, DQN, SAC, TD3
from torch.nn import functional as F

from fade_rl import FadeDQN, FadeSAC
from fade_rl.algos import (
    check_model,
    check_replay_buffer,
    critic_heads,
    critic_loss,
    critic_networks,
    critic_optimizer,
    critic_q_nets,
    decay_rate_summary,
    decay_rate_tags,
    optimizers_of,
    run_critics,
    target_modules,
    target_pairs,
    target_parameters,
    td_targets,
)

from .helpers import trained


def _dqn(cls: type = DQN) -> Any:
    return trained(cls, "CartPole-v1", 40, net_arch=[8, 8], learning_starts=10, seed=0)


def _td3() -> TD3:
    return trained(
        TD3,
        "Pendulum-v1",
        30,
        net_arch=[8, 8],
        learning_starts=10,
        batch_size=8,
        target_policy_noise=0.0,  # deterministic next actions: targets by hand
        seed=0,
    )


def test_networks_and_heads_of_dqn_and_twin_critics() -> None:
    dqn, sac = _dqn(), SAC("MlpPolicy", "Pendulum-v1", policy_kwargs=dict(net_arch=[8, 8]))
    assert critic_q_nets(dqn) == {"q_net": dqn.q_net.q_net}
    assert critic_heads(dqn) == {"q_net": dqn.q_net.q_net[4]}
    assert critic_q_nets(sac) == {"qf0": sac.critic.q_networks[0], "qf1": sac.critic.q_networks[1]}
    assert critic_heads(sac)["qf1"] is sac.critic.q_networks[1][4]
    blocks = critic_networks(dqn)[0].layers
    assert [b.name for b in blocks] == ["hidden0", "hidden1", "head"]
    assert [len(b.modules) for b in blocks] == [2, 2, 1]  # Linear + ReLU, Linear + ReLU, Linear


def test_run_critics_keeps_each_hidden_output_of_one_pass() -> None:
    model = _dqn()
    obs = th.randn(5, 4)
    net = model.q_net.q_net
    record = run_critics(critic_networks(model), obs, None)["q_net"]
    h0 = th.relu(net[0](obs))
    h1 = th.relu(net[2](h0))
    th.testing.assert_close(record.activations["hidden0"], h0)
    th.testing.assert_close(record.activations["hidden1"], h1)
    th.testing.assert_close(record.q_values, net[4](h1))


def test_dqn_td_targets_and_loss_by_hand() -> None:
    model = _dqn()
    data = model.replay_buffer.sample(6)
    with th.no_grad():
        targets = td_targets(model, data)
        next_q = model.q_net_target(data.next_observations).max(dim=1, keepdim=True).values
        expected = data.rewards + (1 - data.dones) * model.gamma * next_q
        th.testing.assert_close(targets, expected)
        passes = run_critics(critic_networks(model), data.observations, data.actions)
        loss, taken = critic_loss(model, passes, data, targets)
        q = model.q_net(data.observations).gather(1, data.actions.long())
    th.testing.assert_close(taken["q_net"], q)
    th.testing.assert_close(loss, F.smooth_l1_loss(q, expected))


def test_td3_td_targets_and_loss_by_hand() -> None:
    model = _td3()
    data = model.replay_buffer.sample(6)
    with th.no_grad():
        targets = td_targets(model, data)
        next_actions = model.actor_target(data.next_observations).clamp(-1, 1)
        q1, q2 = model.critic_target(data.next_observations, next_actions)
        expected = data.rewards + (1 - data.dones) * model.gamma * th.minimum(q1, q2)
        th.testing.assert_close(targets, expected)
        passes = run_critics(critic_networks(model), data.observations, data.actions)
        loss, _ = critic_loss(model, passes, data, targets)
        c1, c2 = model.critic(data.observations, data.actions)
    th.testing.assert_close(loss, F.mse_loss(c1, expected) + F.mse_loss(c2, expected))


def test_sac_td_targets_by_hand_with_a_given_entropy_coefficient() -> None:
    """SAC's train() passes the coefficient it read before its own step; by default: current."""
    model = SAC("MlpPolicy", "Pendulum-v1", learning_starts=10, policy_kwargs=dict(net_arch=[8]))
    model.learn(30)
    data = model.replay_buffer.sample(6)
    with th.no_grad():
        th.manual_seed(3)
        next_actions, log_prob = model.actor.action_log_prob(data.next_observations)
        q1, q2 = model.critic_target(data.next_observations, next_actions)
        soft = th.minimum(q1, q2) - 0.25 * log_prob.reshape(-1, 1)
        expected = data.rewards + (1 - data.dones) * model.gamma * soft
        th.manual_seed(3)
        th.testing.assert_close(td_targets(model, data, ent_coef=th.tensor(0.25)), expected)
        current = th.exp(model.log_ent_coef)
        th.manual_seed(3)
        default = td_targets(model, data)
        th.manual_seed(3)
        th.testing.assert_close(default, td_targets(model, data, ent_coef=current))


def test_what_interventions_act_on() -> None:
    dqn, td3 = _dqn(), _td3()
    head = dqn.q_net.q_net[4]
    assert target_parameters(dqn, "head") == [head.weight, head.bias]
    assert target_modules(dqn, "critic") == [dqn.q_net]
    assert target_pairs(dqn) == [(dqn.q_net, dqn.q_net_target)]
    assert target_pairs(td3) == [(td3.critic, td3.critic_target), (td3.actor, td3.actor_target)]
    assert target_modules(td3, "all")[-1] is td3.actor
    assert critic_optimizer(td3) is td3.critic.optimizer
    assert optimizers_of(td3) == [td3.critic.optimizer, td3.actor.optimizer]


def test_decay_rate_tags_are_the_summary_of_each_fade_head() -> None:
    model = FadeSAC(
        "MlpPolicy",
        "Pendulum-v1",
        policy_kwargs=dict(net_arch=[8]),
        fade_kwargs=dict(init_decay=1e-4),
    )
    model.fade_optimizer.state[model.critic.q_networks[1][2].weight]["log_decay"] = th.log(
        th.full((1, 8), 0.5)
    )
    scalars, hists = decay_rate_tags(model, histograms=True)
    assert set(hists) == {"fade/qf0/lambda", "fade/qf1/lambda"}
    assert hists["fade/qf1/lambda"].shape == (9,)  # 8 weights and a bias
    assert float(scalars["fade/qf1/lambda_max"]) == pytest.approx(0.5)
    assert float(scalars["fade/qf1/lambda_min"]) == pytest.approx(1e-4)  # the untouched bias
    assert float(scalars["fade/qf1/lambda_mean"]) == pytest.approx((8 * 0.5 + 1e-4) / 9)
    assert float(scalars["fade/qf0/lambda_max"]) == pytest.approx(1e-4)
    assert decay_rate_tags(_dqn(), histograms=True) == ({}, {})  # no FADE: no tags


def test_decay_rate_summary_by_hand() -> None:
    rates = th.arange(11, dtype=th.float32)  # 0..10: quantiles 1, 5, 9 (linear)
    summary = {k: float(v) for k, v in decay_rate_summary(rates).items()}
    assert summary == {
        "lambda_mean": 5.0,
        "lambda_min": 0.0,
        "lambda_q10": 1.0,
        "lambda_q50": 5.0,
        "lambda_q90": 9.0,
        "lambda_max": 10.0,
    }
    model = _dqn(FadeDQN)
    rates = model.fade_decay_rates()["q_net"]
    got = decay_rate_summary(rates)["lambda_q50"]
    assert float(got) == pytest.approx(float(np.quantile(rates.double().numpy(), 0.5)))


def test_unsupported_models_and_missing_buffers_are_named() -> None:
    with pytest.raises(TypeError, match="DQN, SAC, TD3 and PPO"):
        check_model(A2C("MlpPolicy", "CartPole-v1", n_steps=64), "thing")
    model = DQN("MlpPolicy", "CartPole-v1")
    model.replay_buffer = None
    with pytest.raises(ValueError, match="no replay buffer; thing samples"):
        check_replay_buffer(model, "thing")
