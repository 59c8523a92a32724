"""The critic networks of an SB3 model as blocks, run with every hidden layer's output kept.

The activations are captured by walking the network ourselves in one forward pass on the
batch being measured, never by forward hooks that keep "the last forward pass" (SAC runs
its critics again inside the actor loss, which would overwrite such a cache).

* DQN (and FadeDQN): one network ``"q_net"`` (the online Q network), inputs: observations.
* SAC, TD3 (and FadeSAC, FadeTD3): one network per twin, ``"qf0"``, ``"qf1"``, ...,
  inputs: observations and actions.

A network is cut into blocks: each ``nn.Linear`` / ``nn.Conv*`` starts one, and the modules
after it (activations, normalisation) belong to it. Blocks before the last are hidden layers
``"hidden0"``, ``"hidden1"``, ...: their output (after the activation) is what the dormancy
and rank metrics read. The last block is ``"head"``; its output is the Q-values. A features
extractor with parameters (e.g. ``NatureCNN``) is one more hidden layer, ``"features"``.
ReDo recycles the units of these same hidden layers.

Example:
    >>> import torch
    >>> from stable_baselines3 import SAC
    >>> model = SAC("MlpPolicy", "Pendulum-v1", policy_kwargs=dict(net_arch=[8, 8]))
    >>> networks = critic_networks(model)
    >>> [net.name for net in networks], [layer.name for layer in networks[0].layers]
    (['qf0', 'qf1'], ['hidden0', 'hidden1', 'head'])
    >>> passes = run_critics(networks, torch.zeros(5, 3), torch.zeros(5, 1))
    >>> passes["qf1"].activations["hidden1"].shape, passes["qf1"].q_values.shape
    (torch.Size([5, 8]), torch.Size([5, 1]))
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch as th
from stable_baselines3 import DQN
from stable_baselines3.common.policies import BaseModel
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

from fade_rl.parts.checks import check_model
from fade_rl.parts.heads import critic_q_nets

__all__ = ["CriticNetwork", "CriticPass", "Layer", "critic_networks", "run_critics"]

_WEIGHT_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


@dataclass
class Layer:
    """One block of a critic network: its modules and its parameters."""

    name: str
    modules: list[nn.Module]

    def parameters(self) -> list[nn.Parameter]:
        """The block's parameters in a fixed order."""
        return [p for m in self.modules for p in m.parameters()]

    def forward(self, x: th.Tensor) -> th.Tensor:
        """Run the block's modules in order."""
        for module in self.modules:
            x = module(x)
        return x


@dataclass
class CriticNetwork:
    """One Q network of a model: its features extractor, its blocks, whether it takes actions."""

    name: str
    extractor: BaseFeaturesExtractor
    owner: BaseModel  # the module with ``extract_features`` (QNetwork or ContinuousCritic)
    layers: list[Layer]
    takes_actions: bool
    extractor_layer: Layer | None = None

    @property
    def hidden(self) -> list[Layer]:
        """Hidden layers (features extractor first, if it has parameters), not the head."""
        extra = [self.extractor_layer] if self.extractor_layer is not None else []
        return extra + self.layers[:-1]

    @property
    def head(self) -> Layer:
        """The last block, producing the Q-values."""
        return self.layers[-1]

    def parameters(self) -> list[nn.Parameter]:
        """Every parameter the network's output depends on (extractor included)."""
        params = list(self.extractor.parameters())
        return params + [p for layer in self.layers for p in layer.parameters()]


@dataclass
class CriticPass:
    """The outputs of one forward pass: hidden activations by layer name, and Q-values."""

    activations: dict[str, th.Tensor] = field(default_factory=dict)
    q_values: th.Tensor | None = None


def _flatten(module: nn.Module) -> Iterator[nn.Module]:
    if isinstance(module, nn.Sequential):
        for child in module:
            yield from _flatten(child)
    else:
        yield module


def _blocks(net: nn.Module, where: str) -> list[Layer]:
    if not isinstance(net, nn.Sequential):
        raise TypeError(
            f"{where} is a {type(net).__name__}, not an nn.Sequential; fade_rl walks the "
            "critic's layers itself (metrics, ReDo) and needs SB3's MLP critics (net_arch) or "
            "an nn.Sequential of layers"
        )
    blocks: list[list[nn.Module]] = []
    for module in _flatten(net):
        if isinstance(module, _WEIGHT_LAYERS) or not blocks:
            blocks.append([module])
        else:
            blocks[-1].append(module)
    names = [f"hidden{i}" for i in range(len(blocks) - 1)] + ["head"]
    return [Layer(name, modules) for name, modules in zip(names, blocks, strict=True)]


def _extractor_layer(extractor: nn.Module) -> Layer | None:
    if any(True for _ in extractor.parameters()):
        return Layer("features", [extractor])
    return None


def critic_networks(model: Any) -> list[CriticNetwork]:
    """The critic networks of an SB3 DQN, SAC or TD3 model (or a subclass, e.g. FadeDQN).

    Raises:
        TypeError: for another kind of model, or a Q network that is not an ``nn.Sequential``.
    """
    model = check_model(model, "critic_networks")
    q_nets = critic_q_nets(model)
    if isinstance(model, DQN):
        q_net = model.policy.q_net
        return [
            CriticNetwork(
                name="q_net",
                extractor=q_net.features_extractor,
                owner=q_net,
                layers=_blocks(q_nets["q_net"], "policy.q_net.q_net"),
                takes_actions=False,
                extractor_layer=_extractor_layer(q_net.features_extractor),
            )
        ]
    critic = model.critic
    shared = getattr(critic, "share_features_extractor", False)
    extractor_layer = None if shared else _extractor_layer(critic.features_extractor)
    return [
        CriticNetwork(
            name=name,
            extractor=critic.features_extractor,
            owner=critic,
            layers=_blocks(net, f"critic.q_networks[{i}]"),
            takes_actions=True,
            extractor_layer=extractor_layer,
        )
        for i, (name, net) in enumerate(q_nets.items())
    ]


def run_critics(
    networks: list[CriticNetwork], obs: Any, actions: th.Tensor | None
) -> dict[str, CriticPass]:
    """One forward pass of every network on ``(obs[, actions])``, hidden outputs kept.

    Runs with the caller's grad mode, so gradients can flow from the Q-values.
    """
    out: dict[str, CriticPass] = {}
    features_cache: dict[int, th.Tensor] = {}
    for net in networks:
        key = id(net.extractor)
        if key not in features_cache:
            features_cache[key] = net.owner.extract_features(obs, net.extractor)
        features = features_cache[key]
        record = CriticPass()
        if net.extractor_layer is not None:
            record.activations["features"] = features
        x = features
        if net.takes_actions:
            if actions is None:
                raise ValueError(f"network {net.name} needs actions")
            x = th.cat([features, actions], dim=1)
        for layer in net.layers[:-1]:
            x = layer.forward(x)
            record.activations[layer.name] = x
        record.q_values = net.head.forward(x)
        out[net.name] = record
    return out
