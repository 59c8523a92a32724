"""Critic networks as blocks, run with every hidden layer's output kept: the one forward pass.

The activations are captured by walking the network ourselves in one forward pass on the
batch being measured, never by forward hooks that keep "the last forward pass" (SAC runs
its critics again inside the actor loss, which would overwrite such a cache). The FADE
algorithms train through this same pass (:func:`run_critics` keeps each head's input
features), and the metrics and ReDo measure through it.

Which networks a model's critics are is its algorithm family's knowledge
(:func:`fade_rl.algos.critic_networks` builds them: ``"q_net"`` for DQN, ``"qf0"``, ``"qf1"``
for SAC's and TD3's twins).

A network is cut into blocks: each ``nn.Linear`` / ``nn.Conv*`` starts one, and the modules
after it (activations, normalisation) belong to it. Blocks before the last are hidden layers
``"hidden0"``, ``"hidden1"``, ...: their output (after the activation) is what the dormancy
and rank metrics read. The last block is ``"head"``; its output is the Q-values. A features
extractor with parameters (e.g. ``NatureCNN``) is one more hidden layer, ``"features"``.
ReDo recycles the units of these same hidden layers.

Example:
    >>> import torch
    >>> from torch import nn
    >>> from stable_baselines3.common.torch_layers import FlattenExtractor
    >>> from stable_baselines3.dqn.policies import QNetwork
    >>> from gymnasium import spaces
    >>> obs, act = spaces.Box(-1, 1, (3,)), spaces.Discrete(2)
    >>> q = QNetwork(obs, act, FlattenExtractor(obs), 3, net_arch=[8, 8])
    >>> net = CriticNetwork("q_net", q.features_extractor, q, critic_blocks(q.q_net, "q"), False)
    >>> [layer.name for layer in net.layers]
    ['hidden0', 'hidden1', 'head']
    >>> record = run_critics([net], torch.zeros(5, 3), None)["q_net"]
    >>> record.activations["hidden1"].shape, record.head_input.shape, record.q_values.shape
    (torch.Size([5, 8]), torch.Size([5, 8]), torch.Size([5, 2]))
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch as th
from gymnasium import spaces
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

__all__ = [
    "CriticNetwork",
    "CriticPass",
    "FeaturesOwner",
    "Layer",
    "critic_blocks",
    "extractor_layer",
    "q_values_of",
    "run_critics",
]

_WEIGHT_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


class FeaturesOwner(Protocol):
    """What turns observations into a critic's features: SB3's ``BaseModel`` or an adapter.

    SB3's ``QNetwork`` and ``ContinuousCritic`` are one; so is anything with the
    observation space, the image flag and ``extract_features(obs, extractor)``
    (PPO's value side, whose policy's own ``extract_features`` returns both sides' features).

    Example:
        >>> from gymnasium import spaces
        >>> from stable_baselines3.common.torch_layers import FlattenExtractor
        >>> from stable_baselines3.dqn.policies import QNetwork
        >>> obs = spaces.Box(-1, 1, (3,))
        >>> owner: FeaturesOwner = QNetwork(obs, spaces.Discrete(2), FlattenExtractor(obs), 3)
        >>> owner.normalize_images, owner.observation_space.shape
        (True, (3,))
    """

    @property
    def observation_space(self) -> spaces.Space:
        """The observation space (for SB3's ``preprocess_obs``)."""
        ...

    @property
    def normalize_images(self) -> bool:
        """Whether image observations are scaled to [0, 1]."""
        ...

    def extract_features(self, obs: Any, features_extractor: BaseFeaturesExtractor) -> Any:
        """The features of ``obs`` (preprocessed as the model does) by ``features_extractor``."""
        ...


@dataclass
class Layer:
    """One block of a critic network: its modules and its parameters.

    Example:
        A hidden layer ``relu(x1 + x2 - 1)``:

        >>> import torch
        >>> from torch import nn
        >>> linear = nn.Linear(2, 1)
        >>> _ = nn.init.ones_(linear.weight), nn.init.constant_(linear.bias, -1.0)
        >>> layer = Layer("hidden0", [linear, nn.ReLU()])
        >>> layer.forward(torch.tensor([[1.0, 2.0], [-1.0, 0.5]])).tolist()
        [[2.0], [0.0]]
        >>> [p.shape for p in layer.parameters()]
        [torch.Size([1, 2]), torch.Size([1])]
    """

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
    """One Q network of a model: its features extractor, its blocks, whether it takes actions.

    Example:
        One of SB3's twin critics, which takes the actions after the features:

        >>> import torch
        >>> from gymnasium import spaces
        >>> from stable_baselines3.common.policies import ContinuousCritic
        >>> from stable_baselines3.common.torch_layers import FlattenExtractor
        >>> obs, act = spaces.Box(-1, 1, (3,)), spaces.Box(-1, 1, (1,))
        >>> critic = ContinuousCritic(obs, act, [8], FlattenExtractor(obs), 3, n_critics=1)
        >>> net = CriticNetwork("qf0", critic.features_extractor, critic,
        ...                     critic_blocks(critic.q_networks[0], "qf0"), takes_actions=True)
        >>> [layer.name for layer in net.hidden], net.head.modules
        (['hidden0'], [Linear(in_features=8, out_features=1, bias=True)])
        >>> net.layers[0].modules[0].in_features, len(net.parameters())  # 3 features + 1 action
        (4, 4)
        >>> run_critics([net], torch.zeros(5, 3), torch.zeros(5, 1))["qf0"].q_values.shape
        torch.Size([5, 1])
    """

    name: str
    extractor: BaseFeaturesExtractor
    owner: FeaturesOwner  # what has ``extract_features`` (QNetwork, ContinuousCritic, ...)
    layers: list[Layer]
    takes_actions: bool
    extractor_layer: Layer | None = None
    #: The extractor is the actor's too: training computes its features without gradient.
    shared_extractor: bool = False

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
    """The outputs of one forward pass: hidden activations by layer name, the head's input
    features (``phi``, what FADE's curvature reads) and the Q-values.

    Example:
        :func:`run_critics` returns one per network; the head applied to ``head_input``
        gives ``q_values``:

        >>> import torch
        >>> from gymnasium import spaces
        >>> from stable_baselines3.common.torch_layers import FlattenExtractor
        >>> from stable_baselines3.dqn.policies import QNetwork
        >>> obs, act = spaces.Box(-1, 1, (3,)), spaces.Discrete(2)
        >>> q = QNetwork(obs, act, FlattenExtractor(obs), 3, net_arch=[4])
        >>> blocks = critic_blocks(q.q_net, "q")
        >>> net = CriticNetwork("q_net", q.features_extractor, q, blocks, takes_actions=False)
        >>> record = run_critics([net], torch.ones(5, 3), None)["q_net"]
        >>> list(record.activations), record.head_input.shape, record.q_values.shape
        (['hidden0'], torch.Size([5, 4]), torch.Size([5, 2]))
        >>> torch.equal(net.head.forward(record.head_input), record.q_values)
        True
        >>> run_critics([net], torch.ones(5, 3), None, hidden=False)["q_net"].activations
        {}
        >>> CriticPass()
        CriticPass(activations={}, head_input=None, q_values=None)
    """

    activations: dict[str, th.Tensor] = field(default_factory=dict)
    head_input: th.Tensor | None = None
    q_values: th.Tensor | None = None


def _flatten(module: nn.Module) -> Iterator[nn.Module]:
    if isinstance(module, nn.Sequential):
        for child in module:
            yield from _flatten(child)
    else:
        yield module


def critic_blocks(net: nn.Module, where: str) -> list[Layer]:
    """``net`` (an ``nn.Sequential``, possibly nested) cut into blocks named as above."""
    if not isinstance(net, nn.Sequential):
        raise TypeError(
            f"{where} is a {type(net).__name__}, not an nn.Sequential; fade_rl walks the "
            "critic's layers itself (metrics, ReDo) and needs SB3's MLP critics (net_arch) or "
            "an nn.Sequential of layers"
        )
    blocks = _cut(net)
    names = [f"hidden{i}" for i in range(len(blocks) - 1)] + ["head"]
    return [Layer(name, modules) for name, modules in zip(names, blocks, strict=True)]


def _cut(net: nn.Module) -> list[list[nn.Module]]:
    blocks: list[list[nn.Module]] = []
    for module in _flatten(net):
        if isinstance(module, _WEIGHT_LAYERS) or not blocks:
            blocks.append([module])
        else:
            blocks[-1].append(module)
    return blocks


def extractor_layer(extractor: nn.Module) -> Layer | None:
    """The ``"features"`` hidden layer of an extractor with parameters; None without."""
    if any(True for _ in extractor.parameters()):
        return Layer("features", [extractor])
    return None


def run_critics(
    networks: list[CriticNetwork],
    obs: Any,
    actions: th.Tensor | None,
    *,
    hidden: bool = True,
    training: bool = False,
) -> dict[str, CriticPass]:
    """One forward pass of every network on ``(obs[, actions])``: Q-values, head inputs kept.

    Runs with the caller's grad mode, so gradients can flow from the Q-values. With
    ``hidden`` every hidden layer's output is kept too. With ``training`` the features of
    an extractor shared with the actor are computed without gradient, as SB3's critic
    loss does (``ContinuousCritic.forward``); networks sharing one extractor run it once.
    """
    out: dict[str, CriticPass] = {}
    inputs_cache: dict[int, tuple[th.Tensor, th.Tensor]] = {}  # extractor -> (features, input)
    for net in networks:
        key = id(net.extractor)
        if key not in inputs_cache:
            if training and net.takes_actions:
                with th.set_grad_enabled(not net.shared_extractor):
                    features = net.owner.extract_features(obs, net.extractor)
            else:
                features = net.owner.extract_features(obs, net.extractor)
            if net.takes_actions:
                if actions is None:
                    raise ValueError(f"network {net.name} needs actions")
                inputs_cache[key] = (features, th.cat([features, actions], dim=1))
            else:
                inputs_cache[key] = (features, features)
        features, x = inputs_cache[key]
        record = CriticPass()
        if hidden and net.extractor_layer is not None:
            record.activations["features"] = features
        for layer in net.layers[:-1]:
            x = layer.forward(x)
            if hidden:
                record.activations[layer.name] = x
        record.head_input = x
        record.q_values = net.head.forward(x)
        out[net.name] = record
    return out


def q_values_of(passes: dict[str, CriticPass]) -> dict[str, th.Tensor]:
    """The Q-values of each network's pass, by name."""
    out = {}
    for name, record in passes.items():
        assert record.q_values is not None, "run_critics sets the Q-values"
        out[name] = record.q_values
    return out
