"""Continual backprop: contribution utility by hand, maturity, replacement of the lowest-utility
mature units with their optimizer (and FADE) state reset."""

from __future__ import annotations

import math

import pytest
import torch as th
from stable_baselines3 import DQN

from fade_rl import FADE, FadeDQN
from fade_rl.algos import CriticArchDQNPolicy
from fade_rl.methods import ContinualBackprop, ContinualBackpropCallback
from tests.methods.fidelity.models import (
    ALGORITHMS,
    assert_every_trainable_parameter_is_optimized,
    tiny,
)


def _forward_and_step(model, x: th.Tensor) -> None:
    """One critic forward on ``x`` (the hooks keep its features) and one optimizer step."""
    optimizer = model.policy.optimizer
    optimizer.zero_grad()
    model.q_net.q_net(x).sum().backward()
    if isinstance(optimizer, FADE):  # the curvature is not under test here
        for p in model.q_net.q_net[-1].parameters():
            optimizer.set_curvature(p, th.zeros_like(p))
    optimizer.step()


def test_utility_is_the_running_average_of_abs_h_times_sum_abs_w_out() -> None:
    model = tiny(DQN, net_arch=[5])
    cbp = ContinualBackprop(model, replacement_rate=0.0, decay=0.9)
    net = model.q_net.q_net
    expected = th.zeros(5)
    for _ in range(3):
        x = th.randn(7, 4)
        h = th.relu(net[0](x)).detach()
        _forward_and_step(model, x)
        # the utility uses the outgoing weights after the step (the paper's order)
        contribution = h.abs().mean(0) * net[2].weight.detach().abs().sum(0)
        expected = 0.9 * expected + 0.1 * contribution
    assert th.allclose(cbp.layers[0].utility, expected, atol=1e-6)
    assert th.equal(cbp.layers[0].age, th.full((5,), 3))
    cbp.remove()


@pytest.mark.parametrize("cls", [DQN, FadeDQN])
def test_the_lowest_utility_mature_unit_is_replaced_with_state_reset(cls) -> None:
    kwargs = {"fade_kwargs": dict(meta_lr=10.0, init_decay=1e-3)} if cls is FadeDQN else {}
    model = tiny(cls, net_arch=[4], **kwargs)
    model.train(gradient_steps=5, batch_size=16)  # optimizer state everywhere
    net = model.q_net.q_net
    incoming, outgoing = net[0], net[2]
    # 4 units, rate 1/4: exactly one replacement once all are mature (age > 2)
    cbp = ContinualBackprop(model, replacement_rate=0.25, decay=0.5, maturity_threshold=2)
    optimizer = model.policy.optimizer
    x = th.randn(8, 4)
    _forward_and_step(model, x)
    _forward_and_step(model, x)
    assert cbp.n_replaced == 0  # not mature yet
    cbp.layers[0].utility.copy_(th.tensor([3.0, 0.5, 2.0, 4.0]))
    before_in = incoming.weight.detach().clone()
    before_out = outgoing.weight.detach().clone()
    state_in = {
        k: v.clone() for k, v in optimizer.state[incoming.weight].items() if th.is_tensor(v)
    }
    # the third step's utilities: 0.5 * set value + 0.5 * contribution; unit 1 must stay lowest
    with th.no_grad():
        outgoing.weight[:, 1] = 0.0
    _forward_and_step(model, x)
    assert cbp.n_replaced == 1
    layer = cbp.layers[0]
    assert layer.age[1] == 0 and layer.utility[1] == 0
    assert th.all(layer.age[[0, 2, 3]] == 3)
    assert th.all(outgoing.weight[:, 1] == 0)
    assert incoming.bias[1] == 0
    assert not th.equal(incoming.weight[1], before_in[1])  # a fresh draw
    bound = 1 / math.sqrt(incoming.in_features)
    assert th.all(incoming.weight[1].abs() <= bound)
    for key in ("exp_avg", "exp_avg_sq"):
        assert th.all(optimizer.state[incoming.weight][key][1] == 0)
        assert th.all(optimizer.state[incoming.bias][key][1] == 0)
        assert th.all(optimizer.state[outgoing.weight][key][:, 1] == 0)
        assert th.any(optimizer.state[incoming.weight][key][[0, 2, 3]] != 0)
    assert not th.equal(state_in["exp_avg"][1], th.zeros(4))
    kept = [0, 2, 3]
    assert th.equal(
        outgoing.weight[:, kept] != 0, before_out[:, kept] != 0
    )  # other columns trained on, not zeroed
    if cls is FadeDQN:
        state = optimizer.state[outgoing.weight]
        assert th.allclose(state["log_decay"][:, 1], th.tensor(math.log(1e-3)))
        assert th.all(state["decay_trace"][:, 1] == 0)
        assert not th.allclose(state["log_decay"][:, kept], th.tensor(math.log(1e-3)))
    assert_every_trainable_parameter_is_optimized(model)
    cbp.remove()


def test_replacements_accumulate_fractional_counts() -> None:
    model = tiny(DQN, net_arch=[10])
    cbp = ContinualBackprop(model, replacement_rate=0.03, maturity_threshold=1)
    x = th.randn(8, 4)
    counts = []
    for _ in range(8):
        _forward_and_step(model, x)
        counts.append(cbp.n_replaced)
    # from step 2 on 10 mature units add 0.3 a step, less the young: the first at step 5
    assert counts[:4] == [0, 0, 0, 0]
    assert counts[4] == 1
    cbp.remove()


@pytest.mark.parametrize("cls", ALGORITHMS)
def test_cbp_callback_runs_and_resumes_on_every_algorithm(cls) -> None:
    model = tiny(cls, net_arch=[8, 8])
    callback = ContinualBackpropCallback(replacement_rate=0.05, maturity_threshold=5)
    model.learn(60, callback=callback)
    assert callback.n_replaced > 0
    assert_every_trainable_parameter_is_optimized(model)
    state = callback.state_dict()
    again = ContinualBackpropCallback(replacement_rate=0.05, maturity_threshold=5)
    again.load_state_dict(state)
    model.learn(10, callback=again, reset_num_timesteps=False)
    assert again.n_replaced >= state["n_replaced"]


def test_cbp_refuses_crelu_critics_and_bad_arguments() -> None:
    model = tiny(DQN, policy=CriticArchDQNPolicy, policy_kwargs=dict(crelu=True))
    with pytest.raises(ValueError, match="CReLU"):
        ContinualBackprop(model)
    with pytest.raises(ValueError, match="decay must be in"):
        ContinualBackpropCallback(decay=1.0)
    with pytest.raises(ValueError, match="replacement_rate must be in"):
        ContinualBackpropCallback(replacement_rate=2.0)
    with pytest.raises(ValueError, match="maturity_threshold must be a positive int"):
        ContinualBackpropCallback(maturity_threshold=0)
