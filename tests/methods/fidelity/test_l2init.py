"""L2 Init: the penalty is the SQUARED distance to theta_0, its gradient added before each step."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch as th
from stable_baselines3 import DQN, SAC

from fade_rl import FadeDQN, FadePPO
from fade_rl.algos import target_parameters
from fade_rl.methods import L2InitCallback, add_l2_init
from tests.methods.fidelity.models import (
    ALGORITHMS,
    assert_every_trainable_parameter_is_optimized,
    tiny,
)
from tests.methods.fidelity.ppo_models import (
    assert_every_parameter_is_optimized,
    tiny_ppo,
    train_seeded,
)


def test_l2init_step_is_sgd_on_loss_plus_squared_distance_by_autograd() -> None:
    model = tiny(DQN, sgd=True)
    coefficient = 0.3
    handles, initial = add_l2_init(model, coefficient, target="critic")
    params = target_parameters(model, "critic")
    with th.no_grad():  # move away from theta_0 by a known amount
        for p in params:
            p.add_(th.randn_like(p))
    before = [p.detach().clone() for p in params]
    grads = [th.randn_like(p) for p in params]
    # autograd of  <grads, theta> + c * sum ||theta - theta_0||^2
    leaves = [b.clone().requires_grad_(True) for b in before]
    loss = sum((g * x).sum() for g, x in zip(grads, leaves, strict=True))
    loss = loss + coefficient * sum(
        ((x - i) ** 2).sum() for x, i in zip(leaves, initial, strict=True)
    )
    expected_grads = th.autograd.grad(loss, leaves)
    optimizer = model.policy.optimizer
    lr = optimizer.param_groups[0]["lr"]
    optimizer.zero_grad()
    for p, g in zip(params, grads, strict=True):
        p.grad = g.clone()
    optimizer.step()
    for p, b, eg, g, i in zip(params, before, expected_grads, grads, initial, strict=True):
        assert th.allclose(p, b - lr * eg, atol=1e-6)
        # by hand: the squared distance's gradient 2 c (theta - theta_0), not the norm's
        assert th.allclose(p, b - lr * (g + 2 * coefficient * (b - i)), atol=1e-6)
    for handle in handles:
        handle.remove()


def test_l2init_pulls_only_the_chosen_parameters() -> None:
    model = tiny(SAC, sgd=True)
    add_l2_init(model, 1.0, target="critic")
    actor_params = list(model.actor.parameters())
    with th.no_grad():
        for p in actor_params:
            p.add_(1.0)
    before = [p.detach().clone() for p in actor_params]
    model.actor.optimizer.zero_grad()
    for p in actor_params:
        p.grad = th.zeros_like(p)
    model.actor.optimizer.step()
    for p, b in zip(actor_params, before, strict=True):
        assert th.equal(p, b)  # no pull on the actor with target="critic"


def _fade_dqn() -> tuple[Any, Callable[[], None], Callable[[Any], None]]:
    """A FadeDQN, one gradient step of it, and the check that every parameter is optimized."""
    model = tiny(FadeDQN, fade_kwargs=dict(meta_lr=1.0))
    return (
        model,
        lambda: model.train(gradient_steps=1, batch_size=16),
        assert_every_trainable_parameter_is_optimized,
    )


def _fade_ppo() -> tuple[Any, Callable[[], None], Callable[[Any], None]]:
    """The same for FadePPO: one train() on its rollout."""
    model = tiny_ppo(FadePPO)
    return model, lambda: train_seeded(model), assert_every_parameter_is_optimized


@pytest.mark.parametrize("make", [_fade_dqn, _fade_ppo], ids=["FadeDQN", "FadePPO"])
def test_l2init_on_a_fade_head_adds_the_penalty_gradient(make) -> None:
    model, train, assert_optimized = make()
    (head,) = model.fade_heads.values()
    seen: list[th.Tensor] = []

    def record(*args: object) -> None:
        seen.append(head.weight.grad.clone())

    # step pre-hooks run in registration order: loss gradient, penalty, loss + penalty
    first = model.fade_optimizer.register_step_pre_hook(record)
    handles, _ = add_l2_init(model, 0.5, target="head")
    second = model.fade_optimizer.register_step_pre_hook(record)
    with th.no_grad():
        head.weight.add_(1.0)  # theta - theta_0 = 1 everywhere
    train()
    assert len(seen) == 2
    assert th.allclose(seen[1] - seen[0], th.full_like(seen[0], 2 * 0.5 * 1.0), atol=1e-6)
    for handle in [first, second, *handles]:
        handle.remove()
    assert_optimized(model)


@pytest.mark.parametrize("cls", ALGORITHMS)
def test_l2init_callback_runs_on_every_algorithm(cls) -> None:
    model = tiny(cls, net_arch=[8])
    callback = L2InitCallback(1e-2, target="all")
    model.learn(40, callback=callback)
    assert callback.initial is not None
    assert len(callback.initial) == len(target_parameters(model, "all"))
    assert callback._handles == []  # removed at the end of learn
    state = callback.state_dict()
    again = L2InitCallback(1e-2, target="all")
    again.load_state_dict(state)
    model.learn(20, callback=again, reset_num_timesteps=False)
    assert all(th.equal(a, b) for a, b in zip(again.initial, state["initial"], strict=True))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"coefficient": -1.0}, "coefficient must be a finite number >= 0"),
        ({"coefficient": float("nan")}, "coefficient must be a finite number >= 0"),
        ({"coefficient": 1.0, "target": "actor"}, "target must be one of"),
    ],
)
def test_l2init_validation(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        L2InitCallback(**kwargs)


def test_l2init_refuses_a_wrong_theta_0() -> None:
    model = tiny(DQN)
    with pytest.raises(ValueError, match="do not match"):
        add_l2_init(model, 1.0, initial=[th.zeros(3)])
