"""Weight decay, L2 Init and TRAC on PPO: each PPO step against the same step of a twin without
the method, and TRAC's iterate against the paper's update replayed by hand."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch as th
from scipy.special import erfi
from stable_baselines3 import PPO

from fade_rl import FadePPO
from fade_rl.algos import target_parameters
from fade_rl.methods import TRAC, TRACCallback, add_l2_init, add_weight_decay
from tests.methods.fidelity.ppo_models import (
    PPO_CLASSES,
    assert_every_parameter_is_optimized,
    perturb,
    snapshot,
    tiny_ppo,
    train_seeded,
)

LR = 0.05
BETAS = (0.9, 0.99, 0.999, 0.9999, 0.99999, 0.999999)


def _twins(env: str = "Pendulum-v1", **kwargs) -> tuple[PPO, PPO]:
    """Two identical PPOs with SGD (the step is linear in the gradient) on the same rollout."""
    model, twin = (tiny_ppo(PPO, env, sgd=True, learning_rate=LR, **kwargs) for _ in range(2))
    theirs = snapshot(twin)
    assert all(th.equal(p, theirs[name]) for name, p in snapshot(model).items())
    return model, twin


def _names(model: PPO, target: str) -> set[str]:
    ids = {id(p) for p in target_parameters(model, target)}
    return {name for name, p in model.policy.named_parameters() if id(p) in ids}


# ------------------------------------------------------------------------ weight decay
@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("head", {"value_net.weight", "value_net.bias"}),
        (
            "critic",
            {"value_net.weight", "value_net.bias"}
            | {f"mlp_extractor.value_net.{i}.{k}" for i in (0, 2) for k in ("weight", "bias")},
        ),
    ],
)
def test_weight_decay_decays_the_value_side_before_ppos_step(target: str, expected: set) -> None:
    """SGD with decoupled decay: ``p <- (1 - lr wd) p - lr g``; the twin's step is ``p - lr g``."""
    model, twin = _twins()
    assert _names(model, target) == expected
    before = snapshot(model)
    handles = add_weight_decay(model, 0.5, target=target)
    train_seeded(model, twin)
    twin_params = dict(twin.policy.named_parameters())
    for name, p in model.policy.named_parameters():
        if name in expected:
            th.testing.assert_close(p, twin_params[name] - LR * 0.5 * before[name])
        else:  # the actor, log_std: PPO's step only
            assert th.equal(p, twin_params[name]), name
    for handle in handles:
        handle.remove()
    after = snapshot(model)
    model.policy.optimizer.zero_grad()
    model.policy.optimizer.step()  # no gradient, no decay once the hooks are removed
    assert all(th.equal(p, after[name]) for name, p in model.policy.named_parameters())


def test_weight_decay_on_fadeppos_head_comes_before_fades_step() -> None:
    model = tiny_ppo(FadePPO, learning_rate=LR)
    head = model.fade_heads["value_net"]
    seen: list[th.Tensor] = []

    def record(*args: object) -> None:
        seen.append(head.weight.detach().clone())

    first = model.fade_optimizer.register_step_pre_hook(record)
    handles = add_weight_decay(model, 0.5, target="head")
    second = model.fade_optimizer.register_step_pre_hook(record)
    train_seeded(model)
    assert len(seen) == 2
    th.testing.assert_close(seen[1], (1 - LR * 0.5) * seen[0])
    for handle in [first, second, *handles]:
        handle.remove()


# ------------------------------------------------------------------------ L2 Init
@pytest.mark.parametrize("target", ["head", "critic", "all"])
def test_l2init_adds_the_squared_distances_gradient_to_ppos_step(target: str) -> None:
    coefficient = 0.3
    model, twin = _twins()
    handles, initial = add_l2_init(model, coefficient, target=target)
    chosen = _names(model, target)
    perturb(model, twin)  # theta - theta_0 is the same known noise in both
    before = snapshot(model)
    names = {id(p): name for name, p in model.policy.named_parameters()}
    params = target_parameters(model, target)
    by_name = {names[id(p)]: i for p, i in zip(params, initial, strict=True)}
    train_seeded(model, twin)
    twin_params = dict(twin.policy.named_parameters())
    for name, p in model.policy.named_parameters():
        if name not in chosen:
            assert th.equal(p, twin_params[name]), name
            continue
        # autograd of c ||theta - theta_0||^2 at the step's theta, and 2 c (theta - theta_0)
        leaf = before[name].clone().requires_grad_(True)
        (penalty,) = th.autograd.grad(coefficient * (leaf - by_name[name]).square().sum(), leaf)
        th.testing.assert_close(penalty, 2 * coefficient * (before[name] - by_name[name]))
        th.testing.assert_close(p, twin_params[name] - LR * penalty, atol=1e-6, rtol=1e-5)
    assert "log_std" in chosen if target == "all" else "log_std" not in chosen
    for handle in handles:
        handle.remove()


# ------------------------------------------------------------------------ TRAC
def test_trac_on_ppo_is_the_papers_update_around_ppos_one_adam() -> None:
    """Over a train() of 2 epochs x 4 minibatches: the played theta is
    ``ref + S (base - ref)``, ``base`` Adam's iterate on the gradients at theta, and S the
    erfi tuner's, replayed by hand from the recorded gradients."""
    model = tiny_ppo(PPO, "Pendulum-v1", batch_size=16, n_epochs=2, learning_rate=1e-2)
    optimizer = model.policy.optimizer
    trac = TRAC(optimizer)
    assert [id(p) for p in trac.params] == [id(p) for p in model.policy.parameters()]
    ref = [p.detach().clone() for p in trac.params]
    state = copy.deepcopy(optimizer.state_dict())  # its tensors change in place as it steps
    grads: list[list[th.Tensor]] = []
    handle = optimizer.register_step_pre_hook(
        lambda *args: grads.append([p.grad.detach().clone() for p in trac.params])
    )
    train_seeded(model)
    handle.remove()
    assert len(grads) == trac.n_steps == 8

    base = [r.clone().requires_grad_(True) for r in ref]
    adam = th.optim.Adam(base, lr=1e-2, eps=1e-5)  # PPO's optimizer, on the base iterate
    adam.load_state_dict(state)  # with its state (from the rollout's first train)
    betas = np.array(BETAS)
    v, sigma, first_scale = np.zeros(6), np.full(6, 1e-8), None
    for g in grads:
        with th.no_grad():
            h = sum(
                float((gi.double() * (b - r).double()).sum())
                for gi, b, r in zip(g, base, ref, strict=True)
            )
        for b, gi in zip(base, g, strict=True):
            b.grad = gi.clone()
        adam.step()
        v = betas**2 * v + h**2
        sigma = betas * sigma - h
        s = 1e-8 / erfi(1 / math.sqrt(2)) * erfi(sigma / (math.sqrt(2) * np.sqrt(v) + 1e-8))
        first_scale = s.sum() if first_scale is None else first_scale
    assert first_scale == pytest.approx(sum(1e-8 / erfi(1 / math.sqrt(2)) * erfi(BETAS)))
    assert trac.scale == pytest.approx(s.sum(), rel=1e-9)
    for p, kept, b, r in zip(trac.params, trac.base, base, ref, strict=True):
        th.testing.assert_close(kept, b.detach(), atol=1e-7, rtol=1e-6)
        th.testing.assert_close(p, r + float(s.sum()) * (b.detach() - r), atol=1e-7, rtol=1e-6)
    trac.remove()


@pytest.mark.parametrize("cls", PPO_CLASSES)
def test_trac_callback_wraps_ppos_one_optimizer_and_saves(cls: type, tmp_path) -> None:
    model = tiny_ppo(cls, net_arch=[8], batch_size=32)
    callback = TRACCallback()
    model.learn(64, callback=callback, reset_num_timesteps=False)
    state = callback.state_dict()
    assert state["n_steps"] == 2  # one epoch of two minibatches
    # policy and value networks together (FadePPO: FADE's body and its head group)
    assert len(state["base"]) == len(list(model.policy.parameters()))
    held = [p for g in model.policy.optimizer.param_groups for p in g["params"]]
    assert {id(p) for p in held} == {id(p) for p in model.policy.parameters()}
    assert_every_parameter_is_optimized(model)
    model.save(tmp_path / "model.zip")
    loaded = type(model).load(tmp_path / "model.zip", device="cpu")
    assert loaded.num_timesteps == model.num_timesteps
    again = TRACCallback()
    again.load_state_dict(state)
    model.learn(64, callback=again, reset_num_timesteps=False)
    assert again.state_dict()["n_steps"] == 4
