"""Probes: how well a network can still learn (plasticity) and what it still knows (memory).

* :func:`plasticity_probe` (after Lyle et al. 2022): a copy of the network fits fresh random
  targets on given inputs for ``steps`` full-batch Adam steps; its final loss is compared
  with that of a freshly initialised copy trained the same way. A ratio above 1 means the
  trained network has lost some ability to fit new targets.
* :func:`memory_probe`: after a shift, a linear probe on the network's frozen features
  predicts targets recorded before the shift (the network's own pre-shift outputs on
  pre-shift states), next to how well the network's output still matches them. A probe R^2
  well above the output's R^2 means the old task is hidden in the features, not erased.

The probes never touch the network they are given: they train deep copies, and draw their
randomness from a generator of their own. They compute on the network's device and return
0-d tensors there (no host synchronisation); ``float(...)`` reads one.

Example:
    >>> import torch
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Linear(32, 2))
    >>> result = plasticity_probe(net, (torch.randn(128, 4),), steps=20, seed=0)
    >>> sorted(result)
    ['fresh_loss', 'loss', 'ratio']
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from fade_rl.metrics.functional import linear_probe_r2, r2_score
from fade_rl.nets.modules import fresh_copy

__all__ = ["memory_probe", "plasticity_probe"]


def _fit(
    module: nn.Module, inputs: Sequence[Tensor], targets: Tensor, steps: int, lr: float
) -> Tensor:
    module.train()
    params = [p for p in module.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=lr)
    for _ in range(steps):
        loss = nn.functional.mse_loss(module(*inputs), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        return nn.functional.mse_loss(module(*inputs), targets)


def plasticity_probe(
    module: nn.Module,
    inputs: Sequence[Tensor],
    steps: int = 100,
    lr: float = 1e-3,
    seed: int = 0,
    fresh: nn.Module | None = None,
) -> dict[str, Tensor]:
    """Final loss of fitting fresh random targets: trained copy, fresh copy, and their ratio.

    The targets are the outputs of another freshly initialised copy of ``module`` on
    ``inputs``, standardised per output (zero mean, unit variance over the inputs), so a
    loss of 1 is what predicting their mean would give. Both copies take ``steps`` full-batch
    Adam steps (learning rate ``lr``) on the mean squared error.

    Args:
        module: the network to probe (``module(*inputs)`` gives ``[batch, outputs]``); it is
            deep-copied, never modified.
        inputs: the inputs, e.g. ``(obs,)`` or ``(obs, actions)`` from the replay buffer.
        steps: optimisation steps ``K``.
        lr: Adam's learning rate.
        seed: seeds the random targets and the fresh initialisation.
        fresh: a freshly initialised network to compare with (default: ``module``
            re-initialised by :func:`~fade_rl.nets.fresh_copy`).

    Returns:
        ``{"loss": trained copy, "fresh_loss": fresh copy, "ratio": loss / fresh_loss}``.
    """
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer (e.g. 100), got {steps!r}")
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr!r}")
    inputs = tuple(x.detach() for x in inputs)
    with torch.no_grad():
        target_net = fresh_copy(module, seed=seed + 1)
        targets = target_net(*inputs)
        targets = (targets - targets.mean(dim=0)) / targets.std(dim=0).clamp_min(1e-8)
    fresh = fresh_copy(module, seed=seed + 2) if fresh is None else copy.deepcopy(fresh)
    trained = copy.deepcopy(module)
    with torch.enable_grad():
        loss = _fit(trained, inputs, targets, steps, lr)
        fresh_loss = _fit(fresh, inputs, targets, steps, lr)
    return {"loss": loss, "fresh_loss": fresh_loss, "ratio": loss / fresh_loss.clamp_min(1e-12)}


def memory_probe(
    features: Tensor,
    outputs: Tensor,
    old_targets: Tensor,
    train_fraction: float = 0.5,
    ridge: float = 1e-3,
) -> dict[str, Tensor]:
    """How much of the pre-shift targets the network still holds, in features and in outputs.

    Args:
        features: the network's current last hidden features on the recorded states.
        outputs: the network's current outputs on them (same shape as ``old_targets``).
        old_targets: the outputs recorded on those states before the shift.
        train_fraction: rows used to fit the linear probe; R^2 is measured on the rest.
        ridge: the probe's ridge penalty (see :func:`~fade_rl.metrics.functional.linear_probe_r2`).

    Returns:
        ``{"probe_r2": linear probe on the features, "output_r2": the network's own output}``,
        both on the held-out rows.
    """
    n_train = round(train_fraction * old_targets.shape[0])
    return {
        "probe_r2": linear_probe_r2(features, old_targets, train_fraction, ridge),
        "output_r2": r2_score(outputs[n_train:], old_targets[n_train:]),
    }
