"""PlasticityCallback on real SB3 runs: tags and values in the event files, exact values on a
fixed batch, training left untouched, SAC's extra critic pass, FADE's lambdas, errors."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch as th
from stable_baselines3 import A2C, DQN, SAC, TD3
from torch.nn import functional as F

from fade_rl import FadeDQN, FadeSAC, PlasticityCallback
from fade_rl.algos import decay_rate_tags, readout
from fade_rl.metrics import functional as M
from tests.metrics.helpers import (
    FLIP_PERIOD,
    histograms,
    logged_run,
    pendulum_env,
    reward_flip_env,
    scalars,
    small_callback,
)

SMALL_DQN: dict[str, Any] = dict(
    learning_starts=100,
    buffer_size=5_000,
    batch_size=32,
    train_freq=4,
    target_update_interval=200,
    exploration_fraction=0.5,
    policy_kwargs=dict(net_arch=[32, 32]),
    seed=0,
)


def _callback(**kwargs: Any) -> PlasticityCallback:
    return small_callback(**{"return_window": 3, "recovery_window": 2, **kwargs})


@pytest.fixture(scope="module")
def dqn_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, PlasticityCallback, DQN]:
    log_dir = tmp_path_factory.mktemp("tb")
    model = DQN("MlpPolicy", reward_flip_env(), tensorboard_log=str(log_dir), **SMALL_DQN)
    callback = logged_run(model, log_dir, "dqn", return_window=3, recovery_window=2)
    return log_dir, callback, model


def test_dqn_event_file_has_the_plasticity_tags(
    dqn_run: tuple[Path, PlasticityCallback, DQN],
) -> None:
    log_dir, callback, _ = dqn_run
    df = scalars(log_dir)
    tags = set(df.tag)
    for layer in ("hidden0", "hidden1"):
        for metric in (
            "dormant_ratio_tau0",
            "dormant_ratio_tau0.025",
            "active_units",
            "srank",
            "effective_rank",
            "feature_norm",
            "weight_norm",
            "dist_from_init",
            "grad_norm",
        ):
            assert f"plasticity/q_net/{layer}/{metric}" in tags
    for metric in ("q_mean", "q_std", "td_abs_mean", "weight_norm", "grad_norm"):
        assert f"plasticity/q_net/head/{metric}" in tags
    for metric in ("fit_loss", "fresh_fit_loss", "fit_ratio"):
        assert f"plasticity/q_net/probe/{metric}" in tags
    assert "plasticity/q_net/memory/probe_r2" in tags
    assert "plasticity/q_net/memory/output_r2" in tags
    assert not any(t.startswith("fade/") for t in tags)  # vanilla Adam: no FADE stats

    srank = df[df.tag == "plasticity/q_net/hidden0/srank"]
    # measured every 200 steps once the buffer holds a batch (64 samples)
    assert list(srank.step) == list(range(200, 3 * FLIP_PERIOD + 50, 200))
    assert ((srank.value >= 1) & (srank.value <= 32)).all()
    active = df[df.tag == "plasticity/q_net/hidden1/active_units"].value
    assert ((active > 0) & (active <= 1)).all()
    dist = df[df.tag == "plasticity/q_net/net/dist_from_init"].value.to_numpy()
    assert dist[0] >= 0 and dist[-1] > dist[0]  # training moves the weights away from init
    probe = df[df.tag == "plasticity/q_net/probe/fit_ratio"]
    assert list(probe.step) == [600, 1200]
    # what the file says is what the callback kept
    last = srank.iloc[-1]
    assert callback.latest["plasticity/q_net/hidden0/srank"] == pytest.approx(last.value)


def test_dqn_histograms(dqn_run: tuple[Path, PlasticityCallback, DQN]) -> None:
    log_dir, _, _ = dqn_run
    df = histograms(log_dir)
    acts = df[df.tag == "plasticity/q_net/hidden0/activations"]
    assert list(acts.step) == [400, 800, 1200]


def test_shift_tags_follow_the_reward_flips(dqn_run: tuple[Path, PlasticityCallback, DQN]) -> None:
    log_dir, callback, _ = dqn_run
    assert [s.step for s in callback.shifts[0]] == [FLIP_PERIOD, 2 * FLIP_PERIOD, 3 * FLIP_PERIOD]
    assert [s.segment for s in callback.shifts[0]] == [1, 2, 3]
    df = scalars(log_dir)
    returns = df[df.tag == "shift/episode_return"]
    # every episode of env 0, at the step it ended; positive before the first flip
    assert len(returns) == len(callback.episodes[0])
    first = returns[returns.step <= FLIP_PERIOD]
    assert len(first) > 0 and (first.value > 0).all()
    closed = df[df.tag == "shift/segment_closed"]
    # segments 0, 1, 2 close at the flips, segment 3 at the end of training
    assert list(closed.value) == [0, 1, 2, 3]
    assert list(closed.step)[:3] == [FLIP_PERIOD + 1, 2 * FLIP_PERIOD + 1, 3 * FLIP_PERIOD + 1]
    before = df[df.tag == "shift/return_before"].value.to_numpy()
    stats = callback.shift_statistics(0, final=True)
    assert before == pytest.approx([s.return_before for s in stats[1:]])
    # a flip makes every reward negative: returns just after the first flip are below zero
    assert df[df.tag == "shift/return_after"].value.iloc[0] < 0
    segment = df[df.tag == "shift/segment"]
    assert segment[segment.step < FLIP_PERIOD].value.eq(0).all()
    assert segment[segment.step > 3 * FLIP_PERIOD].value.eq(3).all()


def test_memory_reference_is_recorded_before_the_shift_trains(
    dqn_run: tuple[Path, PlasticityCallback, DQN],
) -> None:
    _, callback, model = dqn_run
    ref = callback._memory_ref
    assert ref is not None and ref["targets"]["q_net"].shape == (128, 2)
    # right after recording, the network's outputs are the targets: probe and output R^2 = 1
    fresh = copy.copy(callback)
    fresh._memory_ref = dict(ref, targets={"q_net": model.q_net(ref["obs"]).detach()})
    scores = readout.read_scalars(fresh._memory_scores())
    assert scores["plasticity/q_net/memory/output_r2"] == pytest.approx(1.0)
    assert scores["plasticity/q_net/memory/probe_r2"] > 0.95


def _fixed_batch(callback: PlasticityCallback, model: Any, n: int = 48) -> Any:
    np.random.seed(123)
    batch = model.replay_buffer.sample(n)
    callback._sample = lambda _n: batch  # type: ignore[method-assign]
    return batch


def test_dqn_values_on_a_fixed_batch_match_a_hand_written_pass(
    dqn_run: tuple[Path, PlasticityCallback, DQN],
) -> None:
    _, callback, model = dqn_run
    batch = _fixed_batch(callback, model)
    scalars_, _ = callback.measure()
    net = model.q_net.q_net  # Linear, ReLU, Linear, ReLU, Linear
    obs = batch.observations.float()
    h0 = th.relu(net[0](obs))
    h1 = th.relu(net[2](h0))
    q = net[4](h1)
    with th.no_grad():
        next_q = model.q_net_target(batch.next_observations).max(dim=1).values.reshape(-1, 1)
        target = batch.rewards + (1 - batch.dones) * model.gamma * next_q
    taken = q.gather(1, batch.actions.long())
    loss = F.smooth_l1_loss(taken, target)
    twin = copy.deepcopy(net)
    loss_twin = F.smooth_l1_loss(twin(obs).gather(1, batch.actions.long()), target)
    loss_twin.backward()
    p = "plasticity/q_net"
    assert scalars_[f"{p}/hidden0/dormant_ratio_tau0"] == pytest.approx(
        float(M.dormant_ratio(h0, 0.0))
    )
    assert scalars_[f"{p}/hidden1/active_units"] == pytest.approx(float(M.active_units(h1)))
    assert scalars_[f"{p}/hidden1/srank"] == float(M.srank(h1, 0.01))
    assert scalars_[f"{p}/hidden0/effective_rank"] == pytest.approx(float(M.effective_rank(h0)))
    assert scalars_[f"{p}/hidden1/feature_norm"] == pytest.approx(
        float(M.feature_norm(h1)), rel=1e-5
    )
    assert scalars_[f"{p}/head/q_mean"] == pytest.approx(q.mean().item(), rel=1e-5)
    assert scalars_[f"{p}/head/td_abs_mean"] == pytest.approx(
        (target - taken).abs().mean().item(), rel=1e-5
    )
    assert scalars_["plasticity/critic_loss"] == pytest.approx(loss.item(), rel=1e-5)
    assert scalars_[f"{p}/head/grad_norm"] == pytest.approx(
        float(M.gradient_norm([twin[4].weight.grad, twin[4].bias.grad])), rel=1e-4
    )
    assert scalars_[f"{p}/hidden0/grad_norm"] == pytest.approx(
        float(M.gradient_norm([twin[0].weight.grad, twin[0].bias.grad])), rel=1e-4
    )
    assert scalars_[f"{p}/hidden0/weight_norm"] == pytest.approx(
        float(M.weight_norm([net[0].weight, net[0].bias])), rel=1e-6
    )
    # the measurement writes no gradient into the model and keeps the policy's mode
    model.policy.optimizer.zero_grad(set_to_none=True)
    model.policy.set_training_mode(True)
    callback.measure()
    assert all(p.grad is None for p in model.policy.parameters())
    assert model.policy.training


def test_training_is_identical_with_and_without_the_callback() -> None:
    kwargs = dict(SMALL_DQN, learning_starts=50)
    plain = DQN("MlpPolicy", reward_flip_env(), **kwargs)
    plain.learn(700)
    measured = DQN("MlpPolicy", reward_flip_env(), **kwargs)
    callback = _callback(interval=100, probe_interval=300, histogram_interval=200)
    measured.learn(700, callback=callback)
    assert len(callback.history) > 5 and callback._memory_ref is not None
    for a, b in zip(plain.policy.parameters(), measured.policy.parameters(), strict=True):
        assert th.equal(a, b)
    assert all(
        p.grad is None or th.equal(p.grad, q.grad)
        for p, q in zip(plain.policy.parameters(), measured.policy.parameters(), strict=True)
    )


def test_sac_activations_come_from_the_critic_pass_on_replay_actions() -> None:
    model = SAC(
        "MlpPolicy",
        pendulum_env(),
        learning_starts=100,
        batch_size=32,
        buffer_size=2_000,
        policy_kwargs=dict(net_arch=[16, 16]),
        seed=0,
    )
    callback = _callback(interval=100, batch_size=32, probe_interval=200, histogram_interval=None)
    model.learn(400, callback=callback)
    assert callback.shifts[0] and callback.shifts[0][0].step == 300
    batch = _fixed_batch(callback, model)
    values, _ = callback.measure()
    for i, qnet in enumerate(model.critic.q_networks):
        x = th.cat([batch.observations, batch.actions], dim=1)
        h1 = qnet[3](qnet[2](qnet[1](qnet[0](x))))
        got = values[f"plasticity/qf{i}/hidden1/feature_norm"]
        assert got == pytest.approx(float(M.feature_norm(h1)), rel=1e-5)
        assert values[f"plasticity/qf{i}/hidden1/srank"] == float(M.srank(h1))
    for tag in ("plasticity/qf1/probe/fit_ratio", "plasticity/qf0/memory/probe_r2"):
        assert tag in callback.latest


def test_td3_runs_and_logs_both_critics(tmp_path: Path) -> None:
    model = TD3(
        "MlpPolicy",
        pendulum_env(),
        learning_starts=100,
        batch_size=32,
        policy_kwargs=dict(net_arch=[16, 16]),
        tensorboard_log=str(tmp_path),
        seed=0,
    )
    model.learn(300, callback=_callback(interval=100, probe_interval=None))
    tags = set(scalars(tmp_path).tag)
    assert {"plasticity/qf0/hidden1/dormant_ratio_tau0", "plasticity/qf1/head/td_std"} <= tags


def test_fade_lambdas_are_logged_for_a_fade_critic(tmp_path: Path) -> None:
    model = FadeDQN(
        "MlpPolicy",
        reward_flip_env(),
        tensorboard_log=str(tmp_path),
        fade_kwargs=dict(meta_lr=1.0, init_decay=1e-3),
        **SMALL_DQN,
    )
    callback = _callback(interval=100, histogram_interval=200, probe_interval=None)
    model.learn(500, callback=callback)
    rates = model.fade_decay_rates()["q_net"].double()
    values, hists = decay_rate_tags(model, histograms=True)
    assert values["fade/q_net/lambda_mean"] == pytest.approx(rates.mean().item())
    assert values["fade/q_net/lambda_q50"] == pytest.approx(rates.quantile(0.5).item())
    assert values["fade/q_net/lambda_max"] == pytest.approx(rates.max().item())
    assert hists["fade/q_net/lambda"].numel() == 32 * 2 + 2
    df = scalars(tmp_path)
    lam = df[df.tag == "fade/q_net/lambda_mean"]
    assert set(range(200, 501, 100)) <= set(lam.step)
    assert "fade/q_net/lambda" in set(histograms(tmp_path).tag)


def test_fade_sac_logs_one_lambda_summary_per_twin() -> None:
    model = FadeSAC(
        "MlpPolicy",
        pendulum_env(),
        learning_starts=50,
        batch_size=16,
        policy_kwargs=dict(net_arch=[8, 8]),
        fade_kwargs=dict(meta_lr=1.0),
        seed=0,
    )
    callback = _callback(interval=100, batch_size=16, probe_interval=None, histogram_interval=None)
    model.learn(200, callback=callback)
    assert {"fade/qf0/lambda_mean", "fade/qf1/lambda_q90"} <= set(callback.latest)


def test_clear_errors() -> None:
    with pytest.raises(ValueError, match="interval must be a positive"):
        PlasticityCallback(interval=-5)
    with pytest.raises(ValueError, match=r"probe_interval .* or None"):
        PlasticityCallback(probe_interval=0)
    with pytest.raises(ValueError, match="tau"):
        PlasticityCallback(taus=(0.0, -0.1))
    with pytest.raises(ValueError, match="shift_reference"):
        PlasticityCallback(shift_reference="best")
    with pytest.raises(TypeError, match="DQN, SAC, TD3 and PPO"):
        A2C("MlpPolicy", "CartPole-v1", n_steps=64).learn(64, callback=PlasticityCallback())
    model = DQN("MlpPolicy", "CartPole-v1", learning_starts=10)
    model.replay_buffer = None
    with pytest.raises(ValueError, match="no replay buffer"):
        model.learn(20, callback=PlasticityCallback())


def test_learn_in_chunks_logs_each_closed_segment_once_more_than_the_running_one() -> None:
    model = DQN("MlpPolicy", reward_flip_env(period=300), **SMALL_DQN)
    callback = _callback(interval=200, probe_interval=None, histogram_interval=None, memory=False)
    model.learn(400, callback=callback)  # segment 1 running at the end: logged as it stands
    model.learn(400, callback=callback, reset_num_timesteps=False)
    closed = [v["shift/segment_closed"] for _, v in callback.history if "shift/segment_closed" in v]
    # chunk 1: 0 at the flip (301), 1 at the end; chunk 2: 1 closes at 601, 2 at the end
    assert closed == [0, 1, 1, 2]
    assert [s.step for s in callback.shifts[0]] == [300, 600]


def test_a_stationary_env_gets_no_shift_tags_but_episode_returns() -> None:
    model = DQN("MlpPolicy", "CartPole-v1", **SMALL_DQN)
    callback = _callback(interval=200, probe_interval=None, histogram_interval=None)
    model.learn(400, callback=callback)
    tags = set(callback.latest)
    assert "shift/episode_return" in tags and "plasticity/q_net/hidden0/srank" in tags
    assert "shift/segment" not in tags and "shift/return_before" not in tags
    assert callback.shifts == [[]] and callback._memory_ref is None


def test_final_metrics_summarise_the_run(dqn_run: tuple[Path, PlasticityCallback, DQN]) -> None:
    _, callback, _ = dqn_run
    final = callback.final_metrics()
    episodes = callback.episodes[0]
    assert final["final/return"] == pytest.approx(np.mean([e.ret for e in episodes[-3:]]))
    latest = callback.latest
    dormant = [latest[f"plasticity/q_net/hidden{i}/dormant_ratio_tau0.025"] for i in (0, 1)]
    assert final["final/dormant_ratio_tau0.025"] == pytest.approx(np.mean(dormant))
    srank = [latest[f"plasticity/q_net/hidden{i}/srank"] for i in (0, 1)]
    assert final["final/srank"] == pytest.approx(np.mean(srank))
    assert final["final/probe_fit_ratio"] == pytest.approx(
        latest["plasticity/q_net/probe/fit_ratio"]
    )
    # three flips, each judged against the return just before it
    stats = callback.shift_statistics(0, final=True)
    recovered = [s.recovery_steps for s in stats[1:] if s.recovery_steps is not None]
    assert final["final/recovered"] == pytest.approx(len(recovered) / 3)
    # the time-averaged return lies between the extreme episode returns
    returns = [e.ret for e in episodes]
    assert min(returns) <= final["final/mean_return"] <= max(returns)


def test_state_dict_lets_a_new_callback_resume_as_if_nothing_stopped(tmp_path: Path) -> None:
    def two_chunks(resume_with_a_new_callback: bool) -> list[tuple[int, dict[str, float]]]:
        model = DQN("MlpPolicy", reward_flip_env(period=300), **SMALL_DQN)
        callback = _callback(interval=200, probe_interval=None, histogram_interval=None)
        model.learn(400, callback=callback)  # a shift at 300: the memory reference is taken
        history = list(callback.history)
        if resume_with_a_new_callback:
            th.save(callback.state_dict(), tmp_path / "plasticity.pt")
            callback = _callback(interval=200, probe_interval=None, histogram_interval=None)
            callback.load_state_dict(th.load(tmp_path / "plasticity.pt", weights_only=True))
        callback.history = []
        model.learn(400, callback=callback, reset_num_timesteps=False)
        return history + callback.history

    continuous, resumed = two_chunks(False), two_chunks(True)
    assert [step for step, _ in resumed] == [step for step, _ in continuous]
    for (_, got), (_, expected) in zip(resumed, continuous, strict=True):
        # dist_from_init, the memory probe, the segments: all carried over (the probe's
        # least-squares fit differs in the last bit between two identical runs)
        assert got == pytest.approx(expected, rel=1e-9)
    assert any("plasticity/q_net/memory/probe_r2" in values for _, values in resumed[-3:])


def test_load_state_dict_from_another_architecture_fails_clearly() -> None:
    small = DQN("MlpPolicy", "CartPole-v1", **SMALL_DQN)
    callback = _callback(interval=100, probe_interval=None, histogram_interval=None)
    small.learn(150, callback=callback)
    state = callback.state_dict()
    other = DQN("MlpPolicy", "CartPole-v1", **{**SMALL_DQN, "policy_kwargs": dict(net_arch=[8])})
    restored = _callback(interval=100, probe_interval=None, histogram_interval=None)
    restored.load_state_dict(state)
    with pytest.raises(ValueError, match="another architecture"):
        other.learn(10, callback=restored)
