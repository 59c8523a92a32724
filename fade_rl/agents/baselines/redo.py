"""ReDo (Sokar et al. 2023): recycle the critic's dormant units."""

from __future__ import annotations

import math
from typing import Any, cast

import torch as th
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from torch import nn

from fade_rl.agents.baselines._targets import (
    SupportedModel,
    check_model,
    check_positive_int,
    critic_mlps,
    fade_group_init_decay,
    optimizer_state_of,
)
from fade_rl.parts import readout

__all__ = ["ReDoCallback", "dormant_scores", "redo"]

# Optimizer state tensors that are moments or traces: zeroed where ReDo touches weights.
_ZEROED_STATE = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq", "momentum_buffer", "decay_trace")


def _check_tau(tau: Any) -> float:
    if isinstance(tau, bool) or not isinstance(tau, (int, float)) or not math.isfinite(tau):
        raise ValueError(f"tau must be a finite number >= 0, got {tau!r}")
    if tau < 0:
        raise ValueError(f"tau must be >= 0 (units with score <= tau are dormant), got {tau}")
    return float(tau)


def dormant_scores(net: nn.Sequential, inputs: th.Tensor) -> list[tuple[int, int, th.Tensor]]:
    """Unit scores of every hidden layer of an MLP on a batch.

    A hidden unit is an input feature of a linear layer that follows another
    linear layer; its score is ``mean_b |h_b|`` divided by the layer's mean of
    that (Sokar et al. 2023).

    Returns:
        ``(incoming_index, outgoing_index, scores)`` per hidden layer: the
        positions in ``net`` of the linear layer producing the units and of the
        linear layer consuming them.
    """
    results = []
    last_linear: int | None = None
    x = inputs
    with th.no_grad():
        for index, module in enumerate(net):
            if isinstance(module, nn.Linear):
                if last_linear is not None:
                    activity = x.abs().mean(dim=0)
                    scores = activity / (activity.mean() + 1e-9)
                    results.append((last_linear, index, scores))
                last_linear = index
            x = module(x)
    return results


def _zero_state(model: SupportedModel, param: th.Tensor, mask: th.Tensor) -> None:
    """Zero the moments and traces of ``param`` where ``mask`` (broadcast to it) is true."""
    state, optimizer = optimizer_state_of(model, param)
    for key in _ZEROED_STATE:
        if key in state:
            state[key].masked_fill_(mask, 0.0)
    if "log_decay" in state:
        init_decay = fade_group_init_decay(optimizer, param)
        if init_decay is not None:
            state["log_decay"].masked_fill_(mask, math.log(init_decay))


def redo(model: BaseAlgorithm, tau: float = 0.1, batch_size: int = 256) -> dict[str, int]:
    """Re-initialize the critic's tau-dormant units on a replay batch.

    For every hidden layer of each critic MLP, units with score ``<= tau`` get
    fresh incoming weights and bias (a new draw of the layer's initialization)
    and zero outgoing weights; the optimizer moments (and FADE traces, with
    decay rates back at ``init_decay``) of exactly those weights are zeroed.
    Everything else (other units, target networks, the actor, the replay buffer)
    is left alone. Features extractors (e.g. CNNs) are not touched.

    Args:
        model: an SB3 DQN, SAC or TD3 (or a FADE version) with a non-empty replay buffer.
        tau: dormancy threshold, >= 0 (0 recycles only dead units).
        batch_size: replay samples used to score the units.

    Returns:
        The number of units recycled, per ``"<critic>/<layer index>"``.

    Example:
        >>> from stable_baselines3 import DQN
        >>> model = DQN("MlpPolicy", "CartPole-v1", learning_starts=50)
        >>> _ = model.learn(100)
        >>> sorted(redo(model, tau=0.1))
        ['q_net/0', 'q_net/2']
    """
    model = check_model(model, "redo")
    tau = _check_tau(tau)
    check_positive_int("batch_size", batch_size)
    buffer = model.replay_buffer
    if buffer is None or buffer.size() == 0:
        raise ValueError("redo scores units on replay samples, but the replay buffer is empty")
    data = buffer.sample(batch_size, env=model._vec_normalize_env)
    recycled: dict[str, th.Tensor] = {}
    for mlp in critic_mlps(model):
        with th.no_grad():
            inputs = mlp.inputs(data)
        for incoming_index, outgoing_index, scores in dormant_scores(mlp.net, inputs):
            incoming = cast(nn.Linear, mlp.net[incoming_index])
            outgoing = cast(nn.Linear, mlp.net[outgoing_index])
            # Masks, not index lists: no data-dependent shapes, so no host sync on a GPU.
            dormant = scores <= tau
            recycled[f"{mlp.name}/{incoming_index}"] = dormant.sum()
            fresh = nn.Linear(
                incoming.in_features,
                incoming.out_features,
                bias=incoming.bias is not None,
                device=incoming.weight.device,
                dtype=incoming.weight.dtype,
            )
            with th.no_grad():
                rows = dormant[:, None]
                incoming.weight.copy_(th.where(rows, fresh.weight, incoming.weight))
                _zero_state(model, incoming.weight, rows)
                if incoming.bias is not None:
                    assert fresh.bias is not None
                    incoming.bias.copy_(th.where(dormant, fresh.bias, incoming.bias))
                    _zero_state(model, incoming.bias, dormant)
                outgoing.weight.masked_fill_(dormant[None, :], 0.0)
                _zero_state(model, outgoing.weight, dormant[None, :])
    # The one host read of the intervention: all counts at once.
    return {name: round(n) for name, n in readout.read_scalars(recycled).items()}


class ReDoCallback(BaseCallback):
    """SB3 callback: :func:`redo` each time ``num_timesteps`` crosses a multiple of ``every``.

    Args:
        tau: dormancy threshold, >= 0.
        every: period in environment steps.
        batch_size: replay samples used to score the units.

    Example:
        >>> from stable_baselines3 import DQN
        >>> model = DQN("MlpPolicy", "CartPole-v1", learning_starts=50)
        >>> _ = model.learn(200, callback=ReDoCallback(tau=0.1, every=100))
    """

    def __init__(
        self, tau: float = 0.1, every: int = 1000, batch_size: int = 256, verbose: int = 0
    ):
        super().__init__(verbose)
        self.tau = _check_tau(tau)
        self.every = check_positive_int("every", every)
        self.batch_size = check_positive_int("batch_size", batch_size)
        self.n_recycled = 0
        self._next = 0

    def _on_training_start(self) -> None:
        assert self.every is not None
        self._next = (self.num_timesteps // self.every + 1) * self.every

    def _on_step(self) -> bool:
        assert self.every is not None and self.batch_size is not None
        if self.num_timesteps >= self._next:
            while self._next <= self.num_timesteps:
                self._next += self.every
            buffer = cast(OffPolicyAlgorithm, self.model).replay_buffer
            if buffer is not None and buffer.size() > 0:
                counts = redo(self.model, self.tau, self.batch_size)
                self.n_recycled += sum(counts.values())
                self.logger.record("baselines/redo_recycled", self.n_recycled)
        return True
