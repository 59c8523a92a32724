"""Methods: each changes what it says and leaves the rest alone, on vanilla and FADE models."""

from __future__ import annotations

import copy
import doctest
import importlib
import math
from typing import Any

import gymnasium as gym
import pytest
import torch as th
from stable_baselines3 import A2C, DQN, SAC, TD3

from fade_rl import FadeDQN, FadeSAC
from fade_rl.algos import (
    critic_loss,
    critic_networks,
    critic_optimizer,
    dormant_scores,
    fresh_copy,
    run_critics,
    td_targets,
)
from fade_rl.algos.common import no_distribution_validation
from fade_rl.methods import (
    ContinualBackpropCallback,
    InjectionCallback,
    L2InitCallback,
    ReDoCallback,
    ResetCallback,
    ShrinkPerturbCallback,
    TRACCallback,
    WeightDecayCallback,
    add_weight_decay,
    redo,
    reset_parameters,
    shrink_perturb,
)
from tests.algos.helpers import RewardFlip, fix_replay_batch, trained
from tests.device_contract import META, HostReads, model_to_meta


def _snapshot(module: th.nn.Module) -> dict[str, th.Tensor]:
    return {n: p.detach().clone() for n, p in module.named_parameters()}


def _buffer_copy(model: Any) -> tuple[int, Any]:
    return model.replay_buffer.pos, model.replay_buffer.observations.copy()


def _same_buffer(model: Any, before: tuple[int, Any]) -> bool:
    return (
        model.replay_buffer.pos == before[0]
        and (model.replay_buffer.observations == before[1]).all()
    )


#: The small seeded networks and replay settings of :func:`_dqn` and :func:`_sac`.
SMALL: dict[str, Any] = dict(net_arch=[16, 16], learning_starts=30, batch_size=16, seed=0)


def _dqn(cls: type = DQN, **kwargs: Any) -> Any:
    return trained(cls, "CartPole-v1", 80, **SMALL, **kwargs)


def _sac(cls: type = SAC) -> Any:
    return trained(cls, "Pendulum-v1", 60, **SMALL)


# ------------------------------------------------------------------ weight decay
@pytest.mark.parametrize("cls", [DQN, FadeDQN])
def test_weight_decay_on_the_head_is_adamw_decay_before_the_step(cls: type) -> None:
    model = _dqn(cls)
    twin = _dqn(cls)  # same seed: identical weights, optimizer state and buffer
    data = fix_replay_batch(model, 16)
    twin.replay_buffer.sample = lambda *args, **kwargs: data
    before = _snapshot(model.q_net)
    handles = add_weight_decay(model, 0.5, target="head")
    model.train(1, 16)
    twin.train(1, 16)
    lr = model.policy.optimizer.param_groups[0]["lr"]
    twin_params = dict(twin.q_net.named_parameters())
    for name, p in model.q_net.named_parameters():
        if name.startswith("q_net.4"):  # the head: (1 - lr * wd) * p, then the same update
            th.testing.assert_close(p, twin_params[name] - lr * 0.5 * before[name])
        else:
            assert th.equal(p, twin_params[name]), name
    for handle in handles:
        handle.remove()
    model.train(1, 16)
    twin.train(1, 16)
    head_gap = model.q_net.q_net[4].weight - twin.q_net.q_net[4].weight
    previous_gap = -lr * 0.5 * before["q_net.4.weight"]
    # Without the hook the gap no longer grows by another decay term.
    assert (head_gap - previous_gap).abs().max() < 0.5 * (
        lr * 0.5 * before["q_net.4.weight"]
    ).abs().max()


@pytest.mark.parametrize("cls", [SAC, FadeSAC])
def test_weight_decay_on_the_critic_leaves_the_actor_alone(cls: type) -> None:
    model = _sac(cls)
    actor_before = _snapshot(model.actor)
    critic_before = _snapshot(model.critic)
    target_before = _snapshot(model.critic_target)
    handles = add_weight_decay(model, 2.0, target="critic")
    lr = model.critic.optimizer.param_groups[0]["lr"]
    # With no gradients, the optimizers' own updates do nothing: what changes is the decay.
    for optimizer in (model.critic.optimizer, model.actor.optimizer):
        optimizer.zero_grad()
        optimizer.step()
    for name, p in model.critic.named_parameters():
        if "features_extractor" not in name:
            th.testing.assert_close(p, (1 - 2.0 * lr) * critic_before[name])
    assert all(th.equal(p, actor_before[n]) for n, p in model.actor.named_parameters())
    assert all(th.equal(p, target_before[n]) for n, p in model.critic_target.named_parameters())
    for handle in handles:
        handle.remove()

    callback = WeightDecayCallback(1.0, target="critic")
    model.learn(40, callback=callback, reset_num_timesteps=False)
    assert callback._handles == []  # removed at the end of learn
    decayed = _snapshot(model.critic)
    model.critic.optimizer.zero_grad()
    model.critic.optimizer.step()
    assert all(th.equal(p, decayed[n]) for n, p in model.critic.named_parameters())


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (dict(weight_decay=-1.0), ValueError, "weight_decay must be a finite number >= 0"),
        (dict(weight_decay=float("nan")), ValueError, "weight_decay"),
        (dict(weight_decay=0.1, target="actor"), ValueError, "target must be one of"),
    ],
)
def test_weight_decay_validation(kwargs: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        WeightDecayCallback(**kwargs)
    with pytest.raises(error, match=message):
        add_weight_decay(DQN("MlpPolicy", "CartPole-v1"), **kwargs)


def test_methods_refuse_other_algorithms() -> None:
    a2c = A2C("MlpPolicy", "CartPole-v1", n_steps=64)
    for call in (
        lambda: add_weight_decay(a2c, 0.1),
        lambda: reset_parameters(a2c),
        lambda: shrink_perturb(a2c, 0.5),
        lambda: redo(a2c),
    ):
        with pytest.raises(TypeError, match="DQN, SAC, TD3 and PPO"):
            call()


# ------------------------------------------------------------------------ reset
@pytest.mark.parametrize("cls", [DQN, FadeDQN])
def test_reset_head_of_dqn(cls: type) -> None:
    model = _dqn(cls)
    online_before, target_before = _snapshot(model.q_net), _snapshot(model.q_net_target)
    buffer = _buffer_copy(model)
    optimizer = model.policy.optimizer
    head = model.q_net.q_net[4]
    assert head.weight in optimizer.state
    assert reset_parameters(model, target="head") == 2
    for name, p in model.q_net.named_parameters():
        changed = not th.equal(p, online_before[name])
        assert changed == name.startswith("q_net.4"), name
    target_params = dict(model.q_net_target.named_parameters())
    for name, p in model.q_net.named_parameters():
        if name.startswith("q_net.4"):
            assert th.equal(target_params[name], p)  # the target copy is re-initialized too
        else:
            assert th.equal(target_params[name], target_before[name])
    assert head.weight not in optimizer.state and head.bias not in optimizer.state
    assert model.q_net.q_net[0].weight in optimizer.state
    assert _same_buffer(model, buffer)
    model.learn(40, reset_num_timesteps=False)  # trains on from fresh optimizer state
    if cls is FadeDQN:
        rates = model.fade_decay_rates()["q_net"]
        assert rates.shape == (16 * 2 + 2,)


def test_reset_critic_and_all_of_td3() -> None:
    model = trained(TD3, "Pendulum-v1", 60, net_arch=[8], learning_starts=30, batch_size=16)
    actor_before, actor_target_before = _snapshot(model.actor), _snapshot(model.actor_target)
    critic_before = _snapshot(model.critic)
    reset_parameters(model, target="critic")
    assert all(
        not th.equal(p, critic_before[n])
        for n, p in model.critic.named_parameters()
        if "features_extractor" not in n
    )
    assert all(th.equal(p, actor_before[n]) for n, p in model.actor.named_parameters())
    assert all(
        th.equal(p, actor_target_before[n]) for n, p in model.actor_target.named_parameters()
    )
    assert not model.critic.optimizer.state and model.actor.optimizer.state
    for p, q in zip(model.critic.parameters(), model.critic_target.parameters(), strict=True):
        assert th.equal(p, q)
    reset_parameters(model, target="all")
    assert all(not th.equal(p, actor_before[n]) for n, p in model.actor.named_parameters())
    for p, q in zip(model.actor.parameters(), model.actor_target.parameters(), strict=True):
        assert th.equal(p, q)
    assert not model.actor.optimizer.state


def test_reset_callback_every_k_steps_and_at_shift() -> None:
    every = ResetCallback(target="head", every=50)
    model = DQN("MlpPolicy", "CartPole-v1", learning_starts=20, policy_kwargs=dict(net_arch=[8]))
    model.learn(120, callback=every)
    assert every.n_resets == 2
    model.learn(40, callback=every, reset_num_timesteps=False)  # crosses 150
    assert every.n_resets == 3

    at_shift = ResetCallback(target="critic", shift_info_key="shift")
    env = RewardFlip(gym.make("CartPole-v1"), flip_at=70)
    model = DQN("MlpPolicy", env, learning_starts=20, policy_kwargs=dict(net_arch=[8]))
    model.learn(120, callback=at_shift)
    assert at_shift.n_resets == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(target="actor", every=10), "target must be one of"),
        (dict(every=0), "every must be a positive int"),
        (dict(every=1.5), "every must be a positive int"),
        (dict(), "needs every=K"),
        (dict(shift_info_key=""), "shift_info_key"),
    ],
)
def test_reset_validation(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ResetCallback(**kwargs)


# -------------------------------------------------------------- shrink & perturb
@pytest.mark.parametrize("cls", [SAC, FadeSAC])
def test_shrink_perturb_moves_toward_a_fresh_init(cls: type) -> None:
    model = _sac(cls)
    critic_before, actor_before = _snapshot(model.critic), _snapshot(model.actor)
    target_before = _snapshot(model.critic_target)
    optimizer_before = copy.deepcopy(model.critic.optimizer.state_dict())
    th.manual_seed(7)
    fresh = [dict(fresh_copy(net).named_parameters()) for net in model.critic.q_networks]
    th.manual_seed(7)
    shrink_perturb(model, alpha=0.75, target="critic")
    for net, fresh_params, index in zip(model.critic.q_networks, fresh, range(2), strict=True):
        for name, p in net.named_parameters():
            before = critic_before[f"qf{index}.{name}"]
            th.testing.assert_close(p, 0.75 * before + 0.25 * fresh_params[name])
    assert all(th.equal(p, actor_before[n]) for n, p in model.actor.named_parameters())
    assert all(th.equal(p, target_before[n]) for n, p in model.critic_target.named_parameters())
    optimizer_after = model.critic.optimizer.state_dict()
    for index, state in optimizer_before["state"].items():
        for key, value in state.items():
            assert th.equal(th.as_tensor(value), th.as_tensor(optimizer_after["state"][index][key]))


def test_shrink_perturb_extremes_and_callback() -> None:
    model = _dqn()
    before = _snapshot(model.q_net)
    shrink_perturb(model, alpha=1.0, target="all")
    assert all(th.equal(p, before[n]) for n, p in model.q_net.named_parameters())
    shrink_perturb(model, alpha=0.0, target="head")
    head = model.q_net.q_net[4]
    bound = 1 / math.sqrt(head.in_features)  # PyTorch's default Linear init range
    assert not th.equal(head.weight, before["q_net.4.weight"])
    assert head.weight.abs().max() <= bound
    assert th.equal(model.q_net.q_net[0].weight, before["q_net.0.weight"])
    callback = ShrinkPerturbCallback(alpha=0.9, every=25, target="critic")
    model.learn(60, callback=callback, reset_num_timesteps=False)
    assert callback.n_applied == 2
    for kwargs, message in (
        (dict(alpha=1.5, every=10), r"alpha must be in \[0, 1\]"),
        (dict(alpha=0.5, every=-1), "every must be a positive int"),
        (dict(alpha=0.5, every=10, target="actor"), "target must be one of"),
    ):
        with pytest.raises(ValueError, match=message):
            ShrinkPerturbCallback(**kwargs)


# ------------------------------------------------------------------------- ReDo
def _kill_units(layer: th.nn.Linear, units: list[int]) -> None:
    with th.no_grad():
        layer.weight[units] = 0.0
        layer.bias[units] = -1.0  # ReLU(-1) = 0 on every input: dead units


@pytest.mark.parametrize("cls", [DQN, FadeDQN])
def test_redo_recycles_exactly_the_dormant_units(cls: type) -> None:
    model = _dqn(cls)
    net = model.q_net.q_net  # Linear(4,16) ReLU Linear(16,16) ReLU Linear(16,2)
    _kill_units(net[2], [1, 5])
    model.train(1, 16)  # optimizer state exists for every weight
    _kill_units(net[2], [1, 5])
    data = fix_replay_batch(model, 64)
    inputs = model.q_net.extract_features(data.observations, model.q_net.features_extractor)
    with th.no_grad():
        h0 = th.relu(net[0](inputs))
        scores = {0: dormant_scores(h0), 2: dormant_scores(th.relu(net[2](h0)))}
    dead0, dead2 = (scores[0] <= 0).nonzero().flatten(), (scores[2] <= 0).nonzero().flatten()
    alive0, alive2 = (scores[0] > 0).nonzero().flatten(), (scores[2] > 0).nonzero().flatten()
    assert {1, 5} <= set(dead2.tolist()) and len(alive2) > 0 and len(alive0) > 0
    optimizer = model.policy.optimizer
    with th.no_grad():  # non-zero moments everywhere, so that zeroing is visible
        for p in net.parameters():
            for key in ("exp_avg", "exp_avg_sq", "decay_trace"):
                if key in optimizer.state[p]:
                    optimizer.state[p][key].fill_(0.5)
    before = _snapshot(net)
    state_before = {
        id(p): {k: v.clone() for k, v in optimizer.state[p].items() if isinstance(v, th.Tensor)}
        for p in net.parameters()
    }
    target_before = _snapshot(model.q_net_target)
    buffer = _buffer_copy(model)

    counts = redo(model, tau=0.0, batch_size=64)

    assert counts == {"q_net/hidden0": len(dead0), "q_net/hidden1": len(dead2)}
    w0, w2, w4 = net[0].weight, net[2].weight, net[4].weight
    # Incoming weights and biases of dormant units are fresh; the others are untouched.
    assert th.equal(w0[alive0], before["0.weight"][alive0])
    assert th.equal(net[2].bias[alive2], before["2.bias"][alive2])
    assert not th.equal(w2[dead2], before["2.weight"][dead2])
    assert th.equal(w2[alive2][:, alive0], before["2.weight"][alive2][:, alive0])
    # Outgoing weights of dormant units are zero (for layer 2: the head's columns).
    assert not w2[alive2][:, dead0].any()
    assert not w4[:, dead2].any()
    assert th.equal(w4[:, alive2], before["4.weight"][:, alive2])
    assert th.equal(net[4].bias, before["4.bias"])
    # Optimizer moments of exactly the touched weights are zeroed.
    incoming, outgoing = optimizer.state[w2], optimizer.state[w4]
    old_in, old_out = state_before[id(w2)], state_before[id(w4)]
    for key in ("exp_avg", "exp_avg_sq"):
        assert not incoming[key][dead2].any() and not outgoing[key][:, dead2].any()
        assert th.equal(incoming[key][alive2][:, alive0], old_in[key][alive2][:, alive0])
        assert th.equal(outgoing[key][:, alive2], old_out[key][:, alive2])
    if cls is FadeDQN:
        init = math.log(optimizer.param_groups[-1]["init_decay"])
        assert not outgoing["decay_trace"][:, dead2].any()
        assert th.allclose(outgoing["log_decay"][:, dead2], th.tensor(init))
        assert th.equal(outgoing["log_decay"][:, alive2], old_out["log_decay"][:, alive2])
    assert all(th.equal(p, target_before[n]) for n, p in model.q_net_target.named_parameters())
    assert _same_buffer(model, buffer)
    # The recycled incoming weights are a fresh draw of PyTorch's Linear initialization.
    bound = 1 / math.sqrt(w2.shape[1])
    assert w2[dead2].abs().max() <= bound and w2[dead2].abs().sum() > 0


def test_redo_on_sac_critics_and_callback() -> None:
    model = _sac()
    actor_before = _snapshot(model.actor)
    counts = redo(model, tau=0.1)
    assert set(counts) == {"qf0/hidden0", "qf0/hidden1", "qf1/hidden0", "qf1/hidden1"}
    assert all(th.equal(p, actor_before[n]) for n, p in model.actor.named_parameters())
    callback = ReDoCallback(tau=0.5, every=20, batch_size=32)
    model.learn(45, callback=callback, reset_num_timesteps=False)
    assert callback.n_recycled > 0  # tau = 0.5 always finds some below-half-average units


def test_redo_validation() -> None:
    empty = DQN("MlpPolicy", "CartPole-v1")
    with pytest.raises(ValueError, match="replay buffer is empty"):
        redo(empty)
    with pytest.raises(ValueError, match="tau must be >= 0"):
        redo(empty, tau=-0.1)
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        ReDoCallback(batch_size=0)
    with pytest.raises(ValueError, match="every must be a positive int"):
        ReDoCallback(every=0)


# ------------------------------------------------------------------ device contract
@pytest.mark.parametrize("cls", [DQN, FadeDQN, SAC, TD3])
def test_every_method_runs_on_the_models_device(cls: type, monkeypatch: pytest.MonkeyPatch) -> None:
    """On ``meta`` (see tests/device_contract.py) a host read or a CPU tensor raises: each
    method must compute on the model's device. ReDo reads its unit counts once, in
    :func:`fade_rl.nets.readout.read_scalars`, which the stand-in allows and counts."""
    model = model_to_meta(_dqn(cls) if cls in (DQN, FadeDQN) else _sac(cls))
    reads = HostReads().install(monkeypatch)  # after the CPU part (FadeDQN's log dumps read)
    callbacks = [
        WeightDecayCallback(0.1, target="critic"),
        ResetCallback(target="critic", every=10),
        ShrinkPerturbCallback(alpha=0.5, every=10, target="all"),
        ReDoCallback(tau=0.1, every=10, batch_size=16),
    ]
    for callback in callbacks:
        callback.init_callback(model)
        callback.on_training_start({}, {})
    model.num_timesteps += 10
    for callback in callbacks:
        callback.update_locals({"infos": [{}]})
        callback.on_step()
    optimizers = [model.policy.optimizer] if cls in (DQN, FadeDQN) else [model.critic.optimizer]
    if cls is FadeDQN:  # FADE's step wants its heads' curvature
        for head in model.fade_heads.values():
            for p in head.parameters():
                model.fade_optimizer.set_curvature(p, th.zeros_like(p))
    for optimizer in optimizers:
        optimizer.step()  # runs the weight-decay pre-hook on meta parameters
    assert callbacks[1].n_resets == 1 and callbacks[2].n_applied == 1
    assert reads.scalar_reads == 1
    assert all(p.device == META for p in model.policy.parameters())


def _critic_step_on_meta(model: Any) -> None:
    """One critic gradient step as the algorithms take it, from parts (no SB3 ``.item()``)."""
    data = model.replay_buffer.sample(16)
    with th.no_grad(), no_distribution_validation():  # as FadeSAC.train: no host-side check
        targets = td_targets(model, data)
    passes = run_critics(critic_networks(model), data.observations, data.actions)
    loss, _ = critic_loss(model, passes, data, targets)
    optimizer = critic_optimizer(model)
    optimizer.zero_grad()
    loss.backward()
    if isinstance(model, FadeDQN):  # FADE's step wants its heads' curvature
        for head in model.fade_heads.values():
            for p in head.parameters():
                model.fade_optimizer.set_curvature(p, th.zeros_like(p))
    optimizer.step()


@pytest.mark.parametrize("cls", [DQN, FadeDQN, SAC, TD3])
def test_every_newer_method_runs_on_the_models_device(
    cls: type, monkeypatch: pytest.MonkeyPatch
) -> None:
    """l2init, cbp, injection and TRAC on ``meta``: their step hooks, cbp's replacements and
    TRAC's erfi tuner make no host read and no CPU tensor (issue 11, item 5)."""
    model = model_to_meta(_dqn(cls) if cls in (DQN, FadeDQN) else _sac(cls))
    reads = HostReads().install(monkeypatch)
    cbp = ContinualBackpropCallback(replacement_rate=1.0, maturity_threshold=1)
    trac = TRACCallback()
    injection = InjectionCallback(at_steps=[model.num_timesteps + 1])
    callbacks = [L2InitCallback(1e-2, target="all"), cbp, trac, injection]
    for callback in callbacks:
        callback.init_callback(model)
        callback.on_training_start({}, {})
    for _ in range(3):  # cbp's units mature after one step and are replaced from the second
        _critic_step_on_meta(model)
    model.num_timesteps += 1
    for callback in callbacks:
        callback.update_locals({"infos": [{}]})
        callback.on_step()
    _critic_step_on_meta(model)  # with the injected heads in the optimizer
    assert cbp.cbp is not None and cbp.cbp.n_replaced > 0
    assert trac.trac is not None and trac.trac.n_steps == 4
    assert trac.trac.s.device == META and trac.trac.overflowed.device == META
    assert injection.n_injections == 1
    assert reads.scalar_reads == 0
    assert all(p.device == META for p in model.policy.parameters())


@pytest.mark.parametrize("name", ["redo", "reset", "snp", "wd"])
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(f"fade_rl.methods.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
