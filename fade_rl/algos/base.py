"""What every algorithm family class shares, whatever its batches: its FADE class and SB3 class.

Example:
    >>> from fade_rl.algos import FAMILIES
    >>> [isinstance(family, FamilyBase) for family in FAMILIES.values()]
    [True, True, True, True]
"""

from __future__ import annotations

from typing import Any

import torch as th

from fade_rl.optim import grad_clip_factor

__all__ = ["FamilyBase", "model_buffer"]


def model_buffer(model: Any, attribute: str, who: str, remedy: str) -> Any:
    """``model.<attribute>`` (its replay or rollout buffer), or a ValueError naming the fix.

    Example:
        >>> model_buffer(object(), "replay_buffer", "train()", "Create it normally.")
        Traceback (most recent call last):
        ...
        ValueError: the object model has no replay buffer; train() samples its batches from it. ...
    """
    buffer = getattr(model, attribute, None)
    if buffer is None:
        raise ValueError(
            f"the {type(model).__name__} model has no {attribute.replace('_', ' ')}; {who} "
            f"samples its batches from it. {remedy}"
        )
    return buffer


class FamilyBase:
    """The base of the family classes: the FADE version, ``owns``, the clipping factor, and
    SB3's most common optimizer layout (one optimizer of the policy; SAC and TD3 override it).

    Subclasses set the class attributes ``name``, ``sb3_class``, ``policy_class`` and
    ``critic_arch_policy`` and implement the rest of
    :class:`~fade_rl.algos.AlgorithmFamily`.

    Args:
        fade_class: the algorithm's FADE version (FadeDQN, ...).

    Example:
        >>> from stable_baselines3 import PPO, SAC
        >>> from fade_rl.algos import FAMILIES
        >>> family = FAMILIES["ppo"]
        >>> family, family.owns(PPO("MlpPolicy", "CartPole-v1"))
        (PPOFamily(FadePPO), True)
        >>> family.owns(SAC("MlpPolicy", "Pendulum-v1"))
        False
    """

    name: str
    sb3_class: type
    policy_class: type
    critic_arch_policy: type

    def __init__(self, fade_class: type) -> None:
        self.fade_class = fade_class

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.fade_class.__name__})"

    def owns(self, model: Any) -> bool:
        """Whether ``model`` is an instance of the family's SB3 class (FADE version included)."""
        return isinstance(model, self.sb3_class)

    def critic_optimizer_owner(self, model: Any) -> Any:
        """The policy, whose ``.optimizer`` trains the critic (SB3's DQN and PPO)."""
        return model.policy

    def optimizers(self, model: Any) -> list[th.optim.Optimizer]:
        """The policy's one optimizer (SB3's DQN and PPO)."""
        return [model.policy.optimizer]

    @staticmethod
    def clip_scaled(c: th.Tensor, model: Any, grad_norm: th.Tensor | None) -> th.Tensor:
        """``c`` times the factor by which the model's ``max_grad_norm`` clipped the gradient.

        ``grad_norm`` is what ``clip_grad_norm_`` returned (None: no clipping). The factor
        stays on the device (:func:`~fade_rl.optim.grad_clip_factor`): no host read.
        """
        if grad_norm is None:
            return c
        return c.mul_(grad_clip_factor(grad_norm, model.max_grad_norm))
