"""FADE's step on the CPU as one compiled loop per tensor (numba): one call instead of ~15 ops.

A head is small (a DQN head on CartPole has 130 elements), so on the CPU the cost of
:func:`~fade_rl.optim.kernels.fade_kernel` is the fixed cost of its ~15 torch calls, not
arithmetic (docs/speed.md). :func:`fused_fade_kernel` does the same update, element by
element, in one loop compiled by numba, on numpy views of the tensors (no copy): each
element is read once, and the call costs about as much as one torch op.

The arithmetic is the kernel's, term for term and in the tensor's own precision
(float32 stays float32): the scalars it needs are handed over as an array of the
tensor's dtype, so no float64 constant widens the loop. It agrees with the foreach
kernel to rounding (``tests/optim/test_fused.py``). :class:`~fade_rl.optim.FADE` uses it
on CPU groups with ``foreach=None`` (the default); ``foreach=True`` keeps the torch
kernel, which is also the path on a GPU.

The loop also checks that every curvature element is finite (a branch in the loop it
already runs), so FADE notes a NaN or infinity without a reduction of its own.

Example:
    >>> import torch
    >>> group = dict(lr=0.1, meta_lr=1.0, log_decay_bounds=(-15.0, 0.0), base="sgd",
    ...              idbd=False, idbd_meta_lr=None, betas=(0.9, 0.999), eps=1e-8)
    >>> p, grad, h = torch.ones(3), torch.ones(3), torch.zeros(3)
    >>> state = {"log_decay": torch.full((3,), -2.0), "decay_trace": torch.zeros(3)}
    >>> lists = [[p], [grad], [h], [state["log_decay"]], [state["decay_trace"]]]
    >>> fused_fade_kernel(lists, 1, group)
    True
    >>> round(p[0].item(), 4)  # (1 - exp(-2)) * 1 - 0.1 * 1
    0.7647
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from numba import njit
from torch import Tensor

__all__ = ["fused_fade_kernel"]

#: How the base step is taken in the loop.
_SGD, _ADAM, _IDBD = 0, 1, 2

# The indices of the scalars array (one array of the tensor's dtype, see the module docstring).
(_LR, _META_LR, _GAMMA_MIN, _GAMMA_MAX, _W1, _B2, _W2) = range(7)
(_EPS, _STEP_SCALE, _IDBD_META_LR, _ONE) = range(7, 11)


@njit(cache=True, nogil=True)
def _fade_loop(mode, p, g, h, gamma, trace, a, b, s):  # type: ignore[no-untyped-def]  # pragma: no cover (compiled)
    """One FADE step of one flat tensor; ``a, b``: Adam's two moments, or IDBD's beta and trace.

    Returns whether every element of ``h`` was finite. Written after ``fade_kernel``:
    the same operations on one element, in the same order.
    """
    one = s[_ONE]
    finite = True
    for i in range(p.size):
        gi, hi, pi, ti = g[i], h[i], p[i], trace[i]
        if not np.isfinite(hi):
            finite = False
        if mode == _ADAM:
            m = a[i] + s[_W1] * (gi - a[i])  # lerp with weight < 0.5, as torch writes it
            v = b[i] * s[_B2] + s[_W2] * gi * gi
            a[i], b[i] = m, v
            denom = np.sqrt(v) + s[_EPS]
            shrink_step = s[_LR] * (hi / denom)
            base_update = s[_STEP_SCALE] * (m / denom)
        elif mode == _IDBD:
            beta = a[i] - s[_IDBD_META_LR] * gi * b[i]
            a[i] = beta
            alpha = np.exp(beta)
            shrink_step = alpha * hi
            base_update = alpha * gi
        else:
            shrink_step = s[_LR] * hi
            base_update = s[_LR] * gi
        log_decay = gamma[i] - s[_META_LR] * gi * ti  # the old trace
        if log_decay < s[_GAMMA_MIN]:
            log_decay = s[_GAMMA_MIN]
        if log_decay > s[_GAMMA_MAX]:
            log_decay = s[_GAMMA_MAX]
        gamma[i] = log_decay
        decay = np.exp(log_decay)
        shrink = decay + shrink_step
        if shrink > one:
            shrink = one
        if mode == _IDBD:
            b[i] = b[i] - shrink * b[i] - base_update
        trace[i] = ti - shrink * ti - decay * pi  # p before its decay
        p[i] = pi - decay * pi - base_update
    return finite


def _scalars(step: int, group: dict[str, Any], dtype: np.dtype) -> np.ndarray:
    values = [0.0] * 11
    values[_ONE] = 1.0
    values[_LR] = group["lr"]
    values[_META_LR] = group["meta_lr"]
    values[_GAMMA_MIN], values[_GAMMA_MAX] = group["log_decay_bounds"]
    if group["base"] == "adam":
        beta1, beta2 = group["betas"]
        bc1, bc2_sqrt = 1.0 - beta1**step, (1.0 - beta2**step) ** 0.5
        # as fade_kernel: alpha_eff * H = lr * bc2_sqrt * H / (sqrt(v) + eps * bc2_sqrt)
        values[_LR] = group["lr"] * bc2_sqrt
        values[_W1], values[_B2], values[_W2] = 1.0 - beta1, beta2, 1.0 - beta2
        values[_EPS] = group["eps"] * bc2_sqrt
        values[_STEP_SCALE] = group["lr"] * bc2_sqrt / bc1
    if group["idbd"]:
        idbd_meta_lr = group["idbd_meta_lr"]
        values[_IDBD_META_LR] = group["meta_lr"] if idbd_meta_lr is None else idbd_meta_lr
    return np.array(values, dtype=dtype)


def _array(t: Tensor) -> np.ndarray:
    """A flat numpy view of a contiguous CPU tensor (no copy)."""
    return t.detach().numpy().reshape(-1)


def fused_fade_kernel(lists: list[list[Tensor]], step: int, group: dict[str, Any]) -> bool:
    """:func:`~fade_rl.optim.kernels.fade_kernel`'s step in one loop per tensor; whether every
    ``H`` was finite. ``lists``: params, grads, curvatures, then the state tensors in
    :func:`~fade_rl.optim.kernels.fade_state_keys` order (see
    :func:`~fade_rl.optim.kernels.supports_fused`)."""
    mode = _ADAM if group["base"] == "adam" else _IDBD if group["idbd"] else _SGD
    scalars = _scalars(step, group, _array(lists[0][0]).dtype)
    finite = True
    for tensors in zip(*lists, strict=True):
        arrays = [_array(t) for t in tensors]
        if mode == _SGD:
            arrays += [arrays[0][:0], arrays[0][:0]]  # unused
        finite &= _fade_loop(mode, *arrays, scalars)  # type: ignore[call-arg]
    # written through numpy: tell autograd, as an in-place torch op would (a graph that saved
    # a parameter then refuses a backward pass through it instead of using the new values)
    torch.autograd.graph.increment_version(
        [t for tensors in (lists[0], *lists[3:]) for t in tensors]
    )
    return finite
