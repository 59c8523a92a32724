"""Find the critic networks of an SB3 model and run them with every hidden layer's output kept.

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
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch as th
from stable_baselines3 import DQN, SAC, TD3
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.policies import BaseModel
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.common.type_aliases import ReplayBufferSamples
from torch import nn
from torch.nn import functional as F

__all__ = [
    "CriticNetwork",
    "CriticPass",
    "Layer",
    "check_model",
    "critic_loss",
    "critic_networks",
    "critic_optimizer",
    "run_critics",
    "td_targets",
]

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
            f"{where} is a {type(net).__name__}, not an nn.Sequential; PlasticityCallback walks "
            "the critic's layers itself and needs SB3's MLP critics (net_arch) or an "
            "nn.Sequential of layers"
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
        TypeError: for another kind of model.
    """
    if isinstance(model, DQN):
        q_net = model.policy.q_net
        return [
            CriticNetwork(
                name="q_net",
                extractor=q_net.features_extractor,
                owner=q_net,
                layers=_blocks(q_net.q_net, "policy.q_net.q_net"),
                takes_actions=False,
                extractor_layer=_extractor_layer(q_net.features_extractor),
            )
        ]
    if isinstance(model, (SAC, TD3)):
        critic = model.critic
        shared = getattr(critic, "share_features_extractor", False)
        extractor_layer = None if shared else _extractor_layer(critic.features_extractor)
        return [
            CriticNetwork(
                name=f"qf{i}",
                extractor=critic.features_extractor,
                owner=critic,
                layers=_blocks(net, f"critic.q_networks[{i}]"),
                takes_actions=True,
                extractor_layer=extractor_layer,
            )
            for i, net in enumerate(critic.q_networks)
        ]
    raise TypeError(
        f"PlasticityCallback measures the critics of DQN, SAC and TD3 (and FadeDQN, FadeSAC, "
        f"FadeTD3); got a {type(model).__name__}. Use it with one of those algorithms."
    )


def critic_optimizer(model: Any) -> th.optim.Optimizer:
    """The critic(s)' optimizer: ``policy.optimizer`` (DQN) or ``critic.optimizer`` (SAC, TD3)."""
    if isinstance(model, DQN):
        return model.policy.optimizer
    return model.critic.optimizer


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


def td_targets(model: Any, data: ReplayBufferSamples) -> th.Tensor:
    """The TD targets the algorithm's own critic loss would use for this batch, ``[B, 1]``.

    DQN: ``r + (1 - d) gamma max_a Q_target(s', a)``; TD3: with the clipped target-policy
    noise and the min over target critics; SAC: with the entropy term. Call under
    ``torch.no_grad()``; SAC and TD3 draw noise from torch's global generator.
    """
    discounts = getattr(data, "discounts", None)
    if discounts is None:
        discounts = model.gamma
    if isinstance(model, DQN):
        next_q = model.q_net_target(data.next_observations).max(dim=1).values.reshape(-1, 1)
    elif isinstance(model, TD3):
        noise = data.actions.clone().normal_(0, model.target_policy_noise)
        noise = noise.clamp(-model.target_noise_clip, model.target_noise_clip)
        next_actions = (model.actor_target(data.next_observations) + noise).clamp(-1, 1)
        next_q = th.cat(model.critic_target(data.next_observations, next_actions), dim=1)
        next_q = next_q.min(dim=1, keepdim=True).values
    elif isinstance(model, SAC):
        next_actions, next_log_prob = model.actor.action_log_prob(data.next_observations)
        next_q = th.cat(model.critic_target(data.next_observations, next_actions), dim=1)
        next_q = next_q.min(dim=1, keepdim=True).values
        if model.log_ent_coef is not None:
            ent_coef = th.exp(model.log_ent_coef.detach())
        else:
            ent_coef = model.ent_coef_tensor
        next_q = next_q - ent_coef * next_log_prob.reshape(-1, 1)
    else:
        raise TypeError(f"td_targets: unsupported model {type(model).__name__}")
    return data.rewards + (1 - data.dones) * discounts * next_q


def critic_loss(
    model: Any, passes: dict[str, CriticPass], data: ReplayBufferSamples, targets: th.Tensor
) -> tuple[th.Tensor, dict[str, th.Tensor]]:
    """The algorithm's critic loss on this pass, and each network's taken-action Q-values.

    DQN: ``smooth_l1(Q[b, a_b], target)``; SAC: ``0.5 * sum_i mse(Q_i, target)``;
    TD3: ``sum_i mse(Q_i, target)``, as SB3 computes them.
    """
    taken: dict[str, th.Tensor] = {}
    if isinstance(model, DQN):
        q = passes["q_net"].q_values
        assert q is not None
        taken["q_net"] = th.gather(q, dim=1, index=data.actions.long())
        return F.smooth_l1_loss(taken["q_net"], targets), taken
    scale = 0.5 if isinstance(model, SAC) else 1.0
    losses = []
    for name, record in passes.items():
        assert record.q_values is not None
        taken[name] = record.q_values
        losses.append(F.mse_loss(record.q_values, targets))
    return scale * th.stack(losses).sum(), taken


def check_model(model: Any) -> None:
    """Raise a clear error if ``model`` cannot be measured (wrong algorithm, no replay buffer)."""
    if not isinstance(model, OffPolicyAlgorithm) or not isinstance(model, (DQN, SAC, TD3)):
        critic_networks(model)  # raises the TypeError naming the supported algorithms
    if getattr(model, "replay_buffer", None) is None:
        raise ValueError(
            f"the {type(model).__name__} model has no replay buffer; PlasticityCallback samples "
            "its measurement batches from it. Create the model normally (its replay buffer is "
            "built in _setup_model), or after loading call model.load_replay_buffer(path)."
        )
