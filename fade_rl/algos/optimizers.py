"""The optimizers of a model (its family knows which) and their per-parameter state.

Example:
    >>> from stable_baselines3 import SAC
    >>> model = SAC("MlpPolicy", "Pendulum-v1")
    >>> critic_optimizer(model) is model.critic.optimizer, len(optimizers_of(model))
    (True, 2)
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch as th

from fade_rl.algos.registry import SupportedModel, family_of
from fade_rl.optim import FADE

__all__ = [
    "critic_optimizer",
    "fade_group_init_decay",
    "optimizer_state_of",
    "optimizers_of",
    "reset_optimizer_state",
    "zero_optimizer_state",
]


def critic_optimizer(model: SupportedModel) -> th.optim.Optimizer:
    """The critic(s)' optimizer: ``policy.optimizer`` (DQN) or ``critic.optimizer`` (SAC, TD3)."""
    optimizer: th.optim.Optimizer = (
        family_of(model, "critic_optimizer").critic_optimizer_owner(model).optimizer
    )
    return optimizer


def optimizers_of(model: SupportedModel) -> list[th.optim.Optimizer]:
    """The network optimizers: DQN's Q optimizer; SAC's/TD3's critic and actor optimizers."""
    return family_of(model, "optimizers_of").optimizers(model)


def reset_optimizer_state(model: SupportedModel, params: Iterable[th.Tensor]) -> None:
    """Forget the optimizer state of ``params`` (re-created fresh at the next step)."""
    ids = {id(p) for p in params}
    for optimizer in optimizers_of(model):
        for p in list(optimizer.state.keys()):
            if id(p) in ids:
                del optimizer.state[p]


def optimizer_state_of(model: SupportedModel, param: th.Tensor) -> tuple[dict[str, Any], Any]:
    """``(state, optimizer)`` of a parameter in whichever network optimizer holds it."""
    for optimizer in optimizers_of(model):
        if param in optimizer.state:
            return optimizer.state[param], optimizer
    return {}, None


def fade_group_init_decay(optimizer: Any, param: th.Tensor) -> float | None:
    """``init_decay`` of the FADE group holding ``param``, if any."""
    if not isinstance(optimizer, FADE):
        return None
    for group in optimizer.param_groups:
        if group["fade"] and any(p is param for p in group["params"]):
            return float(group["init_decay"])
    return None


#: Optimizer state tensors that are moments or traces: zeroed where a unit is re-initialized.
_ZEROED_STATE = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq", "momentum_buffer", "decay_trace")


def zero_optimizer_state(model: SupportedModel, param: th.Tensor, mask: th.Tensor) -> None:
    """Zero the moments and traces of ``param`` where ``mask`` (broadcast to it) is true.

    FADE's decay rates there go back to the group's ``init_decay``. Masks, not index lists:
    no data-dependent shapes, so no host sync on a GPU.
    """
    state, optimizer = optimizer_state_of(model, param)
    for key in _ZEROED_STATE:
        if key in state:
            state[key].masked_fill_(mask, 0.0)
    if "log_decay" in state:
        init_decay = fade_group_init_decay(optimizer, param)
        if init_decay is not None:
            state["log_decay"].masked_fill_(mask, math.log(init_decay))
