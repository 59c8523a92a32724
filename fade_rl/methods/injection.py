"""Plasticity injection (Nikishin et al. 2023): a fresh critic head added beside the frozen old one.

At injection each critic head ``W_old`` (the final linear layer) is frozen and a
fresh head ``W_new`` (a new draw of the layer's initialization) is added, minus a
frozen copy of itself::

    q(phi) = W_old phi + W_new phi - W_new0 phi

so the output is unchanged at the moment of injection, and from then on only
``W_new`` is trained. The two frozen terms are kept as one frozen offset
``W_old - W_new0`` (a buffer, not a parameter), so the head still is one linear
map of its input features: FADE's curvature ``c^T phi^2`` stays exact for it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, cast

import torch as th
from pydantic import Field, field_validator, model_validator
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from torch import nn
from torch.nn import functional as F

from fade_rl.algos import (
    SupportedModel,
    check_model,
    family_of,
    optimizers_of,
)
from fade_rl.methods.spec import SHIFT_KEY, TAG, MethodParams, MethodSpec, TuningGrid

__all__ = ["SPEC", "InjectedHead", "InjectionCallback", "InjectionParams", "inject_plasticity"]


class InjectedHead(nn.Linear):
    """A fresh trainable linear head plus a frozen offset: ``y = (W + W_f) x + (b + b_f)``.

    ``weight``/``bias`` are the fresh (trainable) head; the buffers
    ``frozen_weight``/``frozen_bias`` hold the old head minus the fresh head's
    initial copy, so that the output equals the old head's at construction.

    Args:
        old: the head to freeze (an ``nn.Linear``, possibly an earlier InjectedHead).

    Example:
        >>> import torch
        >>> old = torch.nn.Linear(3, 2)
        >>> new = InjectedHead(old)
        >>> x = torch.randn(4, 3)
        >>> bool(torch.allclose(new(x), old(x), atol=1e-6))
        True
        >>> [name for name, _ in new.named_parameters()]
        ['weight', 'bias']
    """

    frozen_weight: th.Tensor
    frozen_bias: th.Tensor | None

    def __init__(self, old: nn.Linear) -> None:
        w = old.weight
        super().__init__(
            old.in_features,
            old.out_features,
            bias=old.bias is not None,
            device=w.device,
            dtype=w.dtype,
        )
        old_weight, old_bias = _effective(old)
        with th.no_grad():
            self.register_buffer("frozen_weight", old_weight - self.weight)
            frozen_bias = None
            if old_bias is not None:
                assert self.bias is not None
                frozen_bias = old_bias - self.bias
            self.register_buffer("frozen_bias", frozen_bias)

    def forward(self, x: th.Tensor) -> th.Tensor:
        bias = None
        if self.bias is not None:
            assert self.frozen_bias is not None
            bias = self.bias + self.frozen_bias
        return F.linear(x, self.weight + self.frozen_weight, bias)


def _effective(head: nn.Linear) -> tuple[th.Tensor, th.Tensor | None]:
    """The weight and bias a linear head applies (offset included for an InjectedHead)."""
    weight = head.weight.detach()
    bias = None if head.bias is None else head.bias.detach()
    if isinstance(head, InjectedHead):
        weight = weight + head.frozen_weight
        if bias is not None:
            assert head.frozen_bias is not None
            bias = bias + head.frozen_bias
    return weight, bias


def _last_holder(net: nn.Module) -> nn.Sequential:
    """The (possibly nested) ``nn.Sequential`` whose last module is the head."""
    while isinstance(net, nn.Sequential) and len(net) and isinstance(net[-1], nn.Sequential):
        net = net[-1]
    if not isinstance(net, nn.Sequential) or not len(net) or not isinstance(net[-1], nn.Linear):
        raise TypeError(
            f"injection needs critic networks that are nn.Sequential ending in nn.Linear, got "
            f"{type(net).__name__}; use SB3's MLP critics (net_arch)"
        )
    return net


def _head_holders(model: SupportedModel) -> list[tuple[str, nn.Sequential, nn.Sequential | None]]:
    """``(name, the Sequential holding the online head, the target's or None)`` per critic.

    Raises:
        ValueError: a head that is not the last module of one of the model's networks (PPO's
            ``value_net``, an attribute of the policy): an injected head could not take its
            place. Nothing is changed.
    """
    family = family_of(model, "inject_plasticity")
    online, target = family.critic_q_nets(model), family.critic_target_nets(model)
    modules = {id(module) for module in model.policy.modules()}
    holders = []
    for name, net in online.items():
        holder = _last_holder(net)
        if id(holder) not in modules:
            raise ValueError(
                f"plasticity injection does not work on {family.sb3_class.__name__}: its critic "
                f"head {name!r} is not the last module of one of the model's networks, so no "
                "injected head can take its place; use another method there (reset with "
                "target head, redo, cbp, ...) or a DQN, SAC or TD3"
            )
        holders.append((name, holder, _last_holder(target[name]) if name in target else None))
    return holders


def _swap_in_optimizers(
    model: SupportedModel, old: Iterable[nn.Parameter], new: Iterable[nn.Parameter]
) -> None:
    """Put ``new`` where ``old`` sits in its optimizer's group, and drop ``old``'s state."""
    for old_p, new_p in zip(old, new, strict=True):
        found = False
        for optimizer in optimizers_of(model):
            for group in optimizer.param_groups:
                for index, p in enumerate(group["params"]):
                    if p is old_p:
                        group["params"][index] = new_p
                        optimizer.state.pop(old_p, None)
                        found = True
        if not found:
            raise ValueError(
                "injection: a critic head parameter is in none of the model's optimizers; the "
                "fresh head could not join the optimizer (was the head frozen before?)"
            )


def inject_plasticity(model: BaseAlgorithm) -> list[str]:
    """Freeze every critic head and add a fresh one minus its frozen copy (Nikishin et al. 2023).

    For each critic (DQN's Q network; SAC's/TD3's twin critics) the final linear
    layer is replaced by an :class:`InjectedHead`: the output is unchanged, the
    old head's parameters leave the optimizer (they are frozen), the fresh head's
    parameters take their place in the same parameter group (for FADE models:
    FADE's head group, with fresh state: decay rates at ``init_decay``), and
    FADE's record of the heads is updated. The target critics get the same
    structure with the same values (synced to the online head at injection);
    their usual updates (hard copy or Polyak) then follow the fresh head. The
    actor is left alone.

    Args:
        model: an SB3 DQN, SAC or TD3 (or a FADE version) with MLP critics.

    Returns:
        The names of the critics injected (``["q_net"]``, ``["qf0", "qf1"]``).

    Raises:
        ValueError: on PPO, whose value head (``policy.value_net``) is an attribute of the
            policy, not the last module of a network (injection is not implemented there).

    Example:
        >>> from stable_baselines3 import DQN
        >>> model = DQN("MlpPolicy", "CartPole-v1")
        >>> inject_plasticity(model)
        ['q_net']
        >>> type(model.q_net.q_net[-1]).__name__
        'InjectedHead'
    """
    model = check_model(model, "inject_plasticity")
    names = []
    for name, holder, target_holder in _head_holders(model):
        old = cast(nn.Linear, holder[-1])
        new = InjectedHead(old)
        holder[-1] = new
        if target_holder is not None:
            target_holder[-1] = copy.deepcopy(new)
        _swap_in_optimizers(model, [p for p in old.parameters()], [p for p in new.parameters()])
        for p in old.parameters():
            p.requires_grad_(False)
        parts = getattr(model, "_fade_parts", None)
        if parts is not None and name in parts:
            parts[name] = (parts[name][0], new)
        names.append(name)
    return names


class InjectionCallback(BaseCallback):
    """SB3 callback: :func:`inject_plasticity` when ``num_timesteps`` reaches each of ``at_steps``.

    Args:
        at_steps: the environment steps at which to inject (positive ints; each
            counted once, also across resumed runs via ``n_injections``).
        shift_info_key: inject too on a step where any environment's ``info``
            has a true value under this key.

    Example:
        >>> from stable_baselines3 import DQN
        >>> model = DQN("MlpPolicy", "CartPole-v1", learning_starts=50)
        >>> callback = InjectionCallback(at_steps=[100])
        >>> _ = model.learn(200, callback=callback)
        >>> callback.n_injections
        1
    """

    def __init__(
        self,
        at_steps: Iterable[int] = (),
        shift_info_key: str | None = None,
        verbose: int = 0,
    ) -> None:
        super().__init__(verbose)
        steps = list(at_steps)
        for step in steps:
            if isinstance(step, bool) or not isinstance(step, int) or step < 1:
                raise ValueError(f"at_steps must hold positive ints, got {step!r}")
        if shift_info_key is not None and (
            not isinstance(shift_info_key, str) or not shift_info_key
        ):
            raise ValueError(
                f"shift_info_key must be a non-empty str or None, got {shift_info_key!r}"
            )
        if not steps and shift_info_key is None:
            raise ValueError(
                "InjectionCallback needs at_steps=[...] (inject at those steps) and/or "
                "shift_info_key=... (inject when the environment reports a shift in info)"
            )
        self.at_steps = sorted(set(steps))
        self.shift_info_key = shift_info_key
        self.n_injections = 0
        self.injected_at: list[int] = []

    def _init_callback(self) -> None:
        _head_holders(check_model(self.model, "InjectionCallback"))  # PPO: refused at once

    def _on_step(self) -> bool:
        due = any(s <= self.num_timesteps and s not in self.injected_at for s in self.at_steps)
        if due:
            self.injected_at.extend(
                s for s in self.at_steps if s <= self.num_timesteps and s not in self.injected_at
            )
        if self.shift_info_key is not None:
            infos: Any = self.locals.get("infos", ())
            due = due or any(bool(info.get(self.shift_info_key, False)) for info in infos)
        if due:
            inject_plasticity(self.model)
            self.n_injections += 1
            self.logger.record(f"{TAG}/n_injections", self.n_injections)
            if self.verbose:
                print(f"InjectionCallback: injected at step {self.num_timesteps}")
        return True

    def state(self) -> dict[str, Any]:
        """What a checkpoint keeps (JSON-able): the steps already injected at."""
        return {"injected_at": list(self.injected_at)}


# ---------------------------------------------------------------------------- the method
class InjectionParams(MethodParams):
    """Plasticity injection (Nikishin et al. 2023) at ``at_steps`` and/or at each shift.

    The paper injects once, mid-training, or at each task switch; the default injects at
    every environment shift.

    Example:
        >>> InjectionParams()
        InjectionParams(at_steps=[], at_shift=True)
        >>> InjectionParams(at_steps=[50000], at_shift=False).at_steps
        [50000]
        >>> InjectionParams(at_shift=False)
        Traceback (most recent call last):
        ...
        pydantic_core._pydantic_core.ValidationError: 1 validation error for InjectionParams
          Value error, set at_steps: [steps] and/or at_shift: true ...
    """

    counters: ClassVar[tuple[str, ...]] = ("n_injections",)

    at_steps: list[int] = Field(default_factory=list)
    at_shift: bool = True

    @field_validator("at_steps")
    @classmethod
    def _positive(cls, value: list[int]) -> list[int]:
        bad = [s for s in value if s < 1]
        if bad:
            raise ValueError(f"steps must be >= 1, got {bad[0]}")
        return value

    @model_validator(mode="after")
    def _some_trigger(self) -> InjectionParams:
        if not self.at_steps and not self.at_shift:
            raise ValueError("set at_steps: [steps] and/or at_shift: true")
        return self

    def callbacks(self) -> list[BaseCallback]:
        return [InjectionCallback(self.at_steps, SHIFT_KEY if self.at_shift else None)]


def _cannot_resume(counters: Mapping[str, Any]) -> str | None:
    """An injected model cannot resume: SB3's load rebuilds plain heads."""
    n = counters.get("n_injections")
    if not n:
        return None
    return f"the model was plasticity-injected ({n} times; SB3's load rebuilds plain heads)"


SPEC = MethodSpec(
    "injection",
    "plasticity injection",
    TuningGrid("learning_rate", ("x0.5", "x1", "x2")),
    InjectionParams,
    cannot_resume=_cannot_resume,
)
