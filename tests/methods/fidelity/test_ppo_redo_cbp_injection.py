"""ReDo and continual backprop on PPO's value MLP (the actor left alone), plasticity injection's
refusal of PPO, and every method on the device (meta) with PPO and FadePPO."""

from __future__ import annotations

import math

import pytest
import torch as th
from stable_baselines3 import PPO

from fade_rl import FadePPO
from fade_rl.algos import family_of
from fade_rl.methods import (
    ContinualBackprop,
    ContinualBackpropCallback,
    InjectionCallback,
    L2InitCallback,
    ReDoCallback,
    ResetCallback,
    ShrinkPerturbCallback,
    TRACCallback,
    WeightDecayCallback,
    inject_plasticity,
    redo,
)
from fade_rl.nets import q_values_of, run_critics
from tests.device_contract import META, HostReads, model_to_meta
from tests.methods.fidelity.ppo_models import (
    PPO_CLASSES,
    assert_every_parameter_is_optimized,
    snapshot,
    tiny_ppo,
    train_seeded,
)

FADE = {"fade_kwargs": {"meta_lr": 10.0, "init_decay": 1e-3}}


def _actor(names: dict[str, th.Tensor]) -> dict[str, th.Tensor]:
    return {n: p for n, p in names.items() if not n.startswith(("mlp_extractor.value", "value"))}


def _state(optimizer: th.optim.Optimizer, p: th.Tensor) -> dict[str, th.Tensor]:
    return {k: v.clone() for k, v in optimizer.state[p].items() if th.is_tensor(v) and v.dim()}


# ---------------------------------------------------------------------------------- ReDo
@pytest.mark.parametrize("cls", PPO_CLASSES)
def test_redo_recycles_exactly_the_value_mlps_dormant_units(cls: type) -> None:
    model = tiny_ppo(cls, net_arch=[16, 16], **(FADE if cls is FadePPO else {}))
    train_seeded(model)
    mlp, head = model.policy.mlp_extractor.value_net, model.policy.value_net
    with th.no_grad():  # units 1 and 5 of the second layer: tanh(0) = 0 on every input
        mlp[2].weight[[1, 5]] = 0.0
        mlp[2].bias[[1, 5]] = 0.0
    optimizer = model.policy.optimizer
    before = snapshot(model)
    states = {id(p): _state(optimizer, p) for p in (mlp[2].weight, mlp[2].bias, head.weight)}
    buffer = model.rollout_buffer.observations.copy()
    rng = th.get_rng_state()  # the draw redo will make: SB3's initialization of both layers
    fresh = family_of(model).fresh_modules(model, [mlp[0], mlp[2]])
    th.set_rng_state(rng)

    counts = redo(model, tau=0.0, batch_size=64)

    assert set(counts) == {"value_net/hidden0", "value_net/hidden1"}
    assert counts["value_net/hidden1"] == 2 and counts["value_net/hidden0"] == 0
    dead, alive = [1, 5], [u for u in range(16) if u not in (1, 5)]
    assert th.equal(mlp[2].weight[dead], fresh[1].weight[dead])  # orthogonal rows, gain sqrt 2
    assert th.equal(mlp[2].bias[dead], fresh[1].bias[dead]) and not mlp[2].bias[dead].any()
    assert th.equal(mlp[2].weight[alive], before["mlp_extractor.value_net.2.weight"][alive])
    assert not head.weight[:, dead].any()
    assert th.equal(head.weight[:, alive], before["value_net.weight"][:, alive])
    assert th.equal(head.bias, before["value_net.bias"])
    assert th.equal(mlp[0].weight, before["mlp_extractor.value_net.0.weight"])
    incoming, outgoing = optimizer.state[mlp[2].weight], optimizer.state[head.weight]
    old_in, old_out = states[id(mlp[2].weight)], states[id(head.weight)]
    for key in ("exp_avg", "exp_avg_sq"):
        assert not incoming[key][dead].any() and not outgoing[key][:, dead].any()
        assert th.equal(incoming[key][alive], old_in[key][alive])
        assert th.equal(outgoing[key][:, alive], old_out[key][:, alive])
    if cls is FadePPO:
        assert th.allclose(outgoing["log_decay"][:, dead], th.tensor(math.log(1e-3)))
        assert not outgoing["decay_trace"][:, dead].any()
        assert th.equal(outgoing["log_decay"][:, alive], old_out["log_decay"][:, alive])
    after = snapshot(model)
    assert all(th.equal(p, after[n]) for n, p in _actor(before).items())  # the actor: untouched
    assert (model.rollout_buffer.observations == buffer).all()
    assert_every_parameter_is_optimized(model)


def test_redo_needs_a_collected_rollout() -> None:
    model = PPO("MlpPolicy", "CartPole-v1", n_steps=64, device="cpu")
    with pytest.raises(ValueError, match="holds no finished rollout"):
        redo(model)


# ----------------------------------------------------------------------- continual backprop
def test_cbp_utility_is_computed_on_the_value_mlps_loss_pass() -> None:
    model = tiny_ppo(PPO, net_arch=[5])
    cbp = ContinualBackprop(model, replacement_rate=0.0, decay=0.9)
    assert [layer.name for layer in cbp.layers] == ["value_net/0"]  # the value MLP only
    mlp, head = model.policy.mlp_extractor.value_net, model.policy.value_net
    obs = th.as_tensor(model.rollout_buffer.observations).reshape(-1, 4)
    expected = th.zeros(5)
    for _ in range(3):  # one minibatch of the whole rollout per train()
        h = th.tanh(mlp[0](obs)).detach()
        train_seeded(model)
        # the utility uses the outgoing weights after the step (the paper's order)
        contribution = h.abs().mean(0) * head.weight.detach().abs().sum(0)
        expected = 0.9 * expected + 0.1 * contribution
    th.testing.assert_close(cbp.layers[0].utility, expected, atol=1e-6, rtol=1e-5)
    assert th.equal(cbp.layers[0].age, th.full((5,), 3))
    cbp.remove()


@pytest.mark.parametrize("cls", PPO_CLASSES)
def test_cbp_replaces_the_lowest_utility_unit_with_a_fresh_ppo_draw(cls: type) -> None:
    kwargs = FADE if cls is FadePPO else {}
    model, twin = (tiny_ppo(cls, net_arch=[4], **kwargs) for _ in range(2))
    mlp, head = model.policy.mlp_extractor.value_net, model.policy.value_net
    optimizer = model.policy.optimizer
    # 4 units, rate 1/4: exactly one replacement once all are mature (age > 2)
    cbp = ContinualBackprop(model, replacement_rate=0.25, decay=0.5, maturity_threshold=2)
    train_seeded(model, twin)
    train_seeded(model, twin)
    assert cbp.n_replaced == 0  # not mature yet
    cbp.layers[0].utility.copy_(th.tensor([3.0, 0.5, 2.0, 4.0]))
    with th.no_grad():  # unit 1 stays the lowest after the third step's update
        head.weight[:, 1] = 0.0
        twin.policy.value_net.weight[:, 1] = 0.0
    rng = th.get_rng_state()
    (fresh,) = family_of(model).fresh_modules(model, [mlp[0]])
    th.set_rng_state(rng)
    train_seeded(model, twin)
    assert cbp.n_replaced == 1
    layer = cbp.layers[0]
    assert layer.age[1] == 0 and layer.utility[1] == 0 and th.all(layer.age[[0, 2, 3]] == 3)
    assert th.equal(mlp[0].weight[1], fresh.weight[1]) and mlp[0].bias[1] == 0
    assert not head.weight[:, 1].any()
    for key in ("exp_avg", "exp_avg_sq"):
        assert not optimizer.state[mlp[0].weight][key][1].any()
        assert optimizer.state[mlp[0].bias][key][1] == 0
        assert not optimizer.state[head.weight][key][:, 1].any()
        assert optimizer.state[mlp[0].weight][key][[0, 2, 3]].any()
    if cls is FadePPO:
        state = optimizer.state[head.weight]
        assert th.allclose(state["log_decay"][:, 1], th.tensor(math.log(1e-3)))
        assert not state["decay_trace"][:, 1].any()
    # the actor trained as without cbp: its loss does not read the value network
    ours, theirs = _actor(snapshot(model)), _actor(snapshot(twin))
    assert all(th.equal(p, theirs[n]) for n, p in ours.items())
    assert_every_parameter_is_optimized(model)
    cbp.remove()


@pytest.mark.parametrize("cls", PPO_CLASSES)
def test_cbp_callback_runs_and_resumes_on_ppo(cls: type) -> None:
    model = tiny_ppo(cls, net_arch=[8, 8], batch_size=16)
    callback = ContinualBackpropCallback(replacement_rate=0.05, maturity_threshold=5)
    model.learn(128, callback=callback, reset_num_timesteps=False)
    assert callback.n_replaced > 0
    state = callback.state_dict()
    assert state["steps"] == 8 and set(state["layers"]) == {"value_net/0", "value_net/2"}
    again = ContinualBackpropCallback(replacement_rate=0.05, maturity_threshold=5)
    again.load_state_dict(state)
    model.learn(64, callback=again, reset_num_timesteps=False)
    assert again.state_dict()["steps"] == 12
    assert_every_parameter_is_optimized(model)


# ------------------------------------------------------------------------------ injection
@pytest.mark.parametrize("cls", PPO_CLASSES)
def test_injection_refuses_ppo_in_one_line_and_changes_nothing(cls: type) -> None:
    model = tiny_ppo(cls)
    before = snapshot(model)
    with pytest.raises(ValueError, match="does not work on PPO") as info:
        inject_plasticity(model)
    assert "\n" not in str(info.value) and "use another method" in str(info.value)
    with pytest.raises(ValueError, match="does not work on PPO"):  # at learn's start
        model.learn(64, callback=InjectionCallback(at_steps=[1000]), reset_num_timesteps=False)
    assert model.num_timesteps == 64
    assert model.policy.value_net.__class__ is th.nn.Linear
    assert all(th.equal(p, before[n]) for n, p in model.policy.named_parameters())


# ------------------------------------------------------------------------ device contract
@pytest.mark.parametrize("cls", PPO_CLASSES)
def test_every_method_runs_on_the_models_device(cls: type, monkeypatch) -> None:
    """On ``meta`` (tests/device_contract.py) every method's hooks, draws, deferred changes and
    ReDo's rollout batch stay on the device; ReDo reads its counts once."""
    model = model_to_meta(tiny_ppo(cls, net_arch=[8, 8], batch_size=16))
    reads = HostReads().install(monkeypatch)
    callbacks = [
        WeightDecayCallback(0.1, target="critic"),
        ResetCallback(target="all", every=64),
        ShrinkPerturbCallback(alpha=0.5, every=64, target="all"),
        ReDoCallback(tau=0.1, every=64, batch_size=16),
        L2InitCallback(1e-2, target="all"),
        ContinualBackpropCallback(replacement_rate=1.0, maturity_threshold=1),
        TRACCallback(),
    ]
    for callback in callbacks:
        callback.init_callback(model)
        callback.on_training_start({}, {})
    model.num_timesteps += 64
    for callback in callbacks:
        callback.update_locals({"infos": [{}]})
        callback.on_step()  # due: pending until the next rollout
        if not isinstance(callback, TRACCallback):  # TRAC logs its scale: one read a rollout
            callback.on_rollout_end()  # ReDo keeps its batch of this rollout
    assert callbacks[1].pending and callbacks[1].n_resets == 0
    for callback in callbacks:
        callback.on_rollout_start()
    assert callbacks[1].n_resets == 1 and callbacks[2].n_applied == 1
    assert reads.scalar_reads == 1  # ReDo's counts
    family = family_of(model)
    for _ in range(3):  # value-loss steps of PPO's one optimizer (cbp replaces from the 2nd)
        batch = family.sample_batch(model, 16)
        passes = run_critics(family.critic_networks(model), batch.observations, None)
        loss, _ = family.critic_loss(q_values_of(passes), batch, family.value_targets(model, batch))
        optimizer = model.policy.optimizer
        optimizer.zero_grad()
        loss.backward()
        if cls is FadePPO:  # FADE's step wants its head's curvature
            for p in model.fade_heads["value_net"].parameters():
                optimizer.set_curvature(p, th.zeros_like(p))
        optimizer.step()
    assert callbacks[5].cbp.n_replaced > 0 and callbacks[6].trac.n_steps == 3
    assert all(p.device == META for p in model.policy.parameters())
    assert reads.scalar_reads == 1
