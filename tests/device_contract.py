"""The device contract, checked on a machine without a GPU.

PyTorch's ``meta`` device stands in for CUDA: a meta tensor has a shape, a dtype and a
device but no data. Everything a GPU would reject fails on it loudly, on CPU-only CI:

* reading a value on the host (``.item()``, ``float(t)``, ``bool(t)``, ``.cpu()``,
  ``.numpy()``, ``.tolist()``) raises, as a host sync would stall a GPU;
* mixing in a tensor made without ``device=`` (a CPU tensor) raises
  "Tensor on device cpu is not on the expected device meta!", as CUDA raises on a mix.

Tests move a model (or tensors) to ``meta`` with :func:`model_to_meta` and run the hot path.

Example::

    model = DQN("MlpPolicy", "CartPole-v1", learning_starts=0)
    model.learn(64)                 # fill the replay buffer on CPU
    model_to_meta(model)
    model.train(gradient_steps=2, batch_size=8)   # raises on any sync or CPU tensor
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch as th

META = th.device("meta")


@contextlib.contextmanager
def parameters_kept() -> Iterator[None]:
    """Within the block, ``Module.to("meta")`` keeps each Parameter object (as CUDA does).

    :func:`model_to_meta` moves models inside it; use it also around code that moves a model
    itself (e.g. ``Algorithm.load(..., device="meta")``).
    """
    previous = th.__future__.get_swap_module_params_on_conversion()
    th.__future__.set_swap_module_params_on_conversion(True)
    try:
        yield
    finally:
        th.__future__.set_swap_module_params_on_conversion(previous)


def model_to_meta(model: Any) -> Any:
    """Move an SB3 model's networks, replay or rollout buffer and optimizers to ``meta``.

    The move keeps each ``nn.Parameter`` object, as ``.to("cuda")`` does (torch otherwise
    makes new Parameters when the storage type changes, cpu -> meta, a difference of the
    stand-in, not of CUDA): it runs with ``torch.__future__``'s swap-on-conversion on, so the
    optimizers, hooks and methods holding the parameters keep holding them. This is the
    one way the tests move a model. Optimizer state is dropped (it is re-created lazily on the
    new device at the next step); SAC's entropy coefficient and its optimizer are moved too.
    Returns ``model``.
    """
    with parameters_kept():
        model.policy.to(META)
    model.device = META
    for name in ("replay_buffer", "rollout_buffer"):  # off-policy; on-policy (PPO)
        if getattr(model, name, None) is not None:
            getattr(model, name).device = META
    log_ent_coef = getattr(model, "log_ent_coef", None)
    if isinstance(log_ent_coef, th.Tensor):
        moved = log_ent_coef.detach().to(META).requires_grad_(True)
        model.log_ent_coef = moved
        optimizer = model.ent_coef_optimizer
        optimizer.param_groups[0]["params"] = [moved]
    elif isinstance(getattr(model, "ent_coef_tensor", None), th.Tensor):
        model.ent_coef_tensor = model.ent_coef_tensor.to(META)
    for optimizer in _optimizers(model):
        optimizer.state.clear()
    return model


def _optimizers(model: Any) -> list[th.optim.Optimizer]:
    found = []
    for owner in (model.policy, getattr(model, "actor", None), getattr(model, "critic", None)):
        optimizer = getattr(owner, "optimizer", None)
        if isinstance(optimizer, th.optim.Optimizer) and optimizer not in found:
            found.append(optimizer)
    ent = getattr(model, "ent_coef_optimizer", None)
    if isinstance(ent, th.optim.Optimizer):
        found.append(ent)
    return found


class HostReads:
    """Stand-ins for :mod:`fade_rl.nets.readout`, the one place measured values leave the device.

    Install with :meth:`install`; every value reaching a read must then be a one-element
    ``meta`` tensor (anything else was computed off the device), each call is counted, and
    placeholders (``0.5``, an empty histogram) come back. Everything before the read runs on
    ``meta`` for real, so any other host read or CPU tensor still raises.
    """

    def __init__(self) -> None:
        self.scalar_reads = 0
        self.tags: list[str] = []

    def install(self, monkeypatch: Any) -> HostReads:
        from fade_rl.nets import readout

        monkeypatch.setattr(readout, "read_scalars", self.read_scalars)
        monkeypatch.setattr(readout, "read_histograms", self.read_histograms)
        return self

    def read_scalars(self, values: dict[str, th.Tensor]) -> dict[str, float]:
        for tag, value in values.items():
            assert isinstance(value, th.Tensor), f"{tag} is a {type(value).__name__}"
            assert value.device == META, f"{tag} was computed on {value.device}"
            assert value.numel() == 1, tag
        self.scalar_reads += 1
        self.tags += list(values)
        return {tag: 0.5 for tag in values}

    def read_histograms(self, values: dict[str, th.Tensor]) -> dict[str, th.Tensor]:
        for tag, value in values.items():
            assert value.device == META, f"histogram {tag} was computed on {value.device}"
        return {tag: th.zeros(0) for tag in values}
