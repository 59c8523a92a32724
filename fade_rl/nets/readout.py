"""The one place where measured values leave the device: a batched read to the host.

Metrics, probes and methods compute on the device of the model they are given and
keep every value as a tensor there. Logging needs Python floats, so each measurement
reads all of its values at once, here: one ``.tolist()`` of the stacked scalars per device
(a single host synchronisation on a GPU) and one copy per histogram. Nothing else in the
hot path reads a tensor on the host, which the device tests check by running everything
on PyTorch's ``meta`` device with this function replaced (see ``tests/device_contract.py``).

Example:
    >>> import torch
    >>> read_scalars({"a": torch.tensor(1.5), "b": torch.tensor(2, dtype=torch.int64)})
    {'a': 1.5, 'b': 2.0}
"""

from __future__ import annotations

from collections.abc import Mapping

import torch as th

__all__ = ["read_histograms", "read_scalars"]


def read_scalars(values: Mapping[str, th.Tensor]) -> dict[str, float]:
    """``{tag: float}`` from ``{tag: one-element tensor}``, one host read per device.

    Raises:
        ValueError: if a value has more than one element.
    """
    by_device: dict[th.device, list[str]] = {}
    for tag, value in values.items():
        if value.numel() != 1:
            raise ValueError(
                f"read_scalars: {tag!r} has shape {tuple(value.shape)}; a scalar tag needs a "
                "one-element tensor (reduce it first, e.g. .mean())"
            )
        by_device.setdefault(value.device, []).append(tag)
    out: dict[str, float] = {}
    for tags in by_device.values():
        stacked = th.stack([values[t].detach().reshape(()).to(th.float64) for t in tags])
        out.update(zip(tags, stacked.tolist(), strict=True))
    return {tag: out[tag] for tag in values}


def read_histograms(values: Mapping[str, th.Tensor]) -> dict[str, th.Tensor]:
    """``{tag: flat float32 CPU tensor}`` for TensorBoard histograms."""
    return {tag: v.detach().flatten().to("cpu", th.float32) for tag, v in values.items()}
