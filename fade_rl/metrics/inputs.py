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
    the settings its metrics take (dormancy thresholds, srank's delta).

    Example:
        >>> import torch
        >>> from fade_rl.metrics.registry import compute
        >>> x = torch.tensor([[1.0, 0.0, 2.0], [3.0, 0.0, 0.0]])  # unit 1 is dead
        >>> values = compute("layer", LayerFeatures(x, taus=(0.0,), srank_delta=0.01))
        >>> {k: round(float(v), 3) for k, v in values.items()}  # doctest: +NORMALIZE_WHITESPACE
        {'dormant_ratio_tau0': 0.333, 'active_units': 0.5, 'srank': 2.0,
         'effective_rank': 1.924, 'feature_norm': 2.618}
    """

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
    network's), their initial values and their gradients of the critic loss.

    Example:
        >>> import torch
        >>> from fade_rl.metrics.registry import compute
        >>> layer = torch.nn.Linear(2, 1, bias=False)
        >>> with torch.no_grad():
        ...     _ = layer.weight.copy_(torch.tensor([[3.0, 4.0]]))
        >>> layer(torch.ones(1, 2)).sum().backward()  # gradient [[1, 1]]
        >>> params = ParameterSet([layer.weight], [torch.zeros(1, 2)], [layer.weight.grad])
        >>> {k: round(float(v), 3) for k, v in compute("parameters", params).items()}
        {'weight_norm': 5.0, 'dist_from_init': 5.0, 'grad_norm': 1.414}
    """

    params: Sequence[nn.Parameter]
    initial: Sequence[th.Tensor]
    grads: Sequence[th.Tensor | None]


@dataclass(frozen=True)
class HeadOutputs:
    """Scope ``head``: the head's outputs on the batch (every action's value for DQN), the
    values of the actions taken and their TD targets.

    Example:
        >>> import torch
        >>> from fade_rl.metrics.registry import compute
        >>> q = torch.tensor([[1.0, 2.0], [3.0, 4.0]])  # 2 states, 2 actions
        >>> head = HeadOutputs(q, taken=torch.tensor([2.0, 3.0]), targets=torch.tensor([2.5, 2.0]))
        >>> {k: round(float(v), 3) for k, v in compute("head", head).items()}
        ... # doctest: +NORMALIZE_WHITESPACE
        {'q_mean': 2.5, 'q_std': 1.118, 'q_min': 1.0, 'q_max': 4.0,
         'td_mean': -0.25, 'td_abs_mean': 0.75, 'td_std': 0.75}
    """

    q_values: th.Tensor
    taken: th.Tensor
    targets: th.Tensor


@dataclass(frozen=True)
class ProbeInputs:
    """Scope ``probe``: a critic network as one module, the replay inputs it is probed on
    and the probe's settings (Adam steps, learning rate, seed).

    Example:
        >>> import torch
        >>> from fade_rl.metrics.registry import compute
        >>> _ = torch.manual_seed(0)
        >>> net = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
        >>> probe = ProbeInputs(net, (torch.randn(16, 3),), steps=5, lr=1e-2, seed=0)
        >>> values = compute("probe", probe)  # fits random targets: a copy of net, a fresh net
        >>> sorted(values), bool(values["fit_ratio"] > 0)
        (['fit_loss', 'fit_ratio', 'fresh_fit_loss'], True)
    """

    module: nn.Module
    inputs: tuple[Any, ...]
    steps: int
    lr: float
    seed: int


@dataclass(frozen=True)
class MemoryInputs:
    """Scope ``memory``: on the states recorded at the last shift, the network's current
    last hidden features and outputs, and the outputs recorded then.

    Example:
        >>> import torch
        >>> from fade_rl.metrics.registry import compute
        >>> features = torch.arange(8.0).reshape(4, 2)
        >>> recorded = features @ torch.tensor([[1.0], [2.0]])  # linear in the features
        >>> memory = MemoryInputs(features, outputs=recorded, recorded=recorded)
        >>> {k: round(float(v), 3) for k, v in compute("memory", memory).items()}
        {'probe_r2': 1.0, 'output_r2': 1.0}
    """

    features: th.Tensor
    outputs: th.Tensor
    recorded: th.Tensor
