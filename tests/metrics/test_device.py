"""The device contract of the metrics, checked on PyTorch's ``meta`` device (no GPU needed).

On ``meta`` a host read (``.item()``, ``float(t)``, ``.tolist()``, ``.cpu()``) raises, and so
does mixing in a CPU tensor (one made without ``device=``): the two faults a GPU run would
hit as a stall or a crash. See ``tests/device_contract.py``.

Design: everything a measurement computes stays a tensor on the model's device, and the
values leave the device in ONE place, :func:`fade_rl.nets.readout.read_scalars` (one
batched read of all scalars) and :func:`~fade_rl.nets.readout.read_histograms`. The tests
replace exactly those two functions with stand-ins that check every value reaching them is
a meta tensor and return placeholders, so everything before the read runs on meta and any
other host read or CPU tensor fails the test. They also count the reads: one per step that
measures.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import torch as th
from stable_baselines3 import DQN, PPO, SAC, TD3
from torch import nn

from fade_rl import FadeDQN, FadePPO, FadeSAC, PlasticityCallback
from fade_rl.metrics import functional as F
from fade_rl.metrics.probes import memory_probe, plasticity_probe
from tests.device_contract import META, HostReads, model_to_meta


@pytest.fixture
def reads() -> HostReads:
    """Install it once the CPU part is done: FadeDQN's log dumps read through readout too."""
    return HostReads()


@pytest.fixture(autouse=True)
def _no_distribution_validation() -> Iterator[None]:
    """torch.distributions checks its arguments with a host read (a debug check, off under
    ``python -O``); SB3's SAC actor builds a Normal in every call, in its own training as in
    the TD targets measured here. That sync is SB3's and torch's, not the metrics': switch it
    off so the test sees only ours."""
    previous = th.distributions.Distribution._validate_args
    th.distributions.Distribution.set_default_validate_args(False)
    yield
    th.distributions.Distribution.set_default_validate_args(previous)


def _on_meta(t: Any) -> None:
    assert isinstance(t, th.Tensor) and t.device == META, t


def test_metric_functions_compute_on_the_device_of_their_inputs() -> None:
    acts = th.randn(32, 8, device=META)
    params = [th.randn(8, 4, device=META), th.randn(4, device=META)]
    for value in (
        F.dormant_scores(acts),
        F.dormant_ratio(acts, 0.025),
        F.active_units(acts),
        F.srank(acts),
        F.effective_rank(acts),
        F.feature_norm(acts),
        F.weight_norm(params),
        F.distance_from_init(params, [p.clone() for p in params]),
        F.gradient_norm([*params, None]),
        # the probe behind the memory probe: crashed with a CPU torch.eye (issue 11)
        F.linear_probe_r2(acts, th.randn(32, 2, device=META)),
        *F.value_stats(acts[:, :2]).values(),
        *F.td_error_stats(acts[:, :1], acts[:, 1:2]).values(),
    ):
        _on_meta(value)


def test_probes_compute_on_the_device_of_the_network() -> None:
    net = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2)).to(META)
    result = plasticity_probe(net, (th.randn(64, 4, device=META),), steps=3, seed=0)
    for value in result.values():
        _on_meta(value)
    features, targets = th.randn(64, 16, device=META), th.randn(64, 2, device=META)
    for value in memory_probe(features, targets.clone(), targets).values():
        _on_meta(value)


def _trained(cls: type) -> Any:
    kwargs: dict[str, Any] = dict(learning_starts=0, buffer_size=500, seed=0)
    if cls in (PPO, FadePPO):  # one rollout to measure on, collected on the CPU
        model = cls("MlpPolicy", "CartPole-v1", n_steps=32, batch_size=16, seed=0,
                    policy_kwargs=dict(net_arch=[16, 16]))  # fmt: skip
        return model.learn(32)
    if cls in (DQN, FadeDQN):
        model = cls("MlpPolicy", "CartPole-v1", policy_kwargs=dict(net_arch=[16, 16]), **kwargs)
    else:
        model = cls(
            "MlpPolicy",
            "Pendulum-v1",
            policy_kwargs=dict(net_arch=[16, 16]),
            batch_size=16,
            **kwargs,
        )
    model.learn(80)  # replay transitions to measure on, collected on the CPU
    return model


def _drive(callback: PlasticityCallback, model: Any, infos: list[dict[str, Any]]) -> None:
    """One environment step as ``learn`` would report it, past the next measurement."""
    model.num_timesteps += callback.interval
    callback.update_locals({"infos": infos})
    callback.on_step()


@pytest.mark.parametrize("cls", [DQN, SAC, TD3, PPO, FadeDQN, FadeSAC, FadePPO])
def test_callback_measures_probes_and_remembers_on_meta(
    cls: type, reads: HostReads, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = model_to_meta(_trained(cls))
    reads.install(monkeypatch)
    callback = PlasticityCallback(
        interval=10,
        batch_size=16,
        histogram_interval=10,
        probe_interval=10,
        probe_steps=2,
        probe_batch_size=16,
        memory_batch_size=16,
    )
    callback.init_callback(model)
    callback.on_training_start({}, {})
    callback.on_rollout_end()  # PPO's rollout is kept (on meta); nothing for the others
    # a shift: the memory probe records its reference, then measures at once
    _drive(callback, model, [{"shift": True, "segment": 1}])
    assert reads.scalar_reads == 1  # one read for the whole measurement, probes included
    tags = set(reads.tags)
    net = {DQN: "q_net", FadeDQN: "q_net", PPO: "value_net", FadePPO: "value_net"}.get(cls, "qf0")
    for tag in (
        f"plasticity/{net}/hidden0/dormant_ratio_tau0.025",
        f"plasticity/{net}/hidden1/srank",
        f"plasticity/{net}/head/td_abs_mean",
        f"plasticity/{net}/net/grad_norm",
        f"plasticity/{net}/probe/fit_ratio",
        f"plasticity/{net}/memory/probe_r2",
        "plasticity/critic_loss",
    ):
        assert tag in tags
    if cls in (FadeDQN, FadeSAC, FadePPO):
        assert f"fade/{net}/lambda_q50" in tags
    _drive(callback, model, [{}])  # a later measurement, memory probe on the kept batch
    assert reads.scalar_reads == 2
    assert callback.latest[f"plasticity/{net}/memory/output_r2"] == 0.5


def test_state_saved_on_cpu_resumes_on_another_device(
    tmp_path: Any, reads: HostReads, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = _trained(DQN)
    callback = PlasticityCallback(
        interval=10, batch_size=16, probe_interval=None, memory_batch_size=16
    )
    callback.init_callback(model)
    callback.on_training_start({}, {})
    monkeypatch.undo()  # the CPU part reads for real
    _drive(callback, model, [{"shift": True, "segment": 1}])
    assert "plasticity/q_net/memory/probe_r2" in callback.latest
    th.save(callback.state_dict(), tmp_path / "plasticity.pt")

    reads.install(monkeypatch)
    state = th.load(tmp_path / "plasticity.pt", weights_only=True)
    resumed = PlasticityCallback(
        interval=10, batch_size=16, probe_interval=None, memory_batch_size=16
    )
    resumed.load_state_dict(state)
    model_to_meta(model)
    resumed.init_callback(model)
    resumed.on_training_start({}, {})
    memory = resumed.state_dict()["memory_ref"]
    _on_meta(memory["obs"])
    _on_meta(memory["actions"])
    for target in memory["targets"].values():
        _on_meta(target)
    for initial in resumed.state_dict()["initial"]:
        _on_meta(initial)
    _drive(resumed, model, [{}])
    assert "plasticity/q_net/memory/probe_r2" in reads.tags
