"""Resets and shrink & perturb on PPO: exactly the chosen modules, drawn as PPO draws them, their
optimizer state dropped (reset) or kept (snp), and applied between two rollouts."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import pytest
import torch as th
from stable_baselines3 import PPO

from fade_rl import FadePPO
from fade_rl.algos import CriticArchPPOPolicy, family_of, target_modules
from fade_rl.envs import ObservationOffsets
from fade_rl.methods import (
    ReDoCallback,
    ResetCallback,
    ShrinkPerturbCallback,
    reset_parameters,
    shrink_perturb,
)
from tests.algos.helpers import RewardFlip
from tests.methods.fidelity.ppo_models import (
    PPO_CLASSES,
    RolloutRecorder,
    assert_every_parameter_is_optimized,
    assert_orthogonal,
    gain_of,
    perturb,
    snapshot,
    tiny_ppo,
)

#: The policy parameters each target re-draws (Pendulum: a Gaussian policy with log_std).
CHOSEN = {
    "head": {"value_net.weight", "value_net.bias"},
    "critic": {"value_net.weight", "value_net.bias"}
    | {f"mlp_extractor.value_net.{i}.{k}" for i in (0, 2) for k in ("weight", "bias")},
    "all": None,  # every parameter
}


def _pendulum(cls: type) -> PPO:
    model = tiny_ppo(cls, "Pendulum-v1", policy_kwargs={"log_std_init": -0.5})
    model.train()  # optimizer state for every parameter
    perturb(model)  # nothing at its initial value (biases, log_std)
    return model


@pytest.mark.parametrize("cls", PPO_CLASSES)
@pytest.mark.parametrize("target", ["head", "critic", "all"])
def test_reset_redraws_exactly_the_target_as_ppo_initializes_it(cls: type, target: str) -> None:
    model = _pendulum(cls)
    before = snapshot(model)
    chosen = CHOSEN[target] or set(before)
    optimizer = model.policy.optimizer
    params = dict(model.policy.named_parameters())
    assert all(params[name] in optimizer.state for name in before)
    buffer = model.rollout_buffer.observations.copy()

    assert reset_parameters(model, target) == len(chosen)

    for name, p in model.policy.named_parameters():
        if name not in chosen:
            assert th.equal(p, before[name]), name
            assert p in optimizer.state, f"{name} lost its optimizer state"
            continue
        assert p not in optimizer.state, f"{name} kept its optimizer state"
        if name == "log_std":
            assert th.equal(p, th.full_like(p, -0.5))  # log_std_init
        elif name.endswith("bias"):
            assert not p.any()
        else:
            assert_orthogonal(p, gain_of(name))
    assert_every_parameter_is_optimized(model)
    assert (model.rollout_buffer.observations == buffer).all()
    if cls is FadePPO:
        assert model.fade_heads["value_net"] is model.policy.value_net
    model.train()  # the reset parameters train again, from fresh state
    steps = int(th.as_tensor(optimizer.state[model.policy.value_net.weight]["step"]))
    assert steps == (1 if "value_net.weight" in chosen else 3)


def test_reset_all_is_a_fresh_policy_and_a_fresh_adam() -> None:
    """After ``"all"`` every parameter's next Adam step is a first one: lr * g / (|g| + eps)."""
    model = _pendulum(PPO)
    reset_parameters(model, "all")
    optimizer = model.policy.optimizer
    assert not optimizer.state
    params = list(model.policy.parameters())
    before = [p.detach().clone() for p in params]
    grads = [th.linspace(-1.0, 1.0, p.numel()).reshape(p.shape) for p in params]
    optimizer.zero_grad()
    for p, g in zip(params, grads, strict=True):
        p.grad = g.clone()
    optimizer.step()
    lr, eps = optimizer.param_groups[0]["lr"], optimizer.param_groups[0]["eps"]
    for p, b, g in zip(params, before, grads, strict=True):
        th.testing.assert_close(p, b - lr * g / (g.abs() + eps), atol=1e-7, rtol=0)


@pytest.mark.parametrize(
    ("env", "policy", "policy_kwargs"),
    [
        ("Pendulum-v1", "MlpPolicy", {"log_std_init": -0.5}),
        ("CartPole-v1", "MlpPolicy", {"share_features_extractor": False}),
        ("CartPole-v1", CriticArchPPOPolicy, {"layer_norm": True, "net_arch": [8, 8]}),
    ],
)
def test_the_fresh_draw_is_the_policy_a_new_ppo_builds(env, policy, policy_kwargs) -> None:
    """With torch seeded alike, the family's fresh policy is bit for bit a new PPO's."""
    model = PPO(policy, env, n_steps=64, policy_kwargs=policy_kwargs, device="cpu")
    th.manual_seed(5)
    (fresh,) = family_of(model).fresh_modules(model, [model.policy])
    th.manual_seed(5)
    new = PPO(policy, env, n_steps=64, policy_kwargs=policy_kwargs, device="cpu").policy
    assert fresh is not model.policy and type(fresh) is type(model.policy)
    state, expected = fresh.state_dict(), new.state_dict()
    assert state.keys() == expected.keys()
    assert all(th.equal(state[k], expected[k]) for k in state)
    part = model.policy.mlp_extractor.value_net[0]
    (draw,) = family_of(model).fresh_modules(model, [part])
    assert type(draw) is type(part) and draw is not part and draw.weight.shape == part.weight.shape
    with pytest.raises(ValueError, match=r"not modules of PPO\.policy"):
        family_of(model).fresh_modules(model, [th.nn.Linear(2, 2)])


@pytest.mark.parametrize("target", ["critic", "all"])
def test_shrink_perturb_mixes_with_a_fresh_ppo_draw_and_keeps_the_optimizer(target: str) -> None:
    model = _pendulum(FadePPO)
    before = snapshot(model)
    chosen = CHOSEN[target] or set(before)
    state_before = {
        id(p): {k: v.clone() for k, v in s.items() if th.is_tensor(v)}
        for p, s in model.policy.optimizer.state.items()
    }
    modules = target_modules(model, target)
    rng = th.get_rng_state()  # the draw shrink_perturb will make
    fresh = family_of(model).fresh_modules(model, modules)
    th.set_rng_state(rng)
    shrink_perturb(model, 0.25, target)
    expected = {}
    for module, draw in zip(modules, fresh, strict=True):
        names = {id(p): n for n, p in model.policy.named_parameters()}
        for p, f in zip(module.parameters(), draw.parameters(), strict=True):
            expected[names[id(p)]] = 0.25 * before[names[id(p)]] + 0.75 * f
    assert set(expected) == chosen
    for name, p in model.policy.named_parameters():
        if name in chosen:
            th.testing.assert_close(p, expected[name], atol=1e-6, rtol=0)
        else:
            assert th.equal(p, before[name]), name
    for p, state in model.policy.optimizer.state.items():
        for key, value in state_before[id(p)].items():
            assert th.equal(th.as_tensor(state[key]), value)
    initial = snapshot(  # the model's initial weights: the same seed, before learning
        FadePPO(
            "MlpPolicy",
            "Pendulum-v1",
            n_steps=64,
            seed=0,
            device="cpu",
            policy_kwargs={"net_arch": [8, 8], "log_std_init": -0.5},
        )
    )
    shrink_perturb(model, 0.0, target)  # two draws: neither each other nor the initial weights
    first = snapshot(model)
    shrink_perturb(model, 0.0, target)
    for name in chosen - {"log_std"} - {n for n in chosen if n.endswith("bias")}:
        assert not th.equal(first[name], model.policy.get_parameter(name))
        assert not th.equal(first[name], initial[name])


# ------------------------------------------------------------------------ timing
def _run(env: gym.Env, callback: Any, steps: int = 256, count: str = "n_resets") -> RolloutRecorder:
    """PPO with rollouts of 64 steps; ``callback``'s ``count`` recorded at each rollout start."""
    model = PPO("MlpPolicy", env, n_steps=64, batch_size=64, n_epochs=1, seed=0, device="cpu")
    recorder = RolloutRecorder(lambda: getattr(callback, count))
    model.learn(steps, callback=[callback, recorder])
    return recorder


class _ResetNow(ResetCallback):
    """A reset applied in the middle of a rollout, as an off-policy algorithm is reset."""

    def _due(self) -> None:
        self._act()


def test_a_reset_due_during_a_rollout_applies_when_the_next_rollout_starts() -> None:
    env = RewardFlip(gym.make("CartPole-v1"), flip_at=100)  # info["shift"] at step 100
    recorder = _run(env, ResetCallback(target="all", shift_info_key="shift"))
    # due in the rollout of steps 65-128, applied before the first action of 129-192
    assert recorder.starts == [(0, 0), (64, 0), (128, 1), (192, 1)]
    assert recorder.consistent == [True] * 4  # each rollout collected by the networks it trains
    # the alternative: a reset at step 100 leaves steps 65-100 collected by other networks
    now = _run(RewardFlip(gym.make("CartPole-v1"), flip_at=100), _ResetNow("all", None, "shift"))
    assert now.consistent == [True, False, True, True]


def test_a_period_of_whole_rollouts_resets_exactly_at_the_level_changes() -> None:
    """CartPole-ObsOffsets' levels are a multiple of n_steps long: ``every`` = the level length
    resets between the last rollout of a level and the first of the next; the level's flag
    comes on its first step, so ``at_shift`` resets one rollout later."""
    levels = dict(levels=3, level_steps=128, seed=0)
    every = _run(ObservationOffsets(gym.make("CartPole-v1"), **levels), ResetCallback("all", 128))
    at_shift = _run(
        ObservationOffsets(gym.make("CartPole-v1"), **levels),
        ResetCallback("all", shift_info_key="shift"),
        steps=384,
    )
    assert every.starts == [(0, 0), (64, 0), (128, 1), (192, 1)]  # level 1: from step 129
    assert at_shift.starts == [(0, 0), (64, 0), (128, 0), (192, 1), (256, 1), (320, 2)]
    assert all(every.consistent) and all(at_shift.consistent)


@pytest.mark.parametrize(
    ("make", "count"),
    [
        (lambda: ResetCallback("critic", every=96), "n_resets"),
        (lambda: ShrinkPerturbCallback(0.5, every=96, target="all"), "n_applied"),
        (lambda: ReDoCallback(tau=0.5, every=96, batch_size=32), "n_recycled"),
    ],
)
def test_periodic_changes_wait_for_the_next_rollout(make, count: str) -> None:
    callback = make()
    recorder = _run(gym.make("CartPole-v1"), callback, count=count)
    # due at step 96 (the second rollout) and 192 (the third's last step): applied when the
    # third and the fourth start, never in the middle of a rollout
    steps = [step for step, _ in recorder.starts]
    counts = [n for _, n in recorder.starts]
    assert steps == [0, 64, 128, 192] and counts[:2] == [0, 0] and 0 < counts[2] < counts[3]
    if count != "n_recycled":
        assert counts == [0, 0, 1, 2]
    assert all(recorder.consistent)
    assert callback.state() == {"pending": False}


def test_a_pending_change_survives_a_checkpoint_through_its_state() -> None:
    model = tiny_ppo(PPO)
    callback = ResetCallback("all", every=64)
    callback.init_callback(model)
    callback.on_training_start({}, {})
    model.num_timesteps = 128  # the first multiple of 64 after the 64 steps already taken
    callback.update_locals({"infos": [{}]})
    callback.on_step()
    assert callback.state() == {"pending": True} and callback.n_resets == 0
    resumed = ResetCallback("all", every=64)
    for key, value in callback.state().items():  # as a checkpoint restores it
        setattr(resumed, key, value)
    resumed.init_callback(model)
    resumed.on_rollout_start()
    assert resumed.n_resets == 1 and not resumed.pending
