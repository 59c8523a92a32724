"""Plasticity injection: output unchanged, the fresh head trained (in the optimizer, FADE's head
group for FADE models), the old head frozen, the targets given the same structure and synced."""

from __future__ import annotations

import pytest
import torch as th
from stable_baselines3 import DQN
from torch import nn

from fade_rl import FadeDQN, FadeSAC
from fade_rl.methods import InjectedHead, InjectionCallback, inject_plasticity
from tests.methods.fidelity.models import (
    ALGORITHMS,
    assert_every_trainable_parameter_is_optimized,
    assert_head_takes_a_fresh_adam_step,
    critic_inputs,
    critic_nets,
    critic_optimizer,
    target_nets,
    tiny,
)


def test_injected_head_output_and_gradient_by_hand() -> None:
    old = nn.Linear(3, 2)
    new = InjectedHead(old)
    x = th.randn(5, 3)
    assert th.allclose(new(x), old(x), atol=1e-6)
    # y = (W + W_f) x + b + b_f: dL/dW = dL/dy^T x, the same as a plain linear head
    target = th.randn(5, 2)
    loss = 0.5 * ((new(x) - target) ** 2).sum()
    loss.backward()
    residual = (new(x) - target).detach()
    assert th.allclose(new.weight.grad, residual.T @ x, atol=1e-5)
    assert th.allclose(new.bias.grad, residual.sum(0), atol=1e-5)
    assert not new.frozen_weight.requires_grad
    assert [n for n, _ in new.named_parameters()] == ["weight", "bias"]
    # a second injection stacks on the effective weights
    again = InjectedHead(new)
    assert th.allclose(again(x), old(x), atol=1e-5)


@pytest.mark.parametrize("cls", ALGORITHMS)
def test_injection_keeps_output_trains_the_fresh_head_and_syncs_targets(cls) -> None:
    model = tiny(cls)
    model.train(gradient_steps=3, batch_size=16)
    x = critic_inputs(model)
    with th.no_grad():
        before = [net(x) for net in critic_nets(model)]
    old_heads = [net[-1] for net in critic_nets(model)]
    optimizer = critic_optimizer(model)
    inject_plasticity(model)
    heads = [net[-1] for net in critic_nets(model)]
    with th.no_grad():
        after = [net(x) for net in critic_nets(model)]
    for b, a in zip(before, after, strict=True):
        assert th.allclose(a, b, atol=1e-5)  # output unchanged at injection
    held = {id(p) for g in optimizer.param_groups for p in g["params"]}
    for old, head in zip(old_heads, heads, strict=True):
        assert isinstance(head, InjectedHead)
        assert all(id(p) not in held and not p.requires_grad for p in old.parameters())
        assert all(id(p) in held and p not in optimizer.state for p in head.parameters())
    assert_every_trainable_parameter_is_optimized(model)
    for online, target in zip(critic_nets(model), target_nets(model), strict=True):
        # the target head has the same structure and values as the injected online head
        assert isinstance(target[-1], InjectedHead) and target[-1] is not online[-1]
        assert th.equal(online[-1].frozen_weight, target[-1].frozen_weight)
        assert th.equal(online[-1].frozen_bias, target[-1].frozen_bias)
        assert th.equal(online[-1].bias, target[-1].bias)
        assert th.equal(online[-1].weight, target[-1].weight)
    if hasattr(model, "fade_heads"):
        fade_group = next(g for g in optimizer.param_groups if g["fade"])
        assert {id(p) for p in fade_group["params"]} == {
            id(p) for head in heads for p in head.parameters()
        }
        assert all(h is head for h, head in zip(model.fade_heads.values(), heads, strict=True))
    # a train step moves the fresh head, never the frozen offset
    frozen = [h.frozen_weight.clone() for h in heads]
    weights = [h.weight.detach().clone() for h in heads]
    model.train(gradient_steps=2, batch_size=16)
    for head, f, w in zip(heads, frozen, weights, strict=True):
        assert th.equal(head.frozen_weight, f)
        assert not th.equal(head.weight, w)
    if hasattr(model, "fade_heads"):
        for head in heads:
            assert model.fade_optimizer.state[head.weight]["step"] == 2


def test_injection_then_fresh_adam_step_by_hand() -> None:
    model = tiny(DQN)
    inject_plasticity(model)
    assert_head_takes_a_fresh_adam_step(model)


@pytest.mark.parametrize("cls", [FadeDQN, FadeSAC])
def test_injection_callback_at_steps_and_at_shift(cls) -> None:
    model = tiny(cls, net_arch=[8])
    callback = InjectionCallback(at_steps=[70, 90])
    model.learn(60, callback=callback, reset_num_timesteps=False)
    assert callback.n_injections == 2 and callback.injected_at == [70, 90]
    assert callback.state() == {"injected_at": [70, 90]}
    assert isinstance(critic_nets(model)[0][-1], InjectedHead)
    assert_every_trainable_parameter_is_optimized(model)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "needs at_steps"),
        ({"at_steps": [0]}, "positive ints"),
        ({"at_steps": [1.5]}, "positive ints"),
        ({"shift_info_key": ""}, "non-empty str"),
    ],
)
def test_injection_validation(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        InjectionCallback(**kwargs)
