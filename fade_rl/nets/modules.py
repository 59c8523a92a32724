"""Re-initializing modules: the one place that knows how a network is drawn afresh.

SB3's off-policy networks use PyTorch's default initialization, which every module's
``reset_parameters()`` restores. Resets, shrink & perturb, ReDo and the plasticity probe
all draw fresh weights through here.

Example:
    >>> import torch
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    >>> a, b = fresh_copy(net, seed=3), fresh_copy(net, seed=3)
    >>> torch.equal(a[0].weight, b[0].weight), torch.equal(a[0].weight, net[0].weight)
    (True, False)
"""

from __future__ import annotations

import copy

import torch as th
from torch import nn

__all__ = ["fresh_copy", "reinitialize_", "rng_devices"]


def reinitialize_(module: nn.Module) -> None:
    """Call ``reset_parameters()`` of every submodule of ``module`` (in place)."""
    with th.no_grad():
        for sub in module.modules():
            reset = getattr(sub, "reset_parameters", None)
            if callable(reset):
                reset()


def rng_devices(module: nn.Module) -> list[int]:
    """The CUDA device indices of ``module``'s parameters: what ``fork_rng`` must fork."""
    return sorted({p.device.index or 0 for p in module.parameters() if p.device.type == "cuda"})


def fresh_copy(module: nn.Module, seed: int | None = None) -> nn.Module:
    """A deep copy of ``module`` with every submodule re-initialized (:func:`reinitialize_`).

    With ``seed``, the draws come from torch's generators forked and seeded with it (those
    of the module's devices included), so the caller's random streams are left as they
    were and equal seeds give equal copies. Without, they come from the global generators.
    """
    fresh = copy.deepcopy(module)
    if seed is None:
        reinitialize_(fresh)
        return fresh
    devices = rng_devices(module)
    with th.random.fork_rng(devices=devices):
        th.random.default_generator.manual_seed(seed)
        for index in devices:  # only the forked ones: th.manual_seed would seed every GPU
            th.cuda.default_generators[index].manual_seed(seed)
        reinitialize_(fresh)
    return fresh
