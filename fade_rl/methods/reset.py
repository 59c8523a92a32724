"""Resets (Nikishin et al. 2022): re-initialize the head, the critic or the whole agent."""

from __future__ import annotations

from typing import Any, ClassVar, Literal, cast

import torch as th
from pydantic import Field, model_validator
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from torch import nn

from fade_rl.algos import (
    TARGETS,
    Periodic,
    check_choice,
    check_model,
    check_positive_int,
    family_of,
    reset_optimizer_state,
    target_modules,
    target_pairs,
    target_parameters,
)
from fade_rl.methods.hooks import NetworkChangeCallback
from fade_rl.methods.spec import SHIFT_KEY, TAG, MethodParams, MethodSpec, TuningGrid

__all__ = ["SPEC", "ResetCallback", "ResetParams", "reset_parameters"]


def reset_parameters(model: BaseAlgorithm, target: str = "head") -> int:
    """Re-initialize part of an agent, its target-network copy and its optimizer state.

    The chosen online modules get a fresh draw of the algorithm's own initialization
    (the family's ``fresh_modules``: PyTorch's default, as SB3 builds off-policy
    networks; SB3's orthogonal initialization and ``log_std_init`` for PPO's policy);
    the matching parameters of the target networks are set equal to them; the optimizer
    state of those parameters is dropped (moments, step counts and, under FADE, decay
    rates and traces start afresh at the next step). The replay or rollout buffer, the
    step counters and every other parameter are left alone. On PPO, ``"all"`` is the
    whole policy (both networks, the features extractors and ``log_std``) and, since one
    optimizer trains all of it, its whole state: fresh networks and a fresh optimizer.

    Args:
        model: an SB3 DQN, SAC, TD3 or PPO (or a FADE version).
        target: ``"head"`` (the critics' final linear layers), ``"critic"`` (everything
            the critic loss trains) or ``"all"`` (critic and actor).

    Returns:
        The number of parameter tensors re-initialized.

    Example:
        >>> from stable_baselines3 import DQN, PPO
        >>> reset_parameters(DQN("MlpPolicy", "CartPole-v1"), target="head")
        2
        >>> reset_parameters(PPO("MlpPolicy", "Pendulum-v1", n_steps=64), target="all")
        13
    """
    model = check_model(model, "reset_parameters")
    check_choice("target", target, TARGETS)
    params = target_parameters(model, target)
    ids = {id(p) for p in params}
    modules = target_modules(model, target)
    fresh = family_of(model, "reset_parameters").fresh_modules(model, modules)
    with th.no_grad():
        for module, new in zip(modules, fresh, strict=True):
            for p, q in zip(_tensors(module), _tensors(new), strict=True):
                p.copy_(q)
        for online, target_net in target_pairs(model):
            target_params = dict(target_net.named_parameters())
            for name, p in online.named_parameters():
                if id(p) in ids and name in target_params:
                    target_params[name].copy_(p)
    reset_optimizer_state(model, params)
    return len(params)


def _tensors(module: nn.Module) -> list[th.Tensor]:
    """A module's parameters and buffers, in a fixed order."""
    return [*module.parameters(), *module.buffers()]


class ResetCallback(NetworkChangeCallback):
    """SB3 callback: :func:`reset_parameters` every ``every`` steps and/or at environment shifts.

    On PPO a reset that comes due during a rollout is applied when the next rollout
    starts, after ``train()`` has used the rollout it came due in
    (:class:`~fade_rl.methods.hooks.NetworkChangeCallback`): every rollout is collected and
    trained by one set of networks. With ``every`` a multiple of ``n_steps`` a reset falls
    exactly between two rollouts; the shift flag comes on the first step of the new
    level, so ``shift_info_key`` resets after that step's rollout (docs/methods.md).

    Args:
        target: ``"head"``, ``"critic"`` or ``"all"``.
        every: reset each time ``num_timesteps`` crosses a multiple of ``every``.
        shift_info_key: reset on a step where any environment's ``info`` has a
            true value under this key (the step on which the environment shifts).
        fresh_buffer: also empty the replay buffer and train again only after
            ``learning_starts`` more steps, as a new agent would (off-policy only: PPO's
            rollout buffer is new at every rollout). With ``target="all"`` this is the
            oracle of continual RL: fresh networks, optimizer and replay buffer.
        verbose: 1 prints each reset.

    Example:
        >>> from stable_baselines3 import DQN, PPO
        >>> model = DQN("MlpPolicy", "CartPole-v1", learning_starts=50)
        >>> callback = ResetCallback(target="critic", every=100)
        >>> _ = model.learn(250, callback=callback)
        >>> callback.n_resets
        2
        >>> model = PPO("MlpPolicy", "CartPole-v1", n_steps=50, batch_size=50)
        >>> callback = ResetCallback(target="all", every=100)
        >>> _ = model.learn(250, callback=callback)  # due at steps 100, 200: reset at 100, 200
        >>> callback.n_resets, callback.pending
        (2, False)
        >>> model = DQN("MlpPolicy", "CartPole-v1", learning_starts=50, train_freq=1)
        >>> callback = ResetCallback(target="all", every=100, fresh_buffer=True)
        >>> _ = model.learn(150, callback=callback)  # emptied as step 100 is taken: it and 50 more
        >>> model.replay_buffer.size(), model.learning_starts  # trains again after step 150
        (51, 150)
    """

    def __init__(
        self,
        target: str = "head",
        every: int | None = None,
        shift_info_key: str | None = None,
        fresh_buffer: bool = False,
        verbose: int = 0,
    ) -> None:
        super().__init__(verbose)
        self.fresh_buffer = fresh_buffer
        #: The model's own ``learning_starts`` (a fresh buffer waits that long again); a
        #: checkpoint keeps it, since the model's copy moves at every fresh-buffer reset.
        self.learning_starts: int | None = None
        self.target = check_choice("target", target, TARGETS)
        self.every = check_positive_int("every", every, allow_none=True)
        self._period = None if self.every is None else Periodic(self.every)
        if shift_info_key is not None and (
            not isinstance(shift_info_key, str) or not shift_info_key
        ):
            raise ValueError(
                f"shift_info_key must be a non-empty str or None, got {shift_info_key!r}"
            )
        if every is None and shift_info_key is None:
            raise ValueError(
                "ResetCallback needs every=K (reset every K steps) and/or shift_info_key=... "
                "(reset when the environment reports a shift in info)"
            )
        self.shift_info_key = shift_info_key
        self.n_resets = 0
        self._why = ""

    def _init_callback(self) -> None:
        super()._init_callback()
        if self.fresh_buffer:
            if self._waits:
                raise ValueError(
                    "fresh_buffer empties a replay buffer, and PPO has none (its rollout "
                    "buffer is new at every rollout); drop fresh_buffer"
                )
            if self.learning_starts is None:
                self.learning_starts = int(cast(OffPolicyAlgorithm, self.model).learning_starts)

    def _on_training_start(self) -> None:
        if self._period is not None:
            self._period.start(self.num_timesteps)

    def state(self) -> dict[str, Any]:
        """A pending reset and, with ``fresh_buffer``, the model's own ``learning_starts``."""
        kept = {"learning_starts": self.learning_starts} if self.fresh_buffer else {}
        return {**super().state(), **kept}

    def _act(self) -> None:
        reset_parameters(self.model, self.target)
        if self.fresh_buffer:
            assert self.learning_starts is not None
            model = cast(OffPolicyAlgorithm, self.model)
            assert model.replay_buffer is not None
            model.replay_buffer.reset()
            model.learning_starts = model.num_timesteps + self.learning_starts
        self.n_resets += 1
        self.logger.record(f"{TAG}/n_resets", self.n_resets)
        if self.verbose:
            print(f"ResetCallback: reset {self.target} at step {self.num_timesteps} ({self._why})")

    def _on_step(self) -> bool:
        due = False
        if self._period is not None and self._period.due(self.num_timesteps):
            due, self._why = True, f"every {self.every} steps"
        if self.shift_info_key is not None:
            infos: Any = self.locals.get("infos", ())
            if any(bool(info.get(self.shift_info_key, False)) for info in infos):
                due, self._why = True, f"info[{self.shift_info_key!r}]"
        if due:
            self._due()
        return True


# ---------------------------------------------------------------------------- the method
class ResetParams(MethodParams):
    """Resets: every ``every`` steps and/or at each environment shift; with ``fresh_buffer``
    the replay buffer is emptied too and training waits ``learning_starts`` steps.

    Example:
        >>> ResetParams()
        ResetParams(target='critic', every=None, at_shift=True, fresh_buffer=False)
        >>> ResetParams(target="head", every=100000, at_shift=False).every
        100000
        >>> ResetParams(at_shift=False)
        Traceback (most recent call last):
        ...
        pydantic_core._pydantic_core.ValidationError: 1 validation error for ResetParams
          Value error, set every (steps) and/or at_shift: true ...
    """

    counters: ClassVar[tuple[str, ...]] = ("n_resets",)

    target: Literal["head", "critic", "all"] = "critic"
    every: int | None = Field(default=None, ge=1)
    at_shift: bool = True
    fresh_buffer: bool = False

    @model_validator(mode="after")
    def _some_trigger(self) -> ResetParams:
        if self.every is None and not self.at_shift:
            raise ValueError("set every (steps) and/or at_shift: true")
        return self

    def callbacks(self) -> list[BaseCallback]:
        key = SHIFT_KEY if self.at_shift else None
        return [
            ResetCallback(
                target=self.target,
                every=self.every,
                shift_info_key=key,
                fresh_buffer=self.fresh_buffer,
            )
        ]


SPEC = MethodSpec(
    "reset",
    "resets",
    TuningGrid("methods.reset.target", ("head", "critic", "all")),
    ResetParams,
)
