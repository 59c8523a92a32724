"""Shrink & perturb (Ash & Adams 2020): theta <- alpha * theta + (1 - alpha) * fresh init."""

from __future__ import annotations

from typing import ClassVar, Literal

import torch as th
from pydantic import Field
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback

from fade_rl.algos import (
    TARGETS,
    check_choice,
    check_fraction,
    check_model,
    family_of,
    target_modules,
)
from fade_rl.methods.hooks import PeriodicCallback
from fade_rl.methods.spec import TAG, MethodParams, MethodSpec, TuningGrid

__all__ = ["SPEC", "ShrinkPerturbCallback", "SnpParams", "shrink_perturb"]


def shrink_perturb(model: BaseAlgorithm, alpha: float, target: str = "critic") -> None:
    """Shrink the chosen online parameters toward a fresh initialization.

    ``theta <- alpha * theta + (1 - alpha) * theta_fresh``, where ``theta_fresh``
    is a new draw of the network's initialization (the family's ``fresh_modules``:
    PyTorch's default for SB3's off-policy networks, SB3's orthogonal one for PPO's
    policy). Target networks, optimizer state, the replay or rollout buffer and all other
    parameters are left alone (the target networks follow through their usual updates).

    Args:
        model: an SB3 DQN, SAC, TD3 or PPO (or a FADE version).
        alpha: the share of the current weights kept, in [0, 1] (1 changes nothing,
            0 is a reset of the weights).
        target: ``"head"``, ``"critic"`` or ``"all"``.

    Example:
        >>> from stable_baselines3 import TD3
        >>> model = TD3("MlpPolicy", "Pendulum-v1")
        >>> shrink_perturb(model, alpha=0.8, target="critic")
    """
    model = check_model(model, "shrink_perturb")
    alpha = check_fraction("alpha", alpha)
    check_choice("target", target, TARGETS)
    modules = target_modules(model, target)
    draws = family_of(model, "shrink_perturb").fresh_modules(model, modules)
    with th.no_grad():
        for module, fresh in zip(modules, draws, strict=True):
            for p, p_fresh in zip(module.parameters(), fresh.parameters(), strict=True):
                if p.requires_grad:
                    p.mul_(alpha).add_(p_fresh, alpha=1.0 - alpha)


class ShrinkPerturbCallback(PeriodicCallback):
    """SB3 callback: :func:`shrink_perturb` every ``every`` environment steps.

    On PPO it is applied at the start of the rollout after the one in which it came due
    (:class:`~fade_rl.methods.hooks.PeriodicCallback`).

    Args:
        alpha: share of the current weights kept, in [0, 1].
        every: period in environment steps.
        target: ``"head"``, ``"critic"`` or ``"all"``.

    Example:
        >>> from stable_baselines3 import DQN
        >>> model = DQN("MlpPolicy", "CartPole-v1", learning_starts=50)
        >>> _ = model.learn(200, callback=ShrinkPerturbCallback(alpha=0.9, every=100))
    """

    def __init__(self, alpha: float, every: int, target: str = "critic", verbose: int = 0) -> None:
        super().__init__(every, verbose)
        self.alpha = check_fraction("alpha", alpha)
        self.target = check_choice("target", target, TARGETS)
        self.n_applied = 0

    def _act(self) -> None:
        shrink_perturb(self.model, self.alpha, self.target)
        self.n_applied += 1
        self.logger.record(f"{TAG}/n_shrink_perturb", self.n_applied)


# ---------------------------------------------------------------------------- the method
class SnpParams(MethodParams):
    """Shrink & perturb: ``theta = alpha * theta + (1 - alpha) * fresh`` every ``every`` steps.

    Example:
        >>> SnpParams()
        SnpParams(alpha=0.8, every=5000, target='critic')
        >>> SnpParams(alpha=1.5)
        Traceback (most recent call last):
        ...
        pydantic_core._pydantic_core.ValidationError: 1 validation error for SnpParams
        alpha
          Input should be less than or equal to 1 ...
    """

    counters: ClassVar[tuple[str, ...]] = ("n_applied",)

    alpha: float = Field(default=0.8, ge=0, le=1)
    every: int = Field(default=5000, ge=1)
    target: Literal["head", "critic", "all"] = "critic"

    def callbacks(self) -> list[BaseCallback]:
        return [ShrinkPerturbCallback(self.alpha, self.every, target=self.target)]


SPEC = MethodSpec(
    "snp",
    "shrink & perturb",
    TuningGrid("methods.snp.alpha", (0.5, 0.8, 0.95)),
    SnpParams,
)
