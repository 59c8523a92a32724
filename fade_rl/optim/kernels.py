"""FADE's update kernels: the reference (one tensor at a time) and the fast (foreach) step.

:class:`~fade_rl.optim.FADE` groups a parameter group's tensors and calls
:func:`single_tensor_adam` / :func:`multi_tensor_adam` for plain groups and
:func:`single_tensor_fade` / :func:`multi_tensor_fade` for FADE groups (the update of the
:mod:`fade_rl.optim.fade` docstring). The two implementations of each must agree step by
step (``tests/optim/test_fade.py``). Nothing here reads a tensor on the host.

Example:
    >>> import torch
    >>> p = torch.nn.Parameter(torch.ones(2)); p.grad = torch.ones(2)
    >>> dense_grad(p).tolist()
    [1.0, 1.0]
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

__all__ = [
    "advance_step",
    "dense_grad",
    "fade_kernel",
    "fade_lists",
    "fade_state_keys",
    "multi_tensor_adam",
    "multi_tensor_fade",
    "single_tensor_adam",
    "single_tensor_fade",
    "state_size",
    "supports_fused",
]


def state_size(group: dict[str, Any]) -> int:
    """How many state entries a parameter of ``group`` has once initialised (with "step")."""
    size = 1 + 2 * (group["base"] == "adam")
    if group["fade"]:
        size += 2 + 2 * group["idbd"]
    return size


def fade_state_keys(group: dict[str, Any]) -> list[str]:
    """The state entries :func:`fade_kernel` updates, in the order it takes them."""
    keys = ["log_decay", "decay_trace"]
    if group["base"] == "adam":
        keys += ["exp_avg", "exp_avg_sq"]
    if group["idbd"]:
        keys += ["log_step_size", "step_size_trace"]
    return keys


def supports_fused(tensors: list[Tensor]) -> bool:
    """Whether the fused loop can step these tensors: CPU, contiguous, float32 or float64."""
    dtype = tensors[0].dtype
    if dtype not in (torch.float32, torch.float64):
        return False
    return all(t.device.type == "cpu" and t.dtype == dtype and t.is_contiguous() for t in tensors)


def fade_lists(
    params: list[Tensor],
    grads: list[Tensor],
    curvatures: list[Tensor],
    states: list[dict[str, Any]],
    group: dict[str, Any],
) -> list[list[Tensor]]:
    """What :func:`fade_kernel` takes: params, grads, curvatures, then each state entry of
    :func:`fade_state_keys` as a list over the parameters."""
    return [params, grads, curvatures] + [[s[k] for s in states] for k in fade_state_keys(group)]


def dense_grad(p: Tensor) -> Tensor:
    grad = p.grad
    assert grad is not None
    if grad.is_sparse:
        raise RuntimeError("FADE does not support sparse gradients")
    return grad


def advance_step(states: list[dict[str, Any]]) -> int | None:
    """Advance the per-parameter step counters (plain ints: no device sync).

    Returns the common new step, or None when parameters of the group are at
    different steps (one of them skipped steps without a gradient).
    """
    for state in states:
        state["step"] = int(state["step"]) + 1
    steps = {state["step"] for state in states}
    return steps.pop() if len(steps) == 1 else None


def _adam_scalars(step: int, group: dict[str, Any]) -> tuple[float, float, float, float]:
    beta1, beta2 = group["betas"]
    bias_correction1 = 1.0 - beta1**step
    bias_correction2_sqrt = math.sqrt(1.0 - beta2**step)
    return beta1, beta2, bias_correction1, bias_correction2_sqrt


# ------------------------------------------------------------------ base steps
def single_tensor_adam(
    params: list[Tensor], grads: list[Tensor], states: list[dict[str, Any]], group: dict[str, Any]
) -> None:
    for p, grad, state in zip(params, grads, states, strict=True):
        beta1, beta2, bc1, bc2_sqrt = _adam_scalars(state["step"], group)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m.lerp_(grad, 1.0 - beta1)
        v.mul_(beta2).addcmul_(grad, grad, value=1.0 - beta2)
        denom = (v.sqrt() / bc2_sqrt).add_(group["eps"])
        p.addcdiv_(m, denom, value=-group["lr"] / bc1)


def multi_tensor_adam(
    params: list[Tensor],
    grads: list[Tensor],
    states: list[dict[str, Any]],
    step: int,
    group: dict[str, Any],
) -> None:
    beta1, beta2, bc1, bc2_sqrt = _adam_scalars(step, group)
    exp_avgs = [s["exp_avg"] for s in states]
    exp_avg_sqs = [s["exp_avg_sq"] for s in states]
    torch._foreach_lerp_(exp_avgs, grads, 1.0 - beta1)
    torch._foreach_mul_(exp_avg_sqs, beta2)
    torch._foreach_addcmul_(exp_avg_sqs, grads, grads, value=1.0 - beta2)
    # lr / (sqrt(v) / bc2 + eps) = lr * bc2 / (sqrt(v) + eps * bc2): one op fewer
    denoms = torch._foreach_sqrt(exp_avg_sqs)
    torch._foreach_add_(denoms, group["eps"] * bc2_sqrt)
    torch._foreach_addcdiv_(params, exp_avgs, denoms, value=-group["lr"] * bc2_sqrt / bc1)


# ------------------------------------------------------------------ FADE steps
def single_tensor_fade(
    params: list[Tensor],
    grads: list[Tensor],
    curvatures: list[Tensor],
    states: list[dict[str, Any]],
    group: dict[str, Any],
) -> None:
    """Reference implementation: docs/fade.md section 2 written out, one tensor at a time."""
    lr, meta_lr = group["lr"], group["meta_lr"]
    gamma_min, gamma_max = group["log_decay_bounds"]
    idbd_meta_lr = meta_lr if group["idbd_meta_lr"] is None else group["idbd_meta_lr"]
    for p, grad, curv, state in zip(params, grads, curvatures, states, strict=True):
        gamma, trace = state["log_decay"], state["decay_trace"]
        if group["base"] == "adam":
            beta1, beta2, bc1, bc2_sqrt = _adam_scalars(state["step"], group)
            m, v = state["exp_avg"], state["exp_avg_sq"]
            m.lerp_(grad, 1.0 - beta1)
            v.mul_(beta2).addcmul_(grad, grad, value=1.0 - beta2)
            alpha_eff = lr / (v.sqrt() / bc2_sqrt + group["eps"])
            base_update = alpha_eff * m / bc1
        elif group["idbd"]:
            beta, h = state["log_step_size"], state["step_size_trace"]
            beta.sub_(idbd_meta_lr * grad * h)
            alpha_eff = beta.exp()
            base_update = alpha_eff * grad
        else:
            alpha_eff = torch.full_like(p, lr)
            base_update = lr * grad

        gamma.sub_(meta_lr * grad * trace).clamp_(gamma_min, gamma_max)
        decay = gamma.exp()
        keep = (1.0 - decay - alpha_eff * curv).clamp_(min=0.0)
        if group["idbd"]:
            h.mul_(keep).sub_(alpha_eff * grad)
        trace.mul_(keep).sub_(decay * p)
        p.mul_(1.0 - decay)
        p.sub_(base_update)


# Tensors above this many elements are processed in chunks of it, every op of the
# step on one chunk before the next, so the step's intermediates stay in cache
# instead of streaming the whole tensor through memory once per op.
_CHUNK = 1 << 16


def multi_tensor_fade(
    params: list[Tensor],
    grads: list[Tensor],
    curvatures: list[Tensor],
    states: list[dict[str, Any]],
    step: int,
    group: dict[str, Any],
) -> None:
    """Batched implementation with ``torch._foreach_*``: the reference's arithmetic, fused."""
    lists = fade_lists(params, grads, curvatures, states, group)
    small = [i for i, p in enumerate(params) if p.numel() <= _CHUNK]
    if small:
        fade_kernel([[tensors[i] for i in small] for tensors in lists], step, group)
    for i, p in enumerate(params):
        if p.numel() <= _CHUNK:
            continue
        tensors = [t[i] for t in lists]
        if not all(t.is_contiguous() for t in tensors):
            fade_kernel([[t] for t in tensors], step, group)
            continue
        flat = [t.view(-1) for t in tensors]
        for start in range(0, p.numel(), _CHUNK):
            fade_kernel([[t[start : start + _CHUNK]] for t in flat], step, group)


def fade_kernel(lists: list[list[Tensor]], step: int, group: dict[str, Any]) -> None:
    """One FADE step on lists of tensors: params, grads, curvatures, then the state tensors."""
    params, grads, curvatures, gammas, traces = lists[:5]
    lr, meta_lr = group["lr"], group["meta_lr"]
    gamma_min, gamma_max = group["log_decay_bounds"]

    if group["base"] == "adam":
        exp_avgs, exp_avg_sqs = lists[5:7]
        beta1, beta2, bc1, bc2_sqrt = _adam_scalars(step, group)
        torch._foreach_lerp_(exp_avgs, grads, 1.0 - beta1)
        torch._foreach_mul_(exp_avg_sqs, beta2)
        torch._foreach_addcmul_(exp_avg_sqs, grads, grads, value=1.0 - beta2)
        # alpha_eff = lr / (sqrt(v) / bc2 + eps) = adam_lr / denom, one op fewer
        denoms = torch._foreach_sqrt(exp_avg_sqs)
        torch._foreach_add_(denoms, group["eps"] * bc2_sqrt)
        adam_lr = lr * bc2_sqrt
    elif group["idbd"]:
        betas, step_traces = lists[5:7]
        idbd_meta_lr = meta_lr if group["idbd_meta_lr"] is None else group["idbd_meta_lr"]
        torch._foreach_addcmul_(betas, grads, step_traces, value=-idbd_meta_lr)
        step_sizes = torch._foreach_exp(betas)

    # gamma update uses the OLD trace.
    torch._foreach_addcmul_(gammas, grads, traces, value=-meta_lr)
    torch._foreach_clamp_min_(gammas, gamma_min)
    torch._foreach_clamp_max_(gammas, gamma_max)
    decays = torch._foreach_exp(gammas)

    # keep = max(0, 1 - lambda - alpha_eff * H) = 1 - shrink with
    # shrink = min(1, lambda + alpha_eff * H); x * keep is written x - shrink * x (two ops fewer)
    if group["base"] == "adam":
        shrink = torch._foreach_addcdiv(decays, curvatures, denoms, value=adam_lr)
    elif group["idbd"]:
        shrink = torch._foreach_addcmul(decays, step_sizes, curvatures)
    else:
        shrink = torch._foreach_add(decays, curvatures, alpha=lr)
    torch._foreach_clamp_max_(shrink, 1.0)

    if group["idbd"]:
        torch._foreach_addcmul_(step_traces, shrink, step_traces, value=-1.0)
        torch._foreach_addcmul_(step_traces, step_sizes, grads, value=-1.0)
    torch._foreach_addcmul_(traces, shrink, traces, value=-1.0)
    torch._foreach_addcmul_(traces, decays, params, value=-1.0)  # p before decay
    torch._foreach_addcmul_(params, decays, params, value=-1.0)  # p = (1 - lambda) * p
    if group["base"] == "adam":
        torch._foreach_addcdiv_(params, exp_avgs, denoms, value=-adam_lr / bc1)
    elif group["idbd"]:
        torch._foreach_addcmul_(params, step_sizes, grads, value=-1.0)
    else:
        torch._foreach_add_(params, grads, alpha=-lr)
