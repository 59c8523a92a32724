"""Re-initialization: fresh draws of PyTorch's defaults, reproducible by seed, streams kept."""

from __future__ import annotations

import math

import torch
from torch import nn

from fade_rl.nets import fresh_copy, reinitialize_


def _net() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Linear(32, 1))


def test_fresh_copy_is_reproducible_and_leaves_the_original() -> None:
    net = _net()
    before = net[0].weight.clone()
    a, b = fresh_copy(net, seed=7), fresh_copy(net, seed=7)
    assert torch.equal(a[0].weight, b[0].weight)
    assert not torch.equal(a[0].weight, net[0].weight)
    assert torch.equal(net[0].weight, before)
    assert not torch.equal(fresh_copy(net, seed=8)[0].weight, a[0].weight)


def test_seeded_fresh_copy_leaves_the_global_random_stream_alone() -> None:
    net = _net()
    state = torch.get_rng_state()
    expected = torch.rand(3)
    torch.set_rng_state(state)
    fresh_copy(net, seed=5)
    assert torch.equal(torch.rand(3), expected)


def test_reinitialize_in_place_draws_from_the_layer_default() -> None:
    net = _net()
    torch.manual_seed(1)
    reinitialize_(net)
    torch.manual_seed(1)
    expected = nn.Linear(4, 32)  # same draws as Linear(4, 32).reset_parameters()
    assert torch.equal(net[0].weight, expected.weight)
    bound = 1 / math.sqrt(32)
    assert net[2].weight.abs().max() <= bound
