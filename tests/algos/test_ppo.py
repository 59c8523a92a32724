"""FadePPO: the curvature of SB3's value term against autograd, one step against SB3's PPO,
its batches, attach_fade, the critic options, logging.

The curvature tests take a real rollout of SB3's PPO, compute SB3's own loss (policy term,
entropy, ``vf_coef * mse(returns, values_pred)``) through the policy's unmodified
``evaluate_actions``, differentiate the value term twice with respect to every element of
the value head, and compare with what the training step passed to ``FADE.set_curvature``.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch as th
from stable_baselines3 import A2C, PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.logger import configure
from stable_baselines3.common.policies import ActorCriticPolicy
from torch import nn
from torch.func import functional_call
from torch.nn import functional as F

from fade_rl import FADE, FadePPO, attach_fade
from fade_rl.algos import FAMILIES, CriticArchPPOPolicy, FadeCheckpointError, RolloutBatch

from .helpers import hessian_diagonal, record_curvature, trained

N_STEPS = 64


class _Evaluate(nn.Module):
    """``policy.evaluate_actions`` as a module's forward (for ``functional_call``)."""

    def __init__(self, policy: nn.Module) -> None:
        super().__init__()
        self.policy = policy

    def forward(self, obs: th.Tensor, actions: th.Tensor) -> Any:
        return self.policy.evaluate_actions(obs, actions)  # type: ignore[operator]


def _model(policy: Any = "MlpPolicy", **kwargs: Any) -> FadePPO:
    """A FadePPO after a few rollouts of CartPole; its next train() is one full-batch step."""
    options: dict[str, Any] = dict(n_steps=N_STEPS, batch_size=16, n_epochs=2, seed=3)
    options.update(kwargs)
    policy_kwargs = dict(net_arch=[32, 16])
    model = FadePPO(policy, "CartPole-v1", policy_kwargs=policy_kwargs, **options)
    model.learn(3 * N_STEPS)
    model.batch_size, model.n_epochs = N_STEPS, 1  # the next train(): one step, the rollout
    return model


def _sb3_losses(model: Any, overrides: dict[str, th.Tensor]) -> tuple[th.Tensor, th.Tensor]:
    """SB3's PPO loss and its value term on the whole rollout, parameters ``overrides`` changed."""
    data = next(model.rollout_buffer.get(None))  # all of it; the order does not matter
    actions = data.actions.long().flatten()
    params = {f"policy.{n}": p.detach() for n, p in model.policy.named_parameters()}
    params.update({f"policy.{n}": v for n, v in overrides.items()})
    values, log_prob, entropy = functional_call(
        _Evaluate(model.policy), params, (data.observations, actions)
    )
    values = values.flatten()
    advantages = (data.advantages - data.advantages.mean()) / (data.advantages.std() + 1e-8)
    ratio = th.exp(log_prob - data.old_log_prob)
    clip = model.clip_range(model._current_progress_remaining)
    policy_loss = -th.min(advantages * ratio, advantages * th.clamp(ratio, 1 - clip, 1 + clip))
    if model.clip_range_vf is None:
        values_pred = values
    else:
        clip_vf = model.clip_range_vf(model._current_progress_remaining)
        values_pred = data.old_values + th.clamp(values - data.old_values, -clip_vf, clip_vf)
    value_term = model.vf_coef * F.mse_loss(data.returns, values_pred)
    loss = policy_loss.mean() + model.ent_coef * -th.mean(entropy) + value_term
    return loss, value_term


def _clip_factor(model: Any) -> float:
    """The factor SB3's clip_grad_norm_ applies, from autograd's gradient of the whole loss."""
    leaves = {
        n: p.detach().clone().requires_grad_(True) for n, p in model.policy.named_parameters()
    }
    grads = th.autograd.grad(_sb3_losses(model, leaves)[0], list(leaves.values()))
    total_norm = th.linalg.vector_norm(th.stack([th.linalg.vector_norm(g) for g in grads]))
    return min(1.0, model.max_grad_norm / (total_norm.item() + 1e-6))


@pytest.mark.parametrize(
    ("clip_range_vf", "max_grad_norm"),
    [(None, 1e6), (0.02, 1e6), (0.02, 0.05)],
    ids=["unclipped", "value-clipped", "value-and-grad-clipped"],
)
def test_curvature_equals_autograd(clip_range_vf: float | None, max_grad_norm: float) -> None:
    model = _model(clip_range_vf=clip_range_vf, max_grad_norm=max_grad_norm, ent_coef=0.01)
    head = model.fade_heads["value_net"]
    assert head is model.policy.value_net
    if clip_range_vf is not None:  # the values moved since the rollout: some beyond the clip
        with th.no_grad():
            head.bias.add_(0.02)
            head.weight.add_(0.05 * th.randn_like(head.weight))
        data = next(model.rollout_buffer.get(None))
        with th.no_grad():
            diff = model.policy.predict_values(data.observations).flatten() - data.old_values
        assert (diff.abs() > clip_range_vf).any() and (diff.abs() < clip_range_vf).any()
        assert ((diff.abs() - clip_range_vf).abs() > 1e-6).all()  # none at the clamp's edge

    factor = _clip_factor(model)
    if max_grad_norm < 1:
        assert factor < 0.5  # the clipped case really clips
    else:
        assert factor == 1.0
    expected = {
        name: factor
        * hessian_diagonal(
            lambda value, n=f"value_net.{name}": _sb3_losses(model, {n: value})[1], param
        )
        for name, param in (("weight", head.weight), ("bias", head.bias))
    }
    calls = record_curvature(model)
    model.train()

    assert len(calls[id(head.weight)]) == 1  # one minibatch step
    th.testing.assert_close(calls[id(head.weight)][0], expected["weight"], rtol=1e-5, atol=1e-9)
    th.testing.assert_close(calls[id(head.bias)][0], expected["bias"], rtol=1e-5, atol=1e-9)
    # c = 2 vf_coef / B per sample where the clamp passes the value: H_b counts them
    bias_curvature = calls[id(head.bias)][0].item()
    passing = bias_curvature / (factor * 2 * model.vf_coef / N_STEPS)
    assert math.isclose(passing, round(passing), abs_tol=1e-3)
    assert (round(passing) < N_STEPS) == (clip_range_vf is not None)


def test_one_step_is_sb3_ppo_step_plus_head_decay() -> None:
    """One FadePPO minibatch step is SB3's PPO step on the same rollout, but the head's decay."""
    fade = _model(clip_range_vf=0.2)
    vanilla = PPO(
        "MlpPolicy", "CartPole-v1", n_steps=N_STEPS, batch_size=N_STEPS, n_epochs=1,
        clip_range_vf=0.2, policy_kwargs=dict(net_arch=[32, 16]), seed=3,
    )  # fmt: skip
    vanilla.policy.load_state_dict(fade.policy.state_dict())
    vanilla.rollout_buffer = copy.deepcopy(fade.rollout_buffer)
    vanilla._current_progress_remaining = fade._current_progress_remaining
    vanilla._n_updates = fade._n_updates
    fade.policy.optimizer.state.clear()  # both start from fresh Adam state
    before = {n: p.detach().clone() for n, p in fade.policy.named_parameters()}
    for model in (fade, vanilla):
        model.set_logger(configure(None, []))
        np.random.seed(0)
        model.train()

    init_decay = fade.fade_optimizer.param_groups[-1]["init_decay"]
    vanilla_params = dict(vanilla.policy.named_parameters())
    for name, p in fade.policy.named_parameters():
        if name.startswith("value_net."):  # first step: the trace is 0, lambda is init_decay
            expected = vanilla_params[name] - init_decay * before[name]
            th.testing.assert_close(p, expected, rtol=1e-5, atol=1e-7)
            assert not th.equal(p, vanilla_params[name])
        else:
            th.testing.assert_close(p, vanilla_params[name], rtol=1e-5, atol=1e-7)
    logged, expected_logs = fade.logger.name_to_value, vanilla.logger.name_to_value
    assert set(logged) == set(expected_logs)
    for key, value in expected_logs.items():
        assert logged[key] == pytest.approx(value, rel=1e-4, abs=1e-7), key


def test_the_value_head_leaves_sb3_s_one_optimizer_for_fade() -> None:
    model = FadePPO(
        "MlpPolicy", "Pendulum-v1", n_steps=32, batch_size=16,
        policy_kwargs=dict(net_arch=[16], optimizer_kwargs=dict(betas=(0.8, 0.9))),
    )  # fmt: skip
    optimizer = model.policy.optimizer
    assert isinstance(optimizer, FADE) and type(optimizer.body) is th.optim.Adam
    body, fade_group = optimizer.param_groups
    head = model.policy.value_net
    assert [id(p) for p in fade_group["params"]] == [id(head.weight), id(head.bias)]
    others = [p for p in model.policy.parameters() if p is not head.weight and p is not head.bias]
    assert [id(p) for p in body["params"]] == [id(p) for p in others]  # log_std and actor too
    assert fade_group["base"] == "adam" and fade_group["eps"] == body["eps"]
    assert tuple(fade_group["betas"]) == (0.8, 0.9)
    default = FadePPO("MlpPolicy", "CartPole-v1", n_steps=32, batch_size=16)
    assert [g["eps"] for g in default.policy.optimizer.param_groups] == [1e-5, 1e-5]  # SB3's
    model.learn(64)
    steps = 2 * 10 * 2  # rollouts, epochs, minibatches
    assert model.fade_optimizer.state[head.weight]["step"] == steps


class _AtRolloutEnd(BaseCallback):
    """Runs ``check(model)`` at each rollout's end (returns computed, not yet flattened)."""

    def __init__(self, check: Any) -> None:
        super().__init__()
        self.check, self.calls = check, 0

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        self.check(self.model)
        self.calls += 1


def test_sample_batch_draws_ppo_s_minibatch_and_leaves_the_buffer() -> None:
    family = FAMILIES["ppo"]

    def check(model: Any) -> None:
        buffer = model.rollout_buffer
        assert not buffer.generator_ready
        observations = buffer.observations.copy()
        np.random.seed(1)
        batch = family.sample_batch(model, 8)
        assert not buffer.generator_ready and np.array_equal(buffer.observations, observations)
        np.random.seed(1)
        minibatch = next(buffer.get(8))  # what train() draws first
        assert isinstance(batch, RolloutBatch) and len(batch.returns) == 8
        for field in minibatch._fields:
            assert th.equal(getattr(batch, field), getattr(minibatch, field)), field
        assert (batch.vf_coef, batch.clip_range_vf) == (model.vf_coef, 0.25)
        targets = family.value_targets(model, batch)
        th.testing.assert_close(targets, minibatch.returns.reshape(-1, 1))

    callback = _AtRolloutEnd(check)
    env = make_vec_env("CartPole-v1", n_envs=2, seed=0)  # the buffer's steps x envs, flattened
    model = PPO("MlpPolicy", env, n_steps=32, batch_size=8, clip_range_vf=0.25, seed=0)
    model.learn(128, callback=callback)
    assert callback.calls == 2
    model.rollout_buffer.reset()
    with pytest.raises(ValueError, match="holds no finished rollout"):
        family.sample_batch(model, 8)


def test_attach_fade_keeps_the_original_ppo_working_and_saving(tmp_path: Path) -> None:
    model = trained(PPO, "CartPole-v1", 128, net_arch=[16], n_steps=64, batch_size=32, seed=0)
    weights = {n: p.detach().clone() for n, p in model.policy.state_dict().items()}
    adam = model.policy.optimizer

    fade = attach_fade(model, init_decay=1e-3)

    assert type(fade) is FadePPO and fade.num_timesteps == 128
    assert fade.n_steps == 64 and fade.batch_size == 32
    head = fade.fade_heads["value_net"]
    old_head = model.policy.value_net
    state = fade.fade_optimizer.state[head.weight]
    assert th.equal(state["exp_avg"], adam.state[old_head.weight]["exp_avg"])  # moments moved
    assert fade.rollout_buffer is not model.rollout_buffer  # each collects its own rollouts
    fade.learn(64, reset_num_timesteps=False)
    assert type(model.policy.optimizer) is th.optim.Adam and model.policy.optimizer is adam
    for name, p in model.policy.state_dict().items():
        assert th.equal(p, weights[name]), name
    model.learn(64, reset_num_timesteps=False)
    model.save(tmp_path / "ppo.zip")
    assert type(PPO.load(tmp_path / "ppo.zip").policy.optimizer) is th.optim.Adam
    again = attach_fade(tmp_path / "ppo.zip")
    assert type(again) is FadePPO and again.num_timesteps == 192
    with pytest.raises(FadeCheckpointError, match="attach_fade"):
        FadePPO.load(tmp_path / "ppo.zip")
    fade.save(tmp_path / "fade.zip")
    with pytest.raises(FadeCheckpointError, match=r"FadePPO\.load\(path"):
        PPO.load(tmp_path / "fade.zip")


def test_an_a2c_zip_is_not_taken_for_a_ppo(tmp_path: Path) -> None:
    """A2C's policy is PPO's ActorCriticPolicy: the zip's hyperparameters tell them apart."""
    A2C("MlpPolicy", "CartPole-v1", policy_kwargs=dict(net_arch=[8])).save(tmp_path / "a2c.zip")
    with pytest.raises(TypeError, match=r"without PPO's batch_size, clip_range, .* not saved by"):
        attach_fade(tmp_path / "a2c.zip")


@pytest.mark.parametrize("share_features_extractor", [True, False])
@pytest.mark.parametrize("options", [{"layer_norm": True}, {"crelu": True}])
def test_critic_options_reach_the_value_network(
    options: dict[str, bool], share_features_extractor: bool, tmp_path: Path
) -> None:
    kwargs = dict(net_arch=[8, 8], share_features_extractor=share_features_extractor, **options)
    model = FadePPO(CriticArchPPOPolicy, "CartPole-v1", n_steps=32, batch_size=16, n_epochs=1,
                    policy_kwargs=kwargs)  # fmt: skip
    value_mlp = model.policy.mlp_extractor.value_net
    kinds = [type(m).__name__ for m in value_mlp]
    assert ("LayerNorm" in kinds) == options.get("layer_norm", False)
    assert ("CReLU" in kinds) == options.get("crelu", False)
    assert "LayerNorm" not in [type(m).__name__ for m in model.policy.mlp_extractor.policy_net]
    head = model.fade_heads["value_net"]
    assert head.in_features == 8 * (2 if options.get("crelu") else 1)
    (network,) = FAMILIES["ppo"].critic_networks(model)
    assert [layer.name for layer in network.layers] == ["hidden0", "hidden1", "head"]
    model.learn(64)
    assert model.fade_optimizer.state[head.weight]["step"] == 4
    model.save(tmp_path / "m.zip")
    loaded = FadePPO.load(tmp_path / "m.zip")
    assert [type(m) for m in loaded.policy.mlp_extractor.value_net] == [type(m) for m in value_mlp]
    assert th.equal(loaded.fade_heads["value_net"].weight, head.weight)


def test_target_kl_stops_early_and_the_logs_are_sb3_s(tmp_path: Path) -> None:
    model = FadePPO("MlpPolicy", "CartPole-v1", n_steps=64, batch_size=8, n_epochs=10,
                    learning_rate=3e-3, target_kl=1e-4, policy_kwargs=dict(net_arch=[16]),
                    tensorboard_log=str(tmp_path), seed=0)  # fmt: skip
    model.learn(128)
    assert model._n_updates < 2 * 10  # stopped before the tenth epoch
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    (run,) = list(tmp_path.iterdir())
    events = EventAccumulator(str(run), size_guidance={"histograms": 0}).Reload()
    scalars = set(events.Tags()["scalars"])
    assert {f"fade/value_net/lambda_{s}" for s in ("mean", "min", "q50", "max")} <= scalars
    assert {"train/value_loss", "train/approx_kl", "train/clip_fraction", "train/loss"} <= scalars
    assert "fade/value_net/lambda" in events.Tags()["histograms"]


class _OwnEvaluate(ActorCriticPolicy):
    """A policy with its own ``evaluate_actions`` (here SB3's, called through super())."""

    def evaluate_actions(self, obs: Any, actions: th.Tensor) -> Any:
        return super().evaluate_actions(obs, actions)


def test_a_policy_with_its_own_evaluate_actions_trains_the_same() -> None:
    """FadePPO then keeps the policy's evaluate_actions and takes the value from a critic pass."""
    models = [_model(policy=policy, clip_range_vf=0.2) for policy in ("MlpPolicy", _OwnEvaluate)]
    models[1].policy.load_state_dict(models[0].policy.state_dict())
    models[1].rollout_buffer = copy.deepcopy(models[0].rollout_buffer)
    models[1]._n_updates = models[0]._n_updates
    for model in models:
        model.fade_optimizer.state.clear()
        model.batch_size, model.n_epochs = 16, 2  # several steps: FADE's traces at work
        np.random.seed(0)
        model.train()
    for (name, p), q in zip(
        models[0].policy.named_parameters(), models[1].policy.parameters(), strict=True
    ):
        th.testing.assert_close(p, q, rtol=1e-5, atol=1e-6, msg=name)


def test_a_value_clip_schedule_that_reaches_zero_trains_to_the_end() -> None:
    """SB3 calls the last train() at progress 0, where ``0.2 * p`` is 0 (it used to raise)."""
    model = FadePPO(
        "MlpPolicy", "CartPole-v1", n_steps=32, batch_size=16, n_epochs=1,
        clip_range_vf=lambda progress: 0.2 * progress, policy_kwargs=dict(net_arch=[8]), seed=0,
    )  # fmt: skip
    model.learn(64)
    assert model.num_timesteps == 64 and model._n_updates == 2
