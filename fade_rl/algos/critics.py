"""A model's critics, asked of its family: Q networks, linear heads, blocks.

A Q network of SB3's DQN (``policy.q_net.q_net``, named ``"q_net"``) or of SAC's and TD3's
twin critics (``critic.q_networks[i]``, named ``"qf<i>"``) ends in its linear head.

Example:
    >>> import torch
    >>> from stable_baselines3 import DQN, SAC
    >>> model = DQN("MlpPolicy", "CartPole-v1", policy_kwargs=dict(net_arch=[8]))
    >>> critic_heads(model)
    {'q_net': Linear(in_features=8, out_features=2, bias=True)}
    >>> from fade_rl.nets import run_critics
    >>> sac = SAC("MlpPolicy", "Pendulum-v1", policy_kwargs=dict(net_arch=[8, 8]))
    >>> networks = critic_networks(sac)
    >>> [net.name for net in networks], [layer.name for layer in networks[0].layers]
    (['qf0', 'qf1'], ['hidden0', 'hidden1', 'head'])
    >>> passes = run_critics(networks, torch.zeros(5, 3), torch.zeros(5, 1))
    >>> passes["qf1"].activations["hidden1"].shape, passes["qf1"].q_values.shape
    (torch.Size([5, 8]), torch.Size([5, 1]))
"""

from __future__ import annotations

from typing import Any

from torch import nn

from fade_rl.algos.registry import family_of
from fade_rl.nets.critics import CriticNetwork
from fade_rl.nets.heads import split_head

__all__ = ["critic_heads", "critic_networks", "critic_q_nets"]


def critic_q_nets(model: Any) -> dict[str, nn.Module]:
    """The Q networks by name: ``{"q_net": ...}`` (DQN) or ``{"qf0": ..., "qf1": ...}``.

    Only the MLP after the features extractor; the online networks, not the targets.
    """
    return family_of(model, "critic_q_nets").critic_q_nets(model)


def critic_heads(model: Any) -> dict[str, nn.Linear]:
    """The final ``nn.Linear`` of each Q network, by name (see :func:`critic_q_nets`)."""
    return {name: split_head(net, name)[1] for name, net in critic_q_nets(model).items()}


def critic_networks(model: Any) -> list[CriticNetwork]:
    """The critic networks of a model as blocks (:class:`~fade_rl.nets.CriticNetwork`).

    Raises:
        TypeError: for a model of no registered family, or a Q network that is not an
            ``nn.Sequential``.
    """
    return family_of(model, "critic_networks").critic_networks(model)
