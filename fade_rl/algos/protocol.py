"""What an algorithm family is: the one interface FADE, the methods and the metrics ask.

A family (DQN, SAC, TD3, PPO) knows, for models of its SB3 algorithm class (the FADE
version included): which networks are its critics and where their linear heads are, the
batch it learns from and that batch's value targets, its critic loss and the curvature of
that loss in the critic's output, which optimizer trains the critic, and which target
networks follow which online ones. Nothing here assumes a replay buffer (``sample_batch``
is the family's to define) or an ``nn.Sequential`` critic (a head may be a bare
``nn.Linear``, see :func:`fade_rl.nets.split_head`).

Families live in :mod:`fade_rl.algos.registry`; :func:`~fade_rl.algos.registry.family_of`
finds a model's.

Example:
    >>> from fade_rl.algos import FAMILIES
    >>> all(isinstance(family, AlgorithmFamily) for family in FAMILIES.values())
    True
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol, runtime_checkable

import torch as th
from torch import nn

from fade_rl.nets.critics import CriticNetwork

__all__ = ["AlgorithmFamily", "LossPass"]


class LossPass(NamedTuple):
    """One pass of the critic loss, as :meth:`AlgorithmFamily.output_hessian` reads it.

    Example:
        >>> import torch
        >>> q = {"q_net": torch.zeros(2, 3)}
        >>> LossPass(batch=None, q_values=q, taken=q, targets=torch.zeros(2, 1)).targets.shape
        torch.Size([2, 1])
    """

    #: The batch the loss was computed on (the family's :meth:`~AlgorithmFamily.sample_batch`).
    batch: Any
    #: The heads' outputs by head name.
    q_values: dict[str, th.Tensor]
    #: Each head's entries the loss compares with the targets (``critic_loss``'s second value).
    taken: dict[str, th.Tensor]
    #: The value targets, ``[B, 1]``.
    targets: th.Tensor


@runtime_checkable
class AlgorithmFamily(Protocol):
    """One SB3 algorithm and its FADE version, as every generic part of fade_rl sees them.

    ``model`` below is an instance of :attr:`sb3_class` (:meth:`owns` says which models).

    Example:
        Every registered family is one; the check looks at the members, not the base class:

        >>> from fade_rl.algos import FAMILIES
        >>> [(name, f.sb3_class.__name__, f.fade_class.__name__) for name, f in FAMILIES.items()]
        ... # doctest: +NORMALIZE_WHITESPACE
        [('dqn', 'DQN', 'FadeDQN'), ('sac', 'SAC', 'FadeSAC'), ('td3', 'TD3', 'FadeTD3'),
         ('ppo', 'PPO', 'FadePPO')]
        >>> isinstance(FAMILIES["td3"], AlgorithmFamily), isinstance(object(), AlgorithmFamily)
        (True, False)
    """

    @property
    def name(self) -> str:
        """The registry key: the config's ``algo.name`` and the CLI's ``--algo``."""
        ...

    @property
    def sb3_class(self) -> type:
        """The vanilla SB3 algorithm class (its subclasses belong to the family too)."""
        ...

    @property
    def fade_class(self) -> type:
        """The FADE version of :attr:`sb3_class` (FadeDQN, ...)."""
        ...

    @property
    def policy_class(self) -> type:
        """The base class of the algorithm's policies (recognises a saved zip's algorithm)."""
        ...

    @property
    def critic_arch_policy(self) -> type:
        """The policy class with critic architecture options (layer norm, CReLU)."""
        ...

    def owns(self, model: Any) -> bool:
        """Whether ``model`` is of this family (an instance of :attr:`sb3_class`)."""
        ...

    @property
    def on_policy(self) -> bool:
        """Whether the algorithm learns from rollouts its current networks collect (PPO).

        A method that changes the networks at an environment step (a reset, shrink &
        perturb, ReDo) then waits for the next rollout's start, so that every rollout is
        collected and trained by one set of networks (docs/methods.md).
        """
        ...

    # ------------------------------------------------------------------ critics
    def critic_q_nets(self, model: Any) -> dict[str, nn.Module]:
        """The online critic networks by head name, each ending in its linear head.

        Only the part after the features extractor, e.g. ``{"q_net": ...}`` or
        ``{"qf0": ..., "qf1": ...}``.
        """
        ...

    def critic_networks(self, model: Any) -> list[CriticNetwork]:
        """The critics as :class:`~fade_rl.nets.CriticNetwork` blocks (extractor included)."""
        ...

    def critic_target_nets(self, model: Any) -> dict[str, nn.Module]:
        """The target network of each of :meth:`critic_q_nets`, by the same names ({} if none)."""
        ...

    def fresh_modules(self, model: Any, modules: list[nn.Module]) -> list[nn.Module]:
        """A new draw of the algorithm's own initialization of each of ``modules``.

        ``modules`` are online modules of ``model``; each returned module has the structure,
        device and dtype of the one asked for and is new (``model`` is left as it was). The
        draws come from torch's global generators. SB3's off-policy networks keep PyTorch's
        default initialization; PPO's policy is initialized orthogonally, with a gain per
        part, and its ``log_std`` at ``log_std_init``.
        """
        ...

    # ------------------------------------------------------- batch and targets
    def sample_batch(self, model: Any, batch_size: int) -> Any:
        """A training batch as the algorithm's own ``train()`` draws it."""
        ...

    def value_targets(self, model: Any, batch: Any, **options: Any) -> th.Tensor:
        """The targets the critic loss regresses on for ``batch``, ``[B, 1]`` (no grad)."""
        ...

    # --------------------------------------------------------- loss, curvature
    def critic_loss(
        self, q_values: dict[str, th.Tensor], batch: Any, targets: th.Tensor
    ) -> tuple[th.Tensor, dict[str, th.Tensor]]:
        """The critic loss of the critics' outputs, and each critic's output in the loss.

        ``q_values`` are the heads' outputs by name; the second value holds the entries
        the loss compares with ``targets`` (the taken action's Q-value for DQN).
        """
        ...

    def output_hessian(
        self, model: Any, loss: LossPass, grad_norm: th.Tensor | None = None
    ) -> th.Tensor:
        """``c``: the curvature of :meth:`critic_loss` in each head's own output, ``[B, K]``.

        ``loss`` is the pass of :meth:`critic_loss`; ``grad_norm`` is the gradient norm
        before clipping, for families that clip it.
        """
        ...

    # ------------------------------------------------- optimizers and targets
    def critic_optimizer_owner(self, model: Any) -> Any:
        """The object whose ``.optimizer`` trains the critics (FADE replaces it there)."""
        ...

    def optimizers(self, model: Any) -> list[th.optim.Optimizer]:
        """The network optimizers, the critic's first."""
        ...

    def trained_modules(self, model: Any, target: str) -> list[nn.Module]:
        """The online modules of ``"critic"`` (what the critic loss trains) or ``"all"``."""
        ...

    def target_pairs(self, model: Any) -> list[tuple[nn.Module, nn.Module]]:
        """``(online, target)`` network pairs whose targets follow by Polyak averaging."""
        ...
