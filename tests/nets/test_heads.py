"""split_head: the final nn.Linear of a critic network and the body computing its input."""

from __future__ import annotations

import pytest
import torch as th
from torch import nn

from fade_rl.nets import split_head


def test_split_head_finds_the_final_linear_or_names_the_fix() -> None:
    body, head = split_head(nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)), "net")
    assert head.out_features == 2 and len(body) == 2
    x = th.randn(5, 3)
    net = nn.Sequential(nn.Linear(3, 4), nn.Sequential(nn.Linear(4, 1)))
    nested_body, nested_head = split_head(net, "n")
    assert nested_head is net[1][0]
    th.testing.assert_close(nested_head(nested_body(x)), net(x))
    with pytest.raises(TypeError, match=r"last layer of q_net is Tanh, not nn.Linear"):
        split_head(nn.Sequential(nn.Linear(3, 4), nn.Tanh()), "q_net")
    with pytest.raises(TypeError, match=r"neither an nn\.Linear nor a non-empty nn\.Sequential"):
        split_head(nn.Sequential(), "q_net")
    with pytest.raises(TypeError, match=r"q_net is a Tanh, neither an nn\.Linear"):
        split_head(nn.Tanh(), "q_net")


def test_a_bare_linear_is_its_own_head_with_the_identity_as_body() -> None:
    """PPO's value_net is a bare nn.Linear on the latent features."""
    value_net = nn.Linear(6, 1)
    body, head = split_head(value_net, "value_net")
    assert head is value_net and isinstance(body, nn.Identity)
    x = th.randn(4, 6)
    th.testing.assert_close(head(body(x)), value_net(x))
