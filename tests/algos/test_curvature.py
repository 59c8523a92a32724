"""The curvature FadeDQN/FadeSAC/FadeTD3 hand to FADE equals autograd's second derivatives.

Each test takes a real SB3 replay batch, computes SB3's own loss with the
unmodified forward pass (``q_net(obs)``, ``critic(obs, actions)``), differentiates
it twice with respect to every head element, and compares with the curvature
the training step passed to ``FADE.set_curvature``.
"""

from __future__ import annotations

import gymnasium as gym
import pytest
import torch as th
from torch.func import functional_call
from torch.nn import functional as F

from fade_rl import FadeDQN, FadeSAC, FadeTD3

from .helpers import (
    RandomRewardScale,
    fix_replay_batch,
    hessian_diagonal,
    param_name,
    record_curvature,
    trained,
)


def _dqn_model(net_arch: list[int], max_grad_norm: float) -> FadeDQN:
    env = RandomRewardScale(gym.make("CartPole-v1"), high=4.0, seed=1)
    return trained(
        FadeDQN,
        env,
        300,
        net_arch=net_arch,
        learning_starts=100,
        batch_size=64,
        max_grad_norm=max_grad_norm,
        seed=3,
    )


@pytest.mark.parametrize(
    ("net_arch", "max_grad_norm"),
    [([64, 64], 10.0), ([32], 0.05)],
    ids=["default-unclipped", "small-arch-clipped"],
)
def test_dqn_curvature_equals_autograd(net_arch: list[int], max_grad_norm: float) -> None:
    model = _dqn_model(net_arch, max_grad_norm)
    data = fix_replay_batch(model, 64)
    q_net = model.q_net
    head = model.fade_heads["q_net"]
    names = {"weight": param_name(q_net, head.weight), "bias": param_name(q_net, head.bias)}
    params = {name: p.detach().clone() for name, p in q_net.named_parameters()}

    with th.no_grad():
        next_q = model.q_net_target(data.next_observations).max(dim=1).values.reshape(-1, 1)
        target = data.rewards + (1 - data.dones) * model.gamma * next_q

    def loss_with(overrides: dict[str, th.Tensor]) -> th.Tensor:
        q = functional_call(q_net, {**params, **overrides}, (data.observations,))
        return F.smooth_l1_loss(th.gather(q, 1, data.actions.long()), target)

    with th.no_grad():
        td = th.gather(q_net(data.observations), 1, data.actions.long()) - target
    # Both Huber zones occur, and no sample sits near the kink |td| = 1.
    assert (td.abs() < 1).any() and (td.abs() > 1).any()
    assert ((td.abs() - 1).abs() > 1e-3).all()
    # Some action rows of the batch are masked: each action occurs, but not everywhere.
    assert set(data.actions.flatten().tolist()) == {0, 1}

    # The clip factor SB3's clip_grad_norm_ applies, from autograd's full gradient.
    leaves = {n: p.clone().requires_grad_(True) for n, p in params.items()}
    grads = th.autograd.grad(loss_with(leaves), list(leaves.values()))
    total_norm = th.linalg.vector_norm(th.stack([th.linalg.vector_norm(g) for g in grads]))
    factor = min(1.0, max_grad_norm / (total_norm.item() + 1e-6))
    if max_grad_norm < 1:
        assert factor < 0.5  # the clipped case really clips

    expected = {
        key: factor * hessian_diagonal(lambda value, n=n: loss_with({n: value}), params[n])
        for key, n in names.items()
    }
    calls = record_curvature(model)
    model.train(gradient_steps=1, batch_size=64)

    used_weight = calls[id(head.weight)][-1]
    used_bias = calls[id(head.bias)][-1]
    th.testing.assert_close(used_weight, expected["weight"], rtol=1e-5, atol=1e-9)
    th.testing.assert_close(used_bias, expected["bias"], rtol=1e-5, atol=1e-9)
    # The Huber zone matters: samples in the linear zone contribute nothing.
    n_quadratic = int((td.abs() < 1).sum())
    th.testing.assert_close(
        used_bias.sum(), th.tensor(factor * n_quadratic / 64), rtol=1e-5, atol=0
    )


@pytest.mark.parametrize("algorithm", [FadeSAC, FadeTD3])
def test_continuous_critic_curvature_equals_autograd(algorithm: type) -> None:
    model = trained(
        algorithm, "Pendulum-v1", 200, net_arch=[32, 24], learning_starts=100, batch_size=32, seed=5
    )
    data = fix_replay_batch(model, 32)
    critic = model.critic
    params = {name: p.detach().clone() for name, p in critic.named_parameters()}
    target = data.rewards  # the curvature of a squared error does not depend on the target
    scale = 0.5 if algorithm is FadeSAC else 1.0  # SAC: 0.5 * sum_i mse; TD3: sum_i mse

    def loss_with(overrides: dict[str, th.Tensor]) -> th.Tensor:
        qs = functional_call(critic, {**params, **overrides}, (data.observations, data.actions))
        return scale * sum(F.mse_loss(q, target) for q in qs)

    expected = {}
    for head in model.fade_heads.values():
        for p in (head.weight, head.bias):
            name = param_name(critic, p)
            expected[id(p)] = hessian_diagonal(lambda v, n=name: loss_with({n: v}), params[name])

    calls = record_curvature(model)
    th.manual_seed(0)
    model.train(gradient_steps=1, batch_size=32)

    assert set(calls) == set(expected)
    for key, value in expected.items():
        assert len(calls[key]) == 1  # one curvature per critic step, none from the actor pass
        th.testing.assert_close(calls[key][0], value, rtol=1e-5, atol=1e-9)
    # The two heads get their own curvature (from their own features).
    weights = [calls[id(h.weight)][0] for h in model.fade_heads.values()]
    assert not th.allclose(weights[0], weights[1])
