"""Housekeeping of an optimizer's state: step counts back on the CPU, the note of bad curvature.

Example:
    >>> import torch
    >>> note = FiniteNote()
    >>> note.add([torch.tensor([1.0, float("nan")])])
    >>> note.all_finite([])
    False
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import Tensor
from torch.optim import Optimizer

__all__ = ["FiniteNote", "NonFiniteCurvatureError", "step_counts_to_cpu"]


class NonFiniteCurvatureError(ValueError):
    """A NaN or infinite curvature reached a FADE step (raised at the next host read).

    Example:
        >>> from fade_rl.optim import FADE
        >>> head = torch.nn.Linear(2, 1)
        >>> opt = FADE([{"params": head.parameters(), "fade": True}], lr=0.1)
        >>> head(torch.ones(1, 2)).sum().backward()
        >>> opt.set_curvature(head.weight, torch.full((1, 2), float("nan")))
        >>> opt.set_curvature(head.bias, torch.ones(1))
        >>> opt.step()  # no host read here: the step only notes it on the device
        >>> opt.decay_rates(head.weight)
        Traceback (most recent call last):
        ...
        fade_rl.optim.state.NonFiniteCurvatureError: FADE: a NaN or infinite curvature ...
    """


class FiniteNote:
    """Whether every curvature a step took was finite: one device scalar per device.

    :meth:`add` adds ``0 * sum(H)`` into the scalar of ``H``'s device: it stays 0 while
    every curvature is finite and turns NaN for good at the first NaN or infinity (a
    sum over the tensor, one pass without a temporary: ``isfinite(H).all()`` cost half
    of FADE's step on a 4096x4096 head). A finite curvature whose sum overflows float32
    (elements near 1e38) would read as non-finite too. :meth:`all_finite` reads the
    scalars and the probes of packed groups (one host read per device).

    Example:
        >>> note = FiniteNote()
        >>> note.add([torch.ones(3)]); note.all_finite([])
        True
        >>> note.add([torch.tensor([1.0, float("inf")])]); note.all_finite([])
        False
    """

    def __init__(self) -> None:
        self.flags: dict[torch.device, Tensor] = {}

    def add(self, curvatures: Iterable[Tensor]) -> None:
        """Note whether these tensors are finite (on their devices, without a host read)."""
        for h in curvatures:
            flag = self.flags.get(h.device)
            if flag is None:
                flag = self.flags[h.device] = torch.zeros((), device=h.device)
            flag.add_(h.sum(dtype=torch.float32), alpha=0.0)

    def all_finite(self, probes: Iterable[Tensor]) -> bool:
        """Read the scalars, and ``probes`` (zero while their curvature is finite): a host read."""
        seen: dict[torch.device, Tensor] = {}
        for value in [*self.flags.values(), *probes]:
            finite = torch.isfinite(value).all()
            seen[finite.device] = finite & seen[finite.device] if finite.device in seen else finite
        return all(bool(flag) for flag in seen.values())


def step_counts_to_cpu(optimizer: Optimizer, groups: list[dict[str, Any]] | None = None) -> None:
    """Move tensor ``state["step"]`` counts back to the CPU where torch keeps them.

    ``torch.load(map_location="cuda")`` puts an optimizer's step counts on the GPU;
    a non-capturable, non-fused torch optimizer (Adam's default) then reads them on
    the host at every step (a sync). Groups with ``capturable`` or ``fused`` keep
    theirs. The move reads each count once. A ``meta`` count has no value to move:
    it restarts at 0.

    Args:
        optimizer: any torch optimizer.
        groups: the groups to fix (default: all of ``optimizer.param_groups``).
    """
    for group in optimizer.param_groups if groups is None else groups:
        if group.get("capturable") or group.get("fused"):
            continue
        for p in group["params"]:
            step = optimizer.state.get(p, {}).get("step")
            if isinstance(step, Tensor) and step.device.type != "cpu":
                on_meta = step.device.type == "meta"
                optimizer.state[p]["step"] = (
                    torch.zeros((), dtype=step.dtype) if on_meta else step.to("cpu")
                )
