"""FADE's step on a group of small tensors as one flat tensor: few ops instead of many tiny ones.

A network head is a handful of small tensors (a ``(K, d)`` weight and a ``(K,)`` bias). On
the CPU each ``torch._foreach_*`` op loops over them one at a time, so every op of FADE's
step costs a fixed dispatch per tensor. :class:`PackedGroup` keeps a FADE group's state
entries (``log_decay``, ``decay_trace``, Adam's moments, ...) as views into one flat buffer
per entry, packs the parameters, gradients and curvatures into flat buffers (one ``cat``
each), runs :func:`~fade_rl.optim.kernels.fade_kernel` once on the flat tensors and copies
the parameters back: the same arithmetic, element for element, as the per-tensor step.

The optimizer state stays what it was to every reader: ``state[p][key]`` is a tensor of
``p``'s shape (a view), saved and loaded as any other. A state entry replaced from outside
(``load_state_dict``, a test writing ``state[p]["log_decay"] = ...``) is noticed by
identity and the pack is rebuilt from the current values.

Each step also adds ``0 * H`` into a probe of the packed size: it stays zero while every
curvature is finite and turns NaN for good at the first NaN or infinity, without a
reduction or a host read in the step (:class:`fade_rl.optim.state.FiniteNote` reads it).

Example:
    >>> import torch
    >>> p = torch.nn.Parameter(torch.ones(2, 3)); q = torch.nn.Parameter(torch.ones(2))
    >>> states = [{"log_decay": torch.zeros(2, 3)}, {"log_decay": torch.ones(2)}]
    >>> pack = PackedGroup([p, q], states, ["log_decay"])
    >>> pack.flat["log_decay"].tolist()
    [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0]
    >>> pack.matches([p, q], states)
    True
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch._C._nn import flatten_dense_tensors, unflatten_dense_tensors

from fade_rl.optim.kernels import fade_kernel

__all__ = ["PACK_LIMIT", "PackedGroup"]

#: Groups up to this many elements in all are packed; larger tensors are worth their own
#: kernels (and are stepped in chunks, see :func:`fade_rl.optim.kernels.multi_tensor_fade`).
PACK_LIMIT = 1 << 16


class PackedGroup:
    """The flat buffers of one FADE group's small tensors (see the module docstring).

    Args:
        params: the group's parameters that step together (same device and dtype).
        states: their state dicts, with every entry in ``keys`` present; the entries
            are replaced by views into the new flat buffers (same values).
        keys: the state entries the kernel updates, in the kernel's order.

    Example:
        >>> p = torch.nn.Parameter(torch.zeros(2, 2)); q = torch.nn.Parameter(torch.zeros(2))
        >>> states = [{"exp_avg": torch.full((2, 2), 0.5)}, {"exp_avg": torch.ones(2)}]
        >>> pack = PackedGroup([p, q], states, ["exp_avg"])
        >>> pack.sizes, pack.flat["exp_avg"].tolist()
        ([4, 2], [0.5, 0.5, 0.5, 0.5, 1.0, 1.0])
        >>> _ = pack.flat["exp_avg"].mul_(2)  # the state entries are views of the flat buffer
        >>> states[1]["exp_avg"].tolist()
        [2.0, 2.0]
    """

    def __init__(self, params: list[Tensor], states: list[dict[str, Any]], keys: list[str]):
        self.params = list(params)
        self.keys = list(keys)
        self.sizes = [p.numel() for p in params]
        self.flat: dict[str, Tensor] = {}
        self.views: dict[str, list[Tensor]] = {}
        for key in keys:
            flat = torch.cat([s[key].detach().reshape(-1) for s in states])
            views = [v.view_as(p) for v, p in zip(flat.split(self.sizes), params, strict=True)]
            for state, view in zip(states, views, strict=True):
                state[key] = view
            self.flat[key], self.views[key] = flat, views
        self.probe = params[0].new_zeros(sum(self.sizes))

    def matches(self, params: list[Tensor], states: list[dict[str, Any]]) -> bool:
        """Whether this pack still holds exactly these parameters and their state entries."""
        if len(params) != len(self.params):
            return False
        for p, mine in zip(params, self.params, strict=True):
            if p is not mine:
                return False
        for key, views in self.views.items():
            for state, view in zip(states, views, strict=True):
                if state.get(key) is not view:
                    return False
        return True

    def step(
        self, grads: list[Tensor], curvatures: list[Tensor], step: int, group: dict[str, Any]
    ) -> None:
        """One FADE step of the packed parameters (no host read)."""
        # one C++ call each: flatten and concatenate (a copy), in the parameters' order
        param_flat = flatten_dense_tensors(self.params)
        curvature_flat = flatten_dense_tensors(curvatures)
        self.probe.add_(curvature_flat, alpha=0.0)  # NaN for good at a non-finite H
        lists = [[param_flat], [flatten_dense_tensors(grads)], [curvature_flat]]
        lists += [[self.flat[key]] for key in self.keys]
        fade_kernel(lists, step, group)
        torch._foreach_copy_(self.params, unflatten_dense_tensors(param_flat, self.params))
