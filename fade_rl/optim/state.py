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

__all__ = ["FiniteNote", "step_counts_to_cpu"]


class FiniteNote:
    """Whether every curvature a step took was finite: one device bool per device.

    :meth:`add` ands ``isfinite(H).all()`` into the flag of ``H``'s device (no host
    read); :meth:`all_finite` reads the flags and the probes of packed groups (one host
    read per device).
    """

    def __init__(self) -> None:
        self.flags: dict[torch.device, Tensor] = {}

    def add(self, curvatures: Iterable[Tensor]) -> None:
        """Note whether these tensors are finite (on their devices, without a host read)."""
        for h in curvatures:
            finite = torch.isfinite(h).all()
            flag = self.flags.get(h.device)
            self.flags[h.device] = finite if flag is None else flag.logical_and_(finite)

    def all_finite(self, probes: Iterable[Tensor]) -> bool:
        """Read the flags, and ``probes`` (stay finite while their curvature is): a host read."""
        flags = dict(self.flags)
        for probe in probes:
            seen = torch.isfinite(probe).all()
            flags[seen.device] = seen if seen.device not in flags else flags[seen.device] & seen
        return all(bool(flag) for flag in flags.values())


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
