"""Which modules and parameters an intervention acts on, and the target networks that follow.

``"head"``: the critics' final linear layers; ``"critic"``: every module the critic loss
trains (DQN: the Q network; SAC/TD3: both critics, and the critic's features extractor
unless it is shared with the actor); ``"all"``: the critic and the actor.

Example:
    >>> from stable_baselines3 import DQN
    >>> model = DQN("MlpPolicy", "CartPole-v1")
    >>> len(target_parameters(model, "head")), len(target_pairs(model))
    (2, 1)
"""

from __future__ import annotations

from torch import nn

from fade_rl.algos.critics import critic_heads
from fade_rl.algos.registry import SupportedModel, family_of
from fade_rl.nets.heads import head_parameters

__all__ = ["TARGETS", "target_modules", "target_pairs", "target_parameters"]

#: The parts an intervention can act on.
TARGETS = ("head", "critic", "all")


def target_modules(model: SupportedModel, target: str) -> list[nn.Module]:
    """The online modules of ``target`` (see the module doc)."""
    if target == "head":
        return list(critic_heads(model).values())
    return family_of(model, "target_modules").trained_modules(model, target)


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
    return family_of(model, "target_pairs").target_pairs(model)
