"""Dormant units (Sokar et al. 2023): the one definition ReDo and the metrics share.

A unit's score is ``mean_b |a[b, i]|`` over the layer's mean of that; the unit is
tau-dormant when its score is ``<= tau``.

Example:
    >>> import torch
    >>> dormant_scores(torch.tensor([[0.0, 1.0, 2.0], [0.0, 3.0, 2.0]])).tolist()
    [0.0, 1.5, 1.5]
"""

from __future__ import annotations

import torch as th

__all__ = ["dormant_scores"]


def dormant_scores(features: th.Tensor) -> th.Tensor:
    """Per-unit scores of a layer's outputs ``[batch, units, ...]`` (trailing dims are units).

    The scores of a layer average to 1. A layer whose activations are all zero has all
    scores 0 (every unit is dormant). Computed on the features' device, with no host sync.
    """
    if features.dim() < 2 or features.shape[0] == 0:
        raise ValueError(
            f"dormant_scores needs a [batch, units] matrix with at least one sample, got shape "
            f"{tuple(features.shape)}; add a batch dimension with features.unsqueeze(0)"
        )
    matrix = features.detach().reshape(features.shape[0], -1)
    if not matrix.is_floating_point():
        matrix = matrix.float()
    unit_mean = matrix.abs().mean(dim=0)
    layer_mean = unit_mean.mean()
    # Where the layer is all zero, every unit_mean is 0 and 0 / tiny = 0: no branch, no sync.
    return unit_mean / layer_mean.clamp_min(th.finfo(unit_mean.dtype).tiny)
