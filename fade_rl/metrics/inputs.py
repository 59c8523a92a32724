"""What a metric's function receives, one type per scope of :mod:`fade_rl.metrics.registry`.

Each is a small frozen record of device tensors built once per measurement, so metrics of
one scope share what they need (the layer's singular values are computed once, for srank
and effective rank alike).

Example:
    >>> import torch
    >>> layer = LayerFeatures(torch.eye(3), taus=(0.0,), srank_delta=0.01)
    >>> layer.singular_values.tolist()
    [1.0, 1.0, 1.0]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import torch as th
from torch import nn

from fade_rl.metrics import functional as F

__all__ = ["HeadOutputs", "LayerFeatures", "MemoryInputs", "ParameterSet", "ProbeInputs"]


@dataclass(frozen=True)
class LayerFeatures:
    """Scope ``layer``: one hidden layer's activations ``[batch, units]`` on the batch, and
    the settings its metrics take (dormancy thresholds, srank's delta)."""

    activations: th.Tensor
    taus: Sequence[float]
    srank_delta: float

    @cached_property
    def singular_values(self) -> th.Tensor:
        """The activations' singular values, largest first (computed once)."""
        return F.singular_values(self.activations)


@dataclass(frozen=True)
class ParameterSet:
    """Scope ``parameters``: a set of parameters (a layer's, the head's, the whole
    network's), their initial values and their gradients of the critic loss."""

    params: Sequence[nn.Parameter]
    initial: Sequence[th.Tensor]
    grads: Sequence[th.Tensor | None]


@dataclass(frozen=True)
class HeadOutputs:
    """Scope ``head``: the head's outputs on the batch (every action's value for DQN), the
    values of the actions taken and their TD targets."""

    q_values: th.Tensor
    taken: th.Tensor
    targets: th.Tensor


@dataclass(frozen=True)
class ProbeInputs:
    """Scope ``probe``: a critic network as one module, the replay inputs it is probed on
    and the probe's settings (Adam steps, learning rate, seed)."""

    module: nn.Module
    inputs: tuple[Any, ...]
    steps: int
    lr: float
    seed: int


@dataclass(frozen=True)
class MemoryInputs:
    """Scope ``memory``: on the states recorded at the last shift, the network's current
    last hidden features and outputs, and the outputs recorded then."""

    features: th.Tensor
    outputs: th.Tensor
    recorded: th.Tensor
