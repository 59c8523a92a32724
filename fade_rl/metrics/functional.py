"""Plasticity metrics as pure functions on tensors (defined in ``docs/metrics.md``, "Definitions").

Every function takes plain tensors and returns a 0-d tensor (or a dict of them) on the
device of its inputs, with no host synchronisation: a training loop on a GPU reads them
when it logs, all at once (:func:`fade_rl.nets.readout.read_scalars`); ``float(...)`` reads
one. They can be tested on small hand-computed matrices. Feature matrices are
``[batch, units]``: one row per sample, one column per unit of a layer.

* :func:`dormant_ratio` -- share of tau-dormant units (Sokar et al. 2023; the scores are
  :func:`fade_rl.nets.dormant_scores`, re-exported here).
* :func:`active_units` -- share of (sample, unit) activations that are non-zero.
* :func:`srank` -- smallest k whose top-k singular values reach ``1 - delta`` of their sum
  (Kumar et al. 2021).
* :func:`effective_rank` -- exp of the entropy of the normalised singular values
  (Roy & Vetterli 2007).
* :func:`feature_norm`, :func:`weight_norm`, :func:`distance_from_init`,
  :func:`gradient_norm` -- L2 norms.
* :func:`value_stats`, :func:`td_error_stats` -- Q-value and TD-error statistics.
* :func:`r2_score`, :func:`linear_probe_r2` -- R^2, and that of a ridge regression from
  features to targets on held-out rows.

Example:
    >>> import torch
    >>> acts = torch.tensor([[0.0, 1.0, 2.0], [0.0, 3.0, 2.0]])
    >>> round(float(dormant_ratio(acts, tau=0.0)), 4)
    0.3333
    >>> int(srank(torch.eye(3), delta=0.01))
    3
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor

from fade_rl.nets.checks import check_tau
from fade_rl.nets.dormancy import dormant_scores

__all__ = [
    "active_units",
    "distance_from_init",
    "dormant_ratio",
    "dormant_scores",
    "effective_rank",
    "effective_rank_of_singular_values",
    "feature_norm",
    "gradient_norm",
    "linear_probe_r2",
    "r2_score",
    "singular_values",
    "srank",
    "srank_of_singular_values",
    "td_error_stats",
    "value_stats",
    "weight_norm",
]


def _as_matrix(features: Tensor, name: str = "features") -> Tensor:
    """``features`` as a float ``[batch, units]`` matrix (extra trailing dims are units)."""
    if not isinstance(features, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(features).__name__}")
    if features.dim() < 2:
        raise ValueError(
            f"{name} must be [batch, units] (got shape {tuple(features.shape)}); add a batch "
            "dimension with features.unsqueeze(0) or a unit dimension with unsqueeze(1)"
        )
    if features.shape[0] == 0:
        raise ValueError(f"{name} has an empty batch; pass at least one sample")
    matrix = features.detach().reshape(features.shape[0], -1)
    return matrix if matrix.is_floating_point() else matrix.float()


def dormant_ratio(features: Tensor, tau: float = 0.0) -> Tensor:
    """Share of tau-dormant units: units whose score (see :func:`dormant_scores`) is ``<= tau``.

    With ``tau = 0`` a unit is dormant when it is exactly zero on every sample (a dead
    ReLU on this batch).

    Args:
        features: post-activation outputs of one layer, ``[batch, units]``.
        tau: threshold on the relative score, ``>= 0``.
    """
    tau = check_tau(tau)
    return (dormant_scores(_as_matrix(features)) <= tau).float().mean()


def active_units(features: Tensor) -> Tensor:
    """Share of (sample, unit) activations that are non-zero (for ReLU: the active share)."""
    return (_as_matrix(features) != 0).float().mean()


def singular_values(features: Tensor) -> Tensor:
    """Singular values of the feature matrix, largest first (in float64, on its device)."""
    return torch.linalg.svdvals(_as_matrix(features).double())


def srank(features: Tensor, delta: float = 0.01) -> Tensor:
    """Smallest k whose k largest singular values reach ``(1 - delta)`` of their sum.

    A zero matrix has srank 0.
    """
    return srank_of_singular_values(singular_values(features), delta)


def srank_of_singular_values(sv: Tensor, delta: float = 0.01) -> Tensor:
    """:func:`srank` from singular values already computed (largest first), an int64 tensor."""
    if not 0.0 <= delta < 1.0:
        raise ValueError(f"delta must be in [0, 1) (Kumar et al. use 0.01), got {delta!r}")
    total = sv.sum()
    cumulative = torch.cumsum(sv, dim=0) / total.clamp_min(torch.finfo(sv.dtype).tiny)
    # The cumulative share only grows, so k is one more than the count still short of the
    # threshold (with a tolerance so that exactly (1 - delta) counts as reached).
    k = (cumulative < (1.0 - delta) - 1e-12).sum() + 1
    return torch.where(total > 0, k, torch.zeros_like(k))


def effective_rank(features: Tensor) -> Tensor:
    """``exp(-sum p_i log p_i)`` with ``p_i = sigma_i / sum sigma``; 0 for a zero matrix."""
    return effective_rank_of_singular_values(singular_values(features))


def effective_rank_of_singular_values(sv: Tensor) -> Tensor:
    """:func:`effective_rank` from singular values already computed."""
    total = sv.sum()
    p = sv / total.clamp_min(torch.finfo(sv.dtype).tiny)
    entropy = -torch.special.xlogy(p, p).sum()  # 0 log 0 = 0
    return torch.where(total > 0, entropy.exp(), torch.zeros_like(entropy))


def feature_norm(features: Tensor) -> Tensor:
    """Mean over samples of the L2 norm of a sample's feature vector."""
    return torch.linalg.vector_norm(_as_matrix(features), dim=1).mean()


def _norm(tensors: Iterable[Tensor]) -> Tensor:
    squares = [t.detach().double().square().sum() for t in tensors]
    if not squares:
        return torch.zeros((), dtype=torch.float64)  # nothing to take a device from
    return torch.stack(squares).sum().sqrt()


def weight_norm(params: Iterable[Tensor]) -> Tensor:
    """L2 norm of all the given tensors together: ``sqrt(sum ||p||^2)``."""
    return _norm(params)


def distance_from_init(params: Iterable[Tensor], initial: Iterable[Tensor]) -> Tensor:
    """``sqrt(sum ||p - p0||^2)`` over matching tensors of the current and initial parameters."""
    params, initial = list(params), list(initial)
    if len(params) != len(initial):
        raise ValueError(
            f"distance_from_init got {len(params)} parameters but {len(initial)} initial ones; "
            "pass the same tensors in the same order (e.g. from the same module)"
        )
    diffs = []
    for p, p0 in zip(params, initial, strict=True):
        if p.shape != p0.shape:
            raise ValueError(
                f"distance_from_init: shapes {tuple(p.shape)} and {tuple(p0.shape)} differ; "
                "the initial snapshot must come from the same network"
            )
        if p.device != p0.device:
            raise ValueError(
                f"distance_from_init: a parameter on {p.device} and its initial value on "
                f"{p0.device}; move the snapshot to the parameters' device first"
            )
        diffs.append(p.detach() - p0.detach())
    return _norm(diffs)


def gradient_norm(grads: Iterable[Tensor | None]) -> Tensor:
    """L2 norm of all gradients together; ``None`` entries (no gradient) count as zero."""
    return _norm(g for g in grads if g is not None)


def value_stats(q_values: Tensor) -> dict[str, Tensor]:
    """Mean, standard deviation (population), min and max of Q-values."""
    q = q_values.detach().double().flatten()
    if q.numel() == 0:
        raise ValueError("value_stats got no Q-values")
    return {
        "q_mean": q.mean(),
        "q_std": q.std(unbiased=False),
        "q_min": q.min(),
        "q_max": q.max(),
    }


def td_error_stats(q_values: Tensor, targets: Tensor) -> dict[str, Tensor]:
    """Statistics of the TD error ``delta = target - Q``: mean, mean absolute value, std."""
    if q_values.shape != targets.shape:
        raise ValueError(
            f"td_error_stats: Q-values {tuple(q_values.shape)} and targets "
            f"{tuple(targets.shape)} must have the same shape"
        )
    delta = (targets.detach() - q_values.detach()).double().flatten()
    if delta.numel() == 0:
        raise ValueError("td_error_stats got no samples")
    return {
        "td_mean": delta.mean(),
        "td_abs_mean": delta.abs().mean(),
        "td_std": delta.std(unbiased=False),
    }


def r2_score(predictions: Tensor, targets: Tensor) -> Tensor:
    """``1 - SSE / SST`` summed over columns, SST around the targets' mean.

    Constant targets (SST = 0) score 1 when predicted exactly (SSE <= 1e-12), else 0.
    """
    if predictions.shape != targets.shape:
        raise ValueError(
            f"r2_score: predictions {tuple(predictions.shape)} and targets "
            f"{tuple(targets.shape)} must have the same shape"
        )
    p, t = predictions.detach().double(), targets.detach().double()
    sst = (t - t.mean(dim=0)).square().sum()
    sse = (t - p).square().sum()
    constant = torch.where(sse <= 1e-12, torch.ones_like(sse), torch.zeros_like(sse))
    return torch.where(sst > 0, 1.0 - sse / sst.clamp_min(torch.finfo(sst.dtype).tiny), constant)


def linear_probe_r2(
    features: Tensor,
    targets: Tensor,
    train_fraction: float = 0.5,
    ridge: float = 1e-3,
) -> Tensor:
    """R^2 of a ridge-regression probe from ``features`` to ``targets`` on held-out rows.

    The first ``train_fraction`` of the rows fit ``targets ~ features @ W + b`` (closed form,
    ridge penalty ``ridge * n_train`` on ``W``, minimum-norm solution when that system is
    singular); the rest measure :func:`r2_score`. 1 means the targets are linearly
    decodable from the features; 0 means no better than their mean; it can be negative.
    """
    x = _as_matrix(features).double()
    y = targets.detach().double().reshape(targets.shape[0], -1)
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"linear_probe_r2: {x.shape[0]} feature rows but {y.shape[0]} target rows")
    if not 0.0 < train_fraction < 1.0:
        raise ValueError(f"train_fraction must be in (0, 1), got {train_fraction!r}")
    if ridge < 0:
        raise ValueError(f"ridge must be >= 0, got {ridge!r}")
    n_train = round(train_fraction * x.shape[0])
    if n_train < 1 or n_train >= x.shape[0]:
        raise ValueError(
            f"linear_probe_r2 needs rows on both sides of the split; got {x.shape[0]} rows "
            f"with train_fraction={train_fraction}"
        )
    x_tr, x_te, y_tr, y_te = x[:n_train], x[n_train:], y[:n_train], y[n_train:]
    x_mean, y_mean = x_tr.mean(dim=0), y_tr.mean(dim=0)
    xc = x_tr - x_mean
    eye = torch.eye(x.shape[1], dtype=x.dtype, device=x.device)
    gram = xc.T @ xc + ridge * n_train * eye
    # pinv (symmetric, via eigh) rather than lstsq: defined for a singular gram, and
    # available on every device (CUDA's lstsq needs full rank; meta has none).
    w = torch.linalg.pinv(gram, hermitian=True) @ (xc.T @ (y_tr - y_mean))
    return r2_score((x_te - x_mean) @ w + y_mean, y_te)
