"""Diagonal curvature ``H`` of a loss with respect to a linear head (docs/fade.md section 3).

For a head ``y = phi @ W.T + b`` and a loss whose Hessian with respect to the
outputs is diagonal, with entries ``c[b, k] = d^2 L / d y[b, k]^2``::

    H_W[k, j] = sum_b c[b, k] * phi[b, j] ** 2        H_b[k] = sum_b c[b, k]

The functions named ``*_output_hessian`` return ``c`` for the losses that
agents compute; :func:`linear_head_curvature` turns ``c`` and the features of
the same forward pass into ``(H_W, H_b)``. Targets are held fixed
(semi-gradient), as in TD learning. None of them synchronises with the device,
and every tensor they make takes its device and dtype from the tensors they are
given: on a GPU, give them GPU tensors.

Example:
    >>> import torch
    >>> phi = torch.tensor([[1.0, 2.0], [3.0, 0.0]])
    >>> y = torch.zeros(2, 1)  # the head's outputs (only their shape, device, dtype count)
    >>> c = mse_output_hessian(y)
    >>> h_weight, h_bias = linear_head_curvature(phi, c)
    >>> h_weight, h_bias
    (tensor([[10.,  4.]]), tensor([2.]))
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = [
    "cross_entropy_output_hessian",
    "dqn_output_hessian",
    "grad_clip_factor",
    "half_squared_error_output_hessian",
    "linear_head_curvature",
    "mse_output_hessian",
    "value_output_hessian",
]


def linear_head_curvature(features: Tensor, output_hessian: Tensor) -> tuple[Tensor, Tensor]:
    """``(H_W, H_b)`` of a linear head from its input features and the loss's output Hessian.

    Args:
        features: ``phi``, shape ``(batch, in_features)``: the head's input in the
            forward pass whose loss was backpropagated.
        output_hessian: ``c``, shape ``(batch, out_features)``.

    Returns:
        ``H_W`` of shape ``(out_features, in_features)`` and ``H_b`` of shape
        ``(out_features,)``: a sum over the batch of per-sample products, never a
        product of means.
    """
    if features.dim() != 2 or output_hessian.dim() != 2:
        raise ValueError(
            f"features and output_hessian must be 2-D (batch, dim); got shapes "
            f"{tuple(features.shape)} and {tuple(output_hessian.shape)}"
        )
    if features.shape[0] != output_hessian.shape[0]:
        raise ValueError(
            f"features have batch size {features.shape[0]} but output_hessian has "
            f"{output_hessian.shape[0]}; both come from the same batch"
        )
    features = features.detach()
    output_hessian = output_hessian.detach().to(features.dtype)
    return output_hessian.T @ features.square(), output_hessian.sum(dim=0)


def half_squared_error_output_hessian(outputs: Tensor) -> Tensor:
    """``c`` of ``0.5 * sum_k (y - t)^2`` averaged over the batch: ``1 / B`` everywhere.

    This is SB3 SAC's critic loss per critic (``0.5 * mse`` with one output).

    Args:
        outputs: the head's outputs ``y``, shape ``(batch, num_outputs)`` (or any tensor
            of that shape, e.g. the targets): ``c`` gets their shape, device and dtype.
    """
    batch_size, _ = _output_shape(outputs)
    return torch.full_like(outputs, 1.0 / batch_size, memory_format=torch.contiguous_format)


def mse_output_hessian(outputs: Tensor) -> Tensor:
    """``c`` of ``F.mse_loss(y, t)`` (mean over ``B * K`` elements): ``2 / (B * K)`` everywhere.

    This is SB3 TD3's critic loss per critic (one output: ``2 / B``).

    Args:
        outputs: the head's outputs ``y``, shape ``(batch, num_outputs)`` (or any tensor
            of that shape): ``c`` gets their shape, device and dtype.
    """
    batch_size, num_outputs = _output_shape(outputs)
    return torch.full_like(
        outputs, 2.0 / (batch_size * num_outputs), memory_format=torch.contiguous_format
    )


def dqn_output_hessian(
    actions: Tensor,
    td_errors: Tensor,
    num_actions: int,
    *,
    loss: str = "huber",
    huber_beta: float = 1.0,
) -> Tensor:
    """``c`` of a DQN loss on ``Q[b, a_b]``, averaged over the batch.

    Only the taken action's output has curvature. For ``loss="huber"``
    (``F.smooth_l1_loss(q, target, beta=huber_beta)``, SB3's default) a sample
    has curvature ``1 / (B * beta)`` where ``|td_error| < beta`` and none in the
    linear zone; for ``loss="mse"`` it is ``2 / B``.

    Args:
        actions: taken actions, shape ``(batch,)`` or ``(batch, 1)``, integer.
        td_errors: ``Q[b, a_b] - target_b``, shape ``(batch,)`` or ``(batch, 1)``.
        num_actions: number of head outputs.
        loss: ``"huber"`` or ``"mse"``.
        huber_beta: Huber's ``beta`` (SB3 uses 1.0).
    """
    actions = actions.reshape(-1).long()
    td_errors = td_errors.detach().reshape(-1)
    if actions.shape != td_errors.shape:
        raise ValueError(
            f"actions ({actions.numel()}) and td_errors ({td_errors.numel()}) must have "
            "one entry per sample"
        )
    batch_size = actions.numel()
    _check_sizes(batch_size, num_actions)
    if loss == "huber":
        if huber_beta <= 0:
            raise ValueError(f"huber_beta must be > 0, got {huber_beta}")
        # abs, then lt_ writes 0.0 / 1.0 into that float tensor: three small kernels
        per_sample = td_errors.abs().lt_(huber_beta).div_(batch_size * huber_beta)
    elif loss == "mse":
        per_sample = torch.full_like(td_errors, 2.0 / batch_size)
    else:
        raise ValueError(f"loss must be 'huber' or 'mse', got {loss!r}")
    c = torch.zeros(batch_size, num_actions, dtype=td_errors.dtype, device=td_errors.device)
    return c.scatter_(1, actions.unsqueeze(1), per_sample.unsqueeze(1))


def value_output_hessian(
    values: Tensor,
    old_values: Tensor,
    clip_range: float | None,
    coef: float = 1.0,
) -> Tensor:
    """``c`` of PPO's value loss ``coef * F.mse_loss(returns, pred)`` in the value head's output.

    ``pred`` is ``values`` or, with a ``clip_range``, ``old + clamp(values - old, -clip,
    clip)`` (SB3's ``clip_range_vf``): ``2 * coef / B`` where the clamp passes the value
    through, ``0`` where it is active (the prediction does not depend on the value there).
    The clamp's bounds count as passing, as torch's ``clamp`` differentiates them.

    Args:
        values: the value head's outputs ``(batch, 1)`` (or ``(batch,)``; ``c`` keeps the shape).
        old_values: the rollout's values, one per sample (any shape with ``batch`` entries).
        clip_range: the clip range of the value (``None``: no clipping; SB3's schedules may
            reach 0 at the end of training).
        coef: the loss's coefficient (SB3's ``vf_coef``).

    Example:
        >>> import torch
        >>> values, old = torch.tensor([[1.0], [1.5], [3.0]]), torch.ones(3)
        >>> value_output_hessian(values, old, clip_range=None, coef=0.5).flatten()
        tensor([0.3333, 0.3333, 0.3333])
        >>> value_output_hessian(values, old, clip_range=0.5, coef=0.5).flatten()  # 3rd clipped
        tensor([0.3333, 0.3333, 0.0000])
    """
    if values.dim() == 0:
        raise ValueError("values must hold one value per sample, got a 0-d tensor")
    batch_size = values.shape[0]
    _check_sizes(batch_size, 1)
    values = values.detach()
    c = torch.full_like(values, 2.0 * coef / values.numel(), memory_format=torch.contiguous_format)
    if clip_range is None:
        return c
    # a range of 0 (a schedule's end) passes only diff == 0, a negative one nothing: torch's
    # clamp differentiates its bounds the same way
    diff = values - old_values.detach().reshape(values.shape)
    return c.mul_(diff.ge(-clip_range).logical_and_(diff.le(clip_range)))


def cross_entropy_output_hessian(logits: Tensor) -> Tensor:
    """Diagonal of the softmax cross-entropy Hessian on the logits, mean over the batch.

    ``c[b, k] = p[b, k] * (1 - p[b, k]) / B`` (the diagonal approximation: the
    off-diagonal ``-p_k p_l`` terms are dropped).
    """
    if logits.dim() != 2:
        raise ValueError(f"logits must be 2-D (batch, classes), got shape {tuple(logits.shape)}")
    probs = torch.softmax(logits.detach(), dim=1)
    return probs * (1.0 - probs) / logits.shape[0]


def grad_clip_factor(total_norm: Tensor, max_norm: float) -> Tensor:
    """The factor ``min(1, max_norm / (||G|| + 1e-6))`` that gradient-norm clipping applied.

    Pass the total norm tensor that ``torch.nn.utils.clip_grad_norm_`` returned (the
    factor stays on its device: no sync); the curvature handed to FADE is then
    ``factor * H``, since the clipped step is ``factor * G``.
    """
    if max_norm <= 0:
        raise ValueError(f"max_norm must be > 0, got {max_norm}")
    if not isinstance(total_norm, Tensor):
        raise TypeError(
            f"total_norm must be the tensor clip_grad_norm_ returned (its device is the "
            f"factor's), got {type(total_norm).__name__}"
        )
    # max_norm / x is x.reciprocal() * max_norm in torch: the same numbers, in place
    return (total_norm.detach() + 1e-6).reciprocal_().mul_(max_norm).clamp_(max=1.0)


def _output_shape(outputs: Tensor) -> tuple[int, int]:
    if not isinstance(outputs, Tensor) or outputs.dim() != 2:
        raise ValueError(
            "outputs must be the head's outputs, a 2-D tensor (batch, num_outputs); got "
            + (f"shape {tuple(outputs.shape)}" if isinstance(outputs, Tensor) else repr(outputs))
        )
    batch_size, num_outputs = outputs.shape
    _check_sizes(batch_size, num_outputs)
    return batch_size, num_outputs


def _check_sizes(batch_size: int, num_outputs: int) -> None:
    if batch_size < 1 or num_outputs < 1:
        raise ValueError(
            f"batch_size and num_outputs must be >= 1, got {batch_size} and {num_outputs}"
        )
