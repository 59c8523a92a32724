"""Fixed, decoupled weight decay (as AdamW) on the critic head or the whole critic."""

from __future__ import annotations

from typing import Any, Literal

import torch as th
from pydantic import Field
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from torch.utils.hooks import RemovableHandle

from fade_rl.algos import (
    check_choice,
    check_model,
    check_nonnegative,
    optimizers_of,
    target_parameters,
)
from fade_rl.methods.hooks import HookCallback
from fade_rl.methods.spec import MethodParams, MethodSpec, TuningGrid

__all__ = ["SPEC", "WdParams", "WeightDecayCallback", "add_weight_decay"]

_TARGETS = ("head", "critic")


def add_weight_decay(
    model: BaseAlgorithm, weight_decay: float, target: str = "head"
) -> list[RemovableHandle]:
    """Decay the chosen critic parameters before every step of their optimizer, as AdamW does.

    Each step of the optimizer that holds a parameter ``p`` first applies
    ``p <- (1 - lr * weight_decay) * p``, with ``lr`` read from ``p``'s parameter
    group at that moment (so SB3's learning-rate schedule applies), then the
    optimizer's own step. The base optimizer stays as it is (no coupled L2).

    Args:
        model: an SB3 DQN, SAC, TD3 or PPO (or a FADE version).
        weight_decay: the decoupled decay coefficient (AdamW's ``weight_decay``), >= 0.
        target: ``"head"`` (the critics' final linear layers; PPO's ``value_net``) or
            ``"critic"`` (every parameter the critic loss trains; on PPO the value side of
            the policy, whose actor PPO's one optimizer steps undecayed).

    Returns:
        The optimizer hook handles; ``handle.remove()`` stops the decay. Hooks do
        not survive save/load: use :class:`WeightDecayCallback` with ``learn``.

    Example:
        >>> from stable_baselines3 import DQN
        >>> model = DQN("MlpPolicy", "CartPole-v1", learning_starts=50)
        >>> handles = add_weight_decay(model, 0.1, target="head")
        >>> _ = model.learn(100)
        >>> for handle in handles:
        ...     handle.remove()
    """
    model = check_model(model, "add_weight_decay")
    weight_decay = check_nonnegative("weight_decay", weight_decay)
    check_choice("target", target, _TARGETS)
    params = target_parameters(model, target)
    handles = []
    for optimizer in optimizers_of(model):
        chosen_ids = {id(p) for p in params}
        groups = [
            (group, [p for p in group["params"] if id(p) in chosen_ids])
            for group in optimizer.param_groups
        ]
        groups = [(group, ps) for group, ps in groups if ps]
        if not groups:
            continue

        def decay(opt: th.optim.Optimizer, args: Any, kwargs: Any, groups: Any = groups) -> None:
            with th.no_grad():
                for group, ps in groups:
                    th._foreach_mul_(ps, 1.0 - group["lr"] * weight_decay)

        handles.append(optimizer.register_step_pre_hook(decay))
    return handles


class WeightDecayCallback(HookCallback):
    """SB3 callback: fixed decoupled weight decay (see :func:`add_weight_decay`) during ``learn``.

    Args:
        weight_decay: AdamW's decoupled decay coefficient, >= 0.
        target: ``"head"`` or ``"critic"``.

    Example:
        >>> from stable_baselines3 import PPO, SAC
        >>> model = SAC("MlpPolicy", "Pendulum-v1", learning_starts=50, batch_size=32)
        >>> _ = model.learn(100, callback=WeightDecayCallback(1e-2, target="critic"))
        >>> model = PPO("MlpPolicy", "CartPole-v1", n_steps=64, batch_size=32)
        >>> _ = model.learn(64, callback=WeightDecayCallback(1e-2, target="critic"))  # value side
    """

    def __init__(self, weight_decay: float, target: str = "head", verbose: int = 0) -> None:
        super().__init__(verbose)
        self.weight_decay = check_nonnegative("weight_decay", weight_decay)
        self.target = check_choice("target", target, _TARGETS)

    def _install(self) -> list[RemovableHandle]:
        return add_weight_decay(self.model, self.weight_decay, self.target)


# ---------------------------------------------------------------------------- the method
class WdParams(MethodParams):
    """Fixed decoupled weight decay (AdamW-style) on the head or the whole critic.

    Example:
        >>> WdParams()
        WdParams(weight_decay=0.01, target='head')
        >>> WdParams(weight_decay=-0.1)
        Traceback (most recent call last):
        ...
        pydantic_core._pydantic_core.ValidationError: 1 validation error for WdParams
        weight_decay
          Input should be greater than or equal to 0 ...
    """

    weight_decay: float = Field(default=1e-2, ge=0)
    target: Literal["head", "critic"] = "head"

    def callbacks(self) -> list[BaseCallback]:
        return [WeightDecayCallback(self.weight_decay, target=self.target)]


SPEC = MethodSpec(
    "wd",
    "fixed weight decay",
    TuningGrid("methods.wd.weight_decay", (0.001, 0.01, 0.1)),
    WdParams,
)
