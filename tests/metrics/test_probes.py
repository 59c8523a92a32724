"""Plasticity and memory probes on small networks whose answers are known."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from fade_rl.metrics.probes import memory_probe, plasticity_probe
from fade_rl.nets import fresh_copy


def _net(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(4, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 1)
    )


def test_plasticity_probe_flags_a_network_with_dead_units() -> None:
    inputs = (torch.randn(128, 4, generator=torch.Generator().manual_seed(1)),)
    healthy = _net()
    dead = _net()
    with torch.no_grad():
        dead[0].bias.fill_(-100.0)  # every first-layer ReLU is off on every input
    before = [p.clone() for p in dead.parameters()]
    ok = plasticity_probe(healthy, inputs, steps=60, lr=1e-2, seed=0)
    bad = plasticity_probe(dead, inputs, steps=60, lr=1e-2, seed=0)
    # the dead network can only fit the targets' mean: loss about 1 (standardised targets)
    assert bad["loss"] == pytest.approx(1.0, abs=0.05)
    assert bad["ratio"] > 3.0
    assert ok["loss"] < 0.5 and 0.3 < ok["ratio"] < 3.0
    # same seed, same fresh network and targets: the fresh losses agree
    assert ok["fresh_loss"] == pytest.approx(bad["fresh_loss"])
    # the probed network is left as it was
    assert all(torch.equal(a, b) for a, b in zip(before, dead.parameters(), strict=True))


def test_probe_leaves_the_global_random_stream_alone() -> None:
    torch.manual_seed(3)
    state = torch.get_rng_state()
    plasticity_probe(_net(), (torch.randn(32, 4),), steps=2)
    torch.set_rng_state(state)  # the randn above used the stream: compare from here
    a = torch.rand(3)
    torch.set_rng_state(state)
    fresh_copy(_net(), seed=5)
    torch.set_rng_state(state)
    assert torch.equal(torch.rand(3), a)


def test_probe_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="steps"):
        plasticity_probe(_net(), (torch.randn(8, 4),), steps=0)
    with pytest.raises(ValueError, match="lr"):
        plasticity_probe(_net(), (torch.randn(8, 4),), lr=0.0)


def test_memory_probe_tells_hidden_from_erased() -> None:
    g = torch.Generator().manual_seed(0)
    features = torch.randn(400, 8, generator=g)
    old = features[:, :2] @ torch.tensor([[1.0], [-2.0]]) + 0.5
    # outputs now answer something else: the old targets are hidden in the features
    hidden = memory_probe(features, torch.randn(400, 1, generator=g), old)
    assert hidden["probe_r2"] > 0.99
    assert hidden["output_r2"] < 0.0
    # features that carry nothing of the old targets
    erased = memory_probe(torch.randn(400, 8, generator=g), old.clone(), old)
    assert erased["probe_r2"] < 0.1
    assert erased["output_r2"] == pytest.approx(1.0)
