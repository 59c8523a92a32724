"""L2 Init (Kumar et al. 2023): regenerative regularization toward the initial parameters."""

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

__all__ = ["SPEC", "L2InitCallback", "L2InitParams", "add_l2_init"]

_TARGETS = ("head", "critic", "all")


def add_l2_init(
    model: BaseAlgorithm,
    coefficient: float,
    target: str = "critic",
    initial: list[th.Tensor] | None = None,
) -> tuple[list[RemovableHandle], list[th.Tensor]]:
    """Add the gradient of ``coefficient * ||theta - theta_0||^2`` before every optimizer step.

    The penalty is the SQUARED distance to the initial parameters (Kumar et al.
    2023), so its gradient ``2 * coefficient * (theta - theta_0)`` is added to
    ``theta.grad`` just before the optimizer that holds ``theta`` steps: the
    update is exactly the one of the loss plus the penalty (coupled, as in the
    paper: under Adam the penalty's gradient goes through the moments). Two
    small differences from putting the penalty in the loss: DQN's and PPO's gradient-norm
    clipping runs before the penalty is added, and under FADE the curvature of
    the head does not include the penalty's ``2 * coefficient``. PPO's one optimizer
    steps once per minibatch, so the penalty is added at every minibatch step.

    Args:
        model: an SB3 DQN, SAC, TD3 or PPO (or a FADE version).
        coefficient: the penalty coefficient, >= 0.
        target: ``"head"``, ``"critic"`` (every parameter the critic loss trains; on PPO
            the value side of the policy) or ``"all"`` (critic and actor; on PPO the whole
            policy, ``log_std`` included).
        initial: ``theta_0`` in the order of the chosen parameters; by default
            their values now (a copy).

    Returns:
        ``(handles, initial)``: the optimizer hook handles (``handle.remove()``
        stops the penalty) and the ``theta_0`` tensors in use.

    Example:
        >>> from stable_baselines3 import DQN
        >>> model = DQN("MlpPolicy", "CartPole-v1", learning_starts=50)
        >>> handles, theta_0 = add_l2_init(model, 1e-3)
        >>> _ = model.learn(100)
        >>> for handle in handles:
        ...     handle.remove()
    """
    model = check_model(model, "add_l2_init")
    coefficient = check_nonnegative("coefficient", coefficient)
    check_choice("target", target, _TARGETS)
    params = target_parameters(model, target)
    if initial is None:
        initial = [p.detach().clone() for p in params]
    elif len(initial) != len(params) or any(
        i.shape != p.shape for i, p in zip(initial, params, strict=False)
    ):
        raise ValueError(
            f"initial holds {len(initial)} tensors that do not match the {len(params)} "
            f"{target} parameters; pass the tensors add_l2_init returned for this model"
        )
    else:
        initial = [i.detach().to(p.device, p.dtype) for i, p in zip(initial, params, strict=True)]
    by_id = {id(p): (p, i) for p, i in zip(params, initial, strict=True)}
    handles = []
    for optimizer in optimizers_of(model):
        mine = [by_id[id(p)] for g in optimizer.param_groups for p in g["params"] if id(p) in by_id]
        if not mine:
            continue

        def penalty_grad(opt: Any, args: Any, kwargs: Any, mine: Any = mine) -> None:
            with th.no_grad():
                pairs = [(p, i) for p, i in mine if p.grad is not None]
                if pairs:
                    ps, inits = zip(*pairs, strict=True)
                    diffs = th._foreach_sub(list(ps), list(inits))
                    th._foreach_add_([p.grad for p in ps], diffs, alpha=2.0 * coefficient)

        handles.append(optimizer.register_step_pre_hook(penalty_grad))
    return handles, initial


class L2InitCallback(HookCallback):
    """SB3 callback: the L2 Init penalty (see :func:`add_l2_init`) during ``learn``.

    ``theta_0`` is taken when training first starts (or restored with
    :meth:`load_state_dict`) and kept across later ``learn`` calls.

    Args:
        coefficient: the penalty coefficient on ``||theta - theta_0||^2``, >= 0.
        target: ``"head"``, ``"critic"`` (default) or ``"all"``.

    Example:
        >>> from stable_baselines3 import DQN
        >>> model = DQN("MlpPolicy", "CartPole-v1", learning_starts=50)
        >>> callback = L2InitCallback(1e-2, target="head")
        >>> _ = model.learn(100, callback=callback)
        >>> [tuple(t.shape) for t in callback.initial]  # theta_0: the head's weight and bias
        [(2, 64), (2,)]

        On PPO, ``"all"`` is the whole policy, both networks and ``log_std`` (C-CHAIN's L2
        Init); the penalty is added at each minibatch step of PPO's one optimizer:

        >>> from stable_baselines3 import PPO
        >>> model = PPO("MlpPolicy", "Pendulum-v1", n_steps=64, batch_size=32)
        >>> callback = L2InitCallback(1e-3, target="all")
        >>> _ = model.learn(64, callback=callback)
        >>> len(callback.initial) == len(list(model.policy.parameters()))
        True
    """

    def __init__(self, coefficient: float, target: str = "critic", verbose: int = 0) -> None:
        super().__init__(verbose)
        self.coefficient = check_nonnegative("coefficient", coefficient)
        self.target = check_choice("target", target, _TARGETS)
        self.initial: list[th.Tensor] | None = None

    def _install(self) -> list[RemovableHandle]:
        handles, self.initial = add_l2_init(self.model, self.coefficient, self.target, self.initial)
        return handles

    def state_dict(self) -> dict[str, Any]:
        """``theta_0`` (tensors; ``torch.save`` it with the model to resume)."""
        return {"initial": self.initial}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore ``theta_0`` from :meth:`state_dict` (before ``learn`` resumes)."""
        self.initial = state["initial"]


# ---------------------------------------------------------------------------- the method
class L2InitParams(MethodParams):
    """L2 Init (Kumar et al. 2023): ``coefficient * ||theta - theta_0||^2`` on the target.

    The paper searches the coefficient over 1e-2 ... 1e-5; the default 1e-3 is the middle
    of that range (not tuned here).

    Example:
        >>> L2InitParams()
        L2InitParams(coefficient=0.001, target='critic')
        >>> L2InitParams(target="actor")
        Traceback (most recent call last):
        ...
        pydantic_core._pydantic_core.ValidationError: 1 validation error for L2InitParams
        target
          Input should be 'head', 'critic' or 'all' ...
    """

    coefficient: float = Field(default=1e-3, ge=0)
    target: Literal["head", "critic", "all"] = "critic"

    def callbacks(self) -> list[BaseCallback]:
        return [L2InitCallback(self.coefficient, target=self.target)]


SPEC = MethodSpec(
    "l2init",
    "L2 Init toward the initial weights",
    TuningGrid("methods.l2init.coefficient", (0.0001, 0.001, 0.01)),
    L2InitParams,
)
