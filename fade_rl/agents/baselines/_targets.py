"""Which networks, parameters and optimizers of an SB3 DQN/SAC/TD3 a baseline acts on."""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

import torch as th
from stable_baselines3 import DQN, SAC, TD3
from torch import nn

from fade_rl.agents.common import head_parameters, split_head
from fade_rl.optim import FADE

__all__ = [
    "CriticMLP",
    "SupportedModel",
    "check_choice",
    "check_model",
    "check_positive_int",
    "critic_mlps",
    "fresh_copy",
    "optimizers_of",
    "reset_optimizer_state",
    "target_modules",
    "target_pairs",
]


# The algorithms the baselines know the networks of (their FADE versions are subclasses).
SupportedModel = DQN | SAC | TD3


def check_model(model: Any, who: str) -> SupportedModel:
    """Check that ``model`` is an SB3 DQN, SAC or TD3 (FADE versions included)."""
    if not isinstance(model, (DQN, SAC, TD3)):
        raise TypeError(
            f"{who} works on SB3 DQN, SAC and TD3 models (and FadeDQN/FadeSAC/FadeTD3), "
            f"got {type(model).__name__}"
        )
    return model


def check_choice(name: str, value: Any, choices: Iterable[str]) -> str:
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


def check_positive_int(name: str, value: Any, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f"{name} must be a positive int{' or None' if allow_none else ''}, got {value!r}"
        )
    return value


def check_fraction(name: str, value: Any, low_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if not (0.0 < value <= 1.0 if low_open else 0.0 <= value <= 1.0):
        raise ValueError(f"{name} must be in {'(0, 1]' if low_open else '[0, 1]'}, got {value}")
    return float(value)


def _heads(model: SupportedModel) -> list[nn.Linear]:
    if isinstance(model, DQN):
        return [split_head(model.policy.q_net.q_net, "q_net")[1]]
    return [split_head(net, f"qf{i}")[1] for i, net in enumerate(model.critic.q_networks)]


def target_modules(model: SupportedModel, target: str) -> list[nn.Module]:
    """The online modules a baseline acts on.

    ``"head"``: the critics' final linear layers; ``"critic"``: every module the
    critic loss trains (DQN: the Q network; SAC/TD3: both critics, and the
    critic's features extractor unless it is shared with the actor); ``"all"``:
    the critic and the actor.
    """
    if target == "head":
        return list(_heads(model))
    if isinstance(model, DQN):
        return [model.policy.q_net]
    critic = model.critic
    modules: list[nn.Module] = list(critic.q_networks)
    if not critic.share_features_extractor:
        modules.append(critic.features_extractor)
    if target == "all":
        modules.append(model.actor)
    return modules


def target_parameters(model: SupportedModel, target: str) -> list[nn.Parameter]:
    """The trainable parameters of :func:`target_modules`, each once."""
    seen: set[int] = set()
    params = []
    for module in target_modules(model, target):
        candidates = (
            head_parameters(module) if isinstance(module, nn.Linear) else module.parameters()
        )
        for p in candidates:
            if p.requires_grad and id(p) not in seen:
                seen.add(id(p))
                params.append(p)
    return params


def target_pairs(model: SupportedModel) -> list[tuple[nn.Module, nn.Module]]:
    """(online, target) network pairs: DQN's Q network; SAC's critic; TD3's critic and actor."""
    if isinstance(model, DQN):
        return [(model.policy.q_net, model.policy.q_net_target)]
    pairs: list[tuple[nn.Module, nn.Module]] = [(model.critic, model.critic_target)]
    if isinstance(model, TD3):
        pairs.append((model.actor, model.actor_target))
    return pairs


def optimizers_of(model: SupportedModel) -> list[th.optim.Optimizer]:
    """The network optimizers: DQN's Q optimizer; SAC's/TD3's critic and actor optimizers."""
    if isinstance(model, DQN):
        return [model.policy.optimizer]
    return [model.critic.optimizer, model.actor.optimizer]


def reset_optimizer_state(model: SupportedModel, params: Iterable[th.Tensor]) -> None:
    """Forget the optimizer state of ``params`` (re-created fresh at the next step)."""
    ids = {id(p) for p in params}
    for optimizer in optimizers_of(model):
        for p in list(optimizer.state.keys()):
            if id(p) in ids:
                del optimizer.state[p]


def fresh_copy(module: nn.Module) -> nn.Module:
    """A copy of ``module`` with every layer re-initialized as at construction.

    SB3's off-policy networks use PyTorch's default initialization, which is
    what ``reset_parameters()`` restores.
    """
    fresh = copy.deepcopy(module)
    for sub in fresh.modules():
        reset = getattr(sub, "reset_parameters", None)
        if callable(reset):
            reset()
    return fresh


@dataclass
class CriticMLP:
    """One critic MLP: its ``nn.Sequential`` and a function giving its input for a replay batch."""

    name: str
    net: nn.Sequential
    inputs: Any


def critic_mlps(model: SupportedModel) -> list[CriticMLP]:
    """The critic MLPs of a model (DQN's ``q_net.q_net``; SAC's/TD3's ``q_networks``)."""
    if isinstance(model, DQN):
        q_net = model.policy.q_net

        def dqn_inputs(data: Any) -> th.Tensor:
            return q_net.extract_features(data.observations, q_net.features_extractor)

        return [CriticMLP("q_net", cast(nn.Sequential, q_net.q_net), dqn_inputs)]
    critic = model.critic

    def critic_inputs(data: Any) -> th.Tensor:
        features = critic.extract_features(data.observations, critic.features_extractor)
        return th.cat([features, data.actions], dim=1)

    return [
        CriticMLP(f"qf{i}", cast(nn.Sequential, net), critic_inputs)
        for i, net in enumerate(critic.q_networks)
    ]


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
