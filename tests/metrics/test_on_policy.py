"""PlasticityCallback on PPO and FadePPO: measured on samples of the last collected rollout,
with the same metrics and tags as on the off-policy agents, and training left untouched."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch as th
from stable_baselines3 import A2C, PPO
from torch.nn import functional as F

from fade_rl import FadePPO, PlasticityCallback
from fade_rl.algos import RolloutBatch
from fade_rl.metrics import functional as M
from fade_rl.metrics.batches import RolloutSource, batch_source
from tests.metrics.helpers import (
    FLIP_PERIOD,
    histograms,
    logged_run,
    reward_flip_env,
    scalars,
    small_callback,
)

N_STEPS = 128

SMALL_PPO: dict[str, Any] = dict(
    n_steps=N_STEPS,
    batch_size=32,
    n_epochs=2,
    clip_range_vf=0.5,
    policy_kwargs=dict(net_arch=[32, 32]),
    seed=0,
)


def _callback(**kwargs: Any) -> PlasticityCallback:
    return small_callback(**{"memory_batch_size": 96, **kwargs})


@pytest.fixture(scope="module")
def ppo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, PlasticityCallback, Any]:
    log_dir = tmp_path_factory.mktemp("tb")
    model = FadePPO("MlpPolicy", reward_flip_env(), tensorboard_log=str(log_dir), **SMALL_PPO)
    return log_dir, logged_run(model, log_dir, "ppo", memory_batch_size=96), model


def test_the_event_file_has_the_off_policy_agents_tags_for_the_value_net(
    ppo_run: tuple[Path, PlasticityCallback, Any],
) -> None:
    log_dir, callback, _ = ppo_run
    df = scalars(log_dir)
    tags = set(df.tag)
    p = "plasticity/value_net"
    for layer in ("hidden0", "hidden1"):
        for metric in ("dormant_ratio_tau0", "active_units", "srank", "effective_rank",
                       "feature_norm", "weight_norm", "dist_from_init", "grad_norm"):  # fmt: skip
            assert f"{p}/{layer}/{metric}" in tags
    for metric in ("q_mean", "q_std", "td_abs_mean", "weight_norm", "grad_norm"):
        assert f"{p}/head/{metric}" in tags
    for metric in ("fit_loss", "fresh_fit_loss", "fit_ratio", "memory/probe_r2"):
        assert f"{p}/{metric if '/' in metric else 'probe/' + metric}" in tags
    assert {"plasticity/critic_loss", "fade/value_net/lambda_q50", "shift/segment"} <= tags
    assert "shift/episode_return" in tags and "shift/return_before" in tags

    srank = df[df.tag == f"{p}/hidden0/srank"]
    # every 200 steps once the first rollout (128 steps) has ended: the first at step 200
    assert list(srank.step) == list(range(200, 3 * FLIP_PERIOD + 50, 200))
    assert ((srank.value >= 1) & (srank.value <= 32)).all()
    assert list(df[df.tag == f"{p}/probe/fit_ratio"].step) == [600, 1200]
    acts = histograms(log_dir)
    assert list(acts[acts.tag == f"{p}/hidden1/activations"].step) == [400, 800, 1200]
    assert callback.latest[f"{p}/hidden0/srank"] == pytest.approx(srank.value.iloc[-1])


def test_the_source_keeps_the_last_rollout(ppo_run: tuple[Path, PlasticityCallback, Any]) -> None:
    _, callback, model = ppo_run
    source = callback._batches
    assert isinstance(source, RolloutSource) and source.size() == N_STEPS
    kept = source._rollout
    assert isinstance(kept, RolloutBatch) and kept.clip_range_vf == 0.5
    # the rollout train() last used: the same transitions (in another order)
    buffer = model.rollout_buffer
    assert buffer.generator_ready  # flattened by train()
    for got, expected in ((kept.returns, buffer.returns), (kept.old_values, buffer.values)):
        th.testing.assert_close(
            th.sort(got).values, th.sort(th.as_tensor(expected).flatten()).values
        )
    batch = source.sample(40)
    assert batch.observations.shape == (40, 4) and len(set(batch.returns.tolist())) > 1


def test_values_on_a_fixed_batch_match_a_hand_written_pass(
    ppo_run: tuple[Path, PlasticityCallback, Any],
) -> None:
    _, callback, model = ppo_run
    np.random.seed(123)
    batch = callback._batches.sample(48)
    callback._sample = lambda _n: batch  # type: ignore[method-assign]
    values, _ = callback.measure()
    policy = model.policy
    mlp = policy.mlp_extractor.value_net  # Linear, Tanh, Linear, Tanh
    h0 = mlp[1](mlp[0](batch.observations))
    h1 = mlp[3](mlp[2](h0))
    v = policy.value_net(h1)
    old = batch.old_values.reshape(-1, 1)
    pred = old + th.clamp(v - old, -0.5, 0.5)
    returns = batch.returns.reshape(-1, 1)
    loss = model.vf_coef * F.mse_loss(returns, pred)
    p = "plasticity/value_net"
    assert values[f"{p}/hidden1/srank"] == float(M.srank(h1, 0.01))
    assert values[f"{p}/hidden0/feature_norm"] == pytest.approx(float(M.feature_norm(h0)), rel=1e-5)
    assert values[f"{p}/head/q_mean"] == pytest.approx(v.mean().item(), rel=1e-5)
    assert values[f"{p}/head/td_abs_mean"] == pytest.approx(
        (returns - pred).abs().mean().item(), rel=1e-5
    )
    assert values["plasticity/critic_loss"] == pytest.approx(loss.item(), rel=1e-5)
    grads = th.autograd.grad(loss, [policy.value_net.weight, policy.value_net.bias])
    assert values[f"{p}/head/grad_norm"] == pytest.approx(float(M.gradient_norm(grads)), rel=1e-4)
    # the measurement writes no gradient into the model and keeps the policy's mode
    policy.optimizer.zero_grad(set_to_none=True)
    policy.set_training_mode(True)
    callback.measure()
    assert all(q.grad is None for q in policy.parameters()) and policy.training


@pytest.mark.parametrize("algorithm", [PPO, FadePPO])
def test_training_is_identical_with_and_without_the_callback(algorithm: type) -> None:
    plain = algorithm("MlpPolicy", reward_flip_env(), **SMALL_PPO)
    plain.learn(700)
    measured = algorithm("MlpPolicy", reward_flip_env(), **SMALL_PPO)
    callback = _callback(interval=100, probe_interval=300, histogram_interval=200)
    measured.learn(700, callback=callback)
    assert len(callback.history) > 5 and callback._memory_ref is not None
    for a, b in zip(plain.policy.parameters(), measured.policy.parameters(), strict=True):
        assert th.equal(a, b)


def test_nothing_is_measured_before_the_first_rollout_ends() -> None:
    model = PPO("MlpPolicy", "CartPole-v1", **{**SMALL_PPO, "n_steps": 256})
    callback = _callback(interval=50, probe_interval=None, histogram_interval=None)
    model.learn(400, callback=callback)
    measured = [step for step, values in callback.history if "plasticity/critic_loss" in values]
    assert measured and min(measured) > 256  # the first rollout ends at step 256
    assert not any(k.startswith("fade/") for k in callback.latest)  # vanilla PPO


def test_sources_by_buffer_kind_and_errors() -> None:
    model = PPO("MlpPolicy", "CartPole-v1", n_steps=32, batch_size=16)
    source = batch_source(model)
    assert isinstance(source, RolloutSource) and source.size() == 0
    with pytest.raises(ValueError, match="no rollout kept yet"):
        source.sample(8)
    model.learn(32)
    source.rollout_end()  # (the callback calls it at the rollout's end)
    assert th.unique(source.sample(32).observations, dim=0).shape[0] == 32  # without replacement
    assert source.sample(100).returns.shape == (100,)  # more than the rollout: with
    with pytest.raises(TypeError, match="DQN, SAC, TD3 and PPO"):
        batch_source(A2C("MlpPolicy", "CartPole-v1", n_steps=32))
