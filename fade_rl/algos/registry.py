"""The algorithm families by name: the one table every algorithm list derives from.

attach_fade's counterparts, the config's ``algo.name`` choices, the CLI's ``--algo``,
building a model, the SB3 argument checks and the tests' parametrization all read
:data:`FAMILIES`. Adding a family is one folder under ``fade_rl/algos`` and one line here
(docs/architecture.md, "Adding an algorithm family").

Example:
    >>> from stable_baselines3 import A2C
    >>> list(FAMILIES)
    ['dqn', 'sac', 'td3', 'ppo']
    >>> family_of(A2C("MlpPolicy", "CartPole-v1"), "ReDo")
    Traceback (most recent call last):
    ...
    TypeError: ReDo works on SB3 DQN, SAC, TD3 and PPO models (and FadeDQN/FadeSAC/...), ...
"""

from __future__ import annotations

from typing import Any, TypeAlias

from fade_rl.algos import dqn, ppo, sac, td3
from fade_rl.algos.protocol import AlgorithmFamily

__all__ = [
    "ALGORITHM_NAMES",
    "FAMILIES",
    "SupportedModel",
    "check_model",
    "critic_arch_policy",
    "family_of",
    "family_of_class",
    "family_of_policy",
    "sb3_names",
]

#: Every algorithm family, by name.
FAMILIES: dict[str, AlgorithmFamily] = {
    "dqn": dqn.FAMILY,
    "sac": sac.FAMILY,
    "td3": td3.FAMILY,
    "ppo": ppo.FAMILY,
}

#: The families' names: the config's ``algo.name`` and the CLI's ``--algo`` choices.
ALGORITHM_NAMES: tuple[str, ...] = tuple(FAMILIES)

#: A model of a registered family (checked at run time by :func:`family_of`).
SupportedModel: TypeAlias = Any


def sb3_names() -> str:
    """The families' SB3 algorithms for messages: ``"DQN, SAC, TD3 and PPO"``."""
    names = [family.sb3_class.__name__ for family in FAMILIES.values()]
    return ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else names[0]


def _supported() -> str:
    fade = "/".join(family.fade_class.__name__ for family in FAMILIES.values())
    return f"SB3 {sb3_names()} models (and {fade})"


def family_of(model: Any, who: str = "fade_rl") -> AlgorithmFamily:
    """The family of ``model`` (an SB3 algorithm or its FADE version).

    Raises:
        TypeError: one line naming ``who`` and the supported algorithms, for any other model.
    """
    for family in FAMILIES.values():
        if family.owns(model):
            return family
    raise TypeError(
        f"{who} works on {_supported()}, got a {type(model).__name__}; use one of those algorithms"
    )


def family_of_class(algorithm: Any, who: str = "fade_rl") -> AlgorithmFamily:
    """The family of an algorithm class (SB3's or a FADE version, or a subclass).

    Raises:
        TypeError: for a class of no registered family.
    """
    if isinstance(algorithm, type):
        for family in FAMILIES.values():
            if issubclass(algorithm, family.sb3_class):
                return family
    raise TypeError(
        f"{who} works on {_supported()}, got {getattr(algorithm, '__name__', algorithm)!r}"
    )


def family_of_policy(policy_class: Any) -> AlgorithmFamily | None:
    """The family whose policies ``policy_class`` belongs to (a saved zip's), or None."""
    if isinstance(policy_class, type):
        for family in FAMILIES.values():
            if issubclass(policy_class, family.policy_class):
                return family
    return None


def check_model(model: Any, who: str) -> SupportedModel:
    """``model`` if its family is registered (:func:`family_of`), else a one-line TypeError."""
    family_of(model, who)
    return model


def critic_arch_policy(algorithm: type) -> type:
    """The policy class with critic architecture options for an algorithm class.

    Example:
        >>> from fade_rl import FadeSAC
        >>> critic_arch_policy(FadeSAC).__name__
        'CriticArchSACPolicy'

    Raises:
        ValueError: for a class of no registered family.
    """
    try:
        family = family_of_class(algorithm)
    except TypeError:
        raise ValueError(
            f"critic architecture options exist for {sb3_names()} (and their FADE versions), "
            f"got {getattr(algorithm, '__name__', algorithm)!r}"
        ) from None
    return family.critic_arch_policy
