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

from typing import Any

import torch as th

META = th.device("meta")


def model_to_meta(model: Any) -> Any:
    """Move an SB3 off-policy model's networks, replay buffer and optimizers to ``meta``.

    Optimizer state is dropped (it is re-created lazily on the new device at the next step);
    SAC's entropy coefficient and its optimizer are moved too. Returns ``model``.
    """
    model.policy.to(META)
    model.device = META
    if getattr(model, "replay_buffer", None) is not None:
        model.replay_buffer.device = META
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
