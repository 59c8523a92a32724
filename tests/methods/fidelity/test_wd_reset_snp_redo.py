"""Fidelity of wd, reset, snp and redo: the known faults of the field's reference code are absent.

After a reset every trainable parameter is in its optimizer with fresh state and
the targets are re-synced; shrink & perturb draws fresh noise (not the initial
weights); ReDo zeroes outgoing weights and their moments; each is checked
against a step computed by hand on a tiny network.
"""

from __future__ import annotations

import copy
import math

import pytest
import torch as th
from stable_baselines3 import DQN, SAC

from fade_rl import FadeDQN
from fade_rl.algos import fresh_copy, target_modules, target_pairs
from fade_rl.methods import add_weight_decay, redo, reset_parameters, shrink_perturb
from tests.methods.fidelity.models import (
    ALGORITHMS,
    assert_every_trainable_parameter_is_optimized,
    assert_head_takes_a_fresh_adam_step,
    assert_targets_match,
    critic_nets,
    critic_optimizer,
    tiny,
)


def _train(model, steps: int = 3) -> None:
    model.train(gradient_steps=steps, batch_size=16)


@pytest.mark.parametrize("cls", ALGORITHMS)
@pytest.mark.parametrize("target", ["head", "critic", "all"])
def test_reset_leaves_every_parameter_optimized_fresh_and_targets_synced(cls, target) -> None:
    model = tiny(cls)
    _train(model)
    optimizer = critic_optimizer(model)
    reset = {id(p) for m in target_modules(model, target) for p in m.parameters()}
    kept = [p for p in optimizer.state if id(p) not in reset]
    reset_parameters(model, target)
    assert_every_trainable_parameter_is_optimized(model)
    for p in optimizer.state:
        assert id(p) not in reset, "a reset parameter kept its optimizer state"
    assert all(p in optimizer.state for p in kept), "state of untouched parameters was lost"
    synced = 0
    for online, tgt in target_pairs(model):
        target_params = dict(tgt.named_parameters())
        for name, p in online.named_parameters():
            if id(p) in reset and name in target_params:
                assert th.equal(p, target_params[name]), f"stale target {name}"
                synced += 1
    assert synced > 0
    if target == "critic":
        assert_targets_match(model)
    _train(model, 1)  # the reset parameters are trained again


def test_reset_then_first_step_is_a_fresh_adam_step_by_hand() -> None:
    """After a reset, Adam's first step on a head element is lr * g / (|g| + eps)."""
    model = tiny(DQN)
    _train(model)
    reset_parameters(model, "head")
    assert_head_takes_a_fresh_adam_step(model)


def test_reset_of_a_fade_head_restarts_its_decay_rates() -> None:
    model = tiny(FadeDQN, fade_kwargs=dict(meta_lr=10.0, init_decay=1e-3))
    _train(model, 20)
    head = model.fade_heads["q_net"]
    assert not th.allclose(model.fade_optimizer.decay_rates(head.weight), th.tensor(1e-3))
    reset_parameters(model, "head")
    assert head.weight not in model.fade_optimizer.state
    _train(model, 1)
    state = model.fade_optimizer.state[head.weight]
    assert state["step"] == 1


@pytest.mark.parametrize("cls", [DQN, SAC])
def test_shrink_perturb_draws_fresh_noise_not_the_initial_weights(cls) -> None:
    model = tiny(cls)
    initial = [p.detach().clone() for p in critic_nets(model)[0].parameters()]
    _train(model)
    modules = target_modules(model, "critic")
    current = [[p.detach().clone() for p in m.parameters()] for m in modules]
    # the draw shrink_perturb will make: the same RNG state, the same fresh_copy calls
    rng = th.get_rng_state()
    fresh = [[p.detach().clone() for p in fresh_copy(m).parameters()] for m in modules]
    th.set_rng_state(rng)
    shrink_perturb(model, 0.25, "critic")
    for module, now, noise in zip(modules, current, fresh, strict=True):
        for p, before, f in zip(module.parameters(), now, noise, strict=True):
            assert th.allclose(p, 0.25 * before + 0.75 * f, atol=1e-6)
    # alpha = 0 twice: two different fresh draws, neither the initial weights
    shrink_perturb(model, 0.0, "critic")
    first = [p.detach().clone() for p in critic_nets(model)[0].parameters()]
    shrink_perturb(model, 0.0, "critic")
    second = list(critic_nets(model)[0].parameters())
    for a, b, init in zip(first, second, initial, strict=True):
        assert not th.equal(a, b)
        assert not th.equal(a, init) and not th.equal(b, init)


def test_shrink_perturb_keeps_parameters_optimized() -> None:
    model = tiny(SAC)
    _train(model)
    shrink_perturb(model, 0.5, "all")
    assert_every_trainable_parameter_is_optimized(model)


@pytest.mark.parametrize("cls", [DQN, FadeDQN])
def test_redo_zeroes_outgoing_weights_and_their_moments(cls) -> None:
    kwargs = {"fade_kwargs": dict(meta_lr=10.0, init_decay=1e-3)} if cls is FadeDQN else {}
    model = tiny(cls, net_arch=[6], **kwargs)
    _train(model, 10)
    net = model.q_net.q_net
    incoming, outgoing = net[0], net[2]
    with th.no_grad():  # unit 2 is dead: zero weights, negative bias
        incoming.weight[2] = 0.0
        incoming.bias[2] = -1.0
    optimizer = model.policy.optimizer
    before_w = outgoing.weight.detach().clone()
    before_m = optimizer.state[outgoing.weight]["exp_avg"].clone()
    assert before_m[:, 2].abs().sum() > 0
    counts = redo(model, tau=0.0)
    assert counts["q_net/hidden0"] >= 1
    dead = [u for u in range(6) if outgoing.weight[:, u].abs().sum() == 0]
    assert 2 in dead
    alive = [u for u in range(6) if u not in dead]
    state = optimizer.state[outgoing.weight]
    for key in ("exp_avg", "exp_avg_sq"):
        assert th.all(state[key][:, 2] == 0)
        assert th.all(optimizer.state[incoming.weight][key][2] == 0)
    assert th.equal(outgoing.weight[:, alive], before_w[:, alive])
    assert th.equal(state["exp_avg"][:, alive], before_m[:, alive])
    assert incoming.weight[2].abs().sum() > 0  # fresh incoming weights
    if cls is FadeDQN:
        assert th.allclose(state["log_decay"][:, 2], th.tensor(math.log(1e-3)))
        assert th.all(state["decay_trace"][:, 2] == 0)
    assert_every_trainable_parameter_is_optimized(model)


def test_weight_decay_step_by_hand_with_sgd() -> None:
    """SGD with decoupled decay: p <- (1 - lr * wd) * p - lr * g."""
    model = tiny(DQN, sgd=True)
    add_weight_decay(model, 0.5, target="critic")
    optimizer = model.policy.optimizer
    lr = optimizer.param_groups[0]["lr"]
    params = list(model.q_net.parameters())
    before = [p.detach().clone() for p in params]
    grads = [th.randn_like(p) for p in params]
    optimizer.zero_grad()
    for p, g in zip(params, grads, strict=True):
        p.grad = g.clone()
    optimizer.step()
    for p, b, g in zip(params, before, grads, strict=True):
        assert th.allclose(p, (1 - lr * 0.5) * b - lr * g, atol=1e-7)


def test_weight_decay_leaves_parameters_optimized_and_targets_follow_later() -> None:
    model = tiny(SAC)
    handles = add_weight_decay(model, 1e-2, target="critic")
    target_before = copy.deepcopy(model.critic_target.state_dict())
    _train(model, 2)
    assert_every_trainable_parameter_is_optimized(model)
    changed = any(
        not th.equal(v, target_before[k]) for k, v in model.critic_target.state_dict().items()
    )
    assert changed  # Polyak updates carry the decayed weights to the target
    for handle in handles:
        handle.remove()
