"""ReDo (Sokar et al. 2023): recycle the critic's dormant units."""

from __future__ import annotations

from typing import ClassVar, cast

import torch as th
from pydantic import Field
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from torch import nn

from fade_rl.algos import (
    SupportedModel,
    check_model,
    check_positive_int,
    check_replay_buffer,
    check_tau,
    critic_networks,
    dormant_scores,
    readout,
    run_critics,
    zero_optimizer_state,
)
from fade_rl.methods.hooks import PeriodicCallback
from fade_rl.methods.spec import TAG, MethodParams, MethodSpec, TuningGrid

__all__ = ["SPEC", "ReDoCallback", "RedoParams", "redo"]


def _recycle(
    model: SupportedModel, incoming: nn.Linear, outgoing: nn.Linear, dormant: th.Tensor
) -> None:
    """Fresh incoming weights and bias for the ``dormant`` units, zero outgoing weights.

    Masks, not index lists: no data-dependent shapes, so no host sync on a GPU.
    """
    fresh = nn.Linear(
        incoming.in_features,
        incoming.out_features,
        bias=incoming.bias is not None,
        device=incoming.weight.device,
        dtype=incoming.weight.dtype,
    )
    rows = dormant[:, None]
    with th.no_grad():
        incoming.weight.copy_(th.where(rows, fresh.weight, incoming.weight))
        zero_optimizer_state(model, incoming.weight, rows)
        if incoming.bias is not None:
            assert fresh.bias is not None
            incoming.bias.copy_(th.where(dormant, fresh.bias, incoming.bias))
            zero_optimizer_state(model, incoming.bias, dormant)
        outgoing.weight.masked_fill_(dormant[None, :], 0.0)
        zero_optimizer_state(model, outgoing.weight, dormant[None, :])


def redo(model: BaseAlgorithm, tau: float = 0.1, batch_size: int = 256) -> dict[str, int]:
    """Re-initialize the critic's tau-dormant units on a replay batch.

    For every hidden layer of each critic MLP (a linear layer followed by another),
    units with score ``<= tau`` (:func:`fade_rl.nets.dormant_scores` of the layer's output
    on the batch) get fresh incoming weights and bias (a new draw of the layer's
    initialization) and zero outgoing weights; the optimizer moments (and FADE traces,
    with decay rates back at ``init_decay``) of exactly those weights are zeroed.
    Everything else (other units, target networks, the actor, the replay buffer) is
    left alone. Features extractors (e.g. CNNs) are not touched.

    Args:
        model: an SB3 DQN, SAC or TD3 (or a FADE version) with a non-empty replay buffer.
        tau: dormancy threshold, >= 0 (0 recycles only dead units).
        batch_size: replay samples used to score the units.

    Returns:
        The number of units recycled, per ``"<critic>/<layer>"`` (layers named as in the
        metrics: ``hidden0``, ``hidden1``, ...).

    Example:
        >>> from stable_baselines3 import DQN
        >>> model = DQN("MlpPolicy", "CartPole-v1", learning_starts=50)
        >>> _ = model.learn(100)
        >>> sorted(redo(model, tau=0.1))
        ['q_net/hidden0', 'q_net/hidden1']
    """
    model = check_model(model, "redo")
    tau = check_tau(tau)
    check_positive_int("batch_size", batch_size)
    buffer = check_replay_buffer(model, "redo")
    if buffer.size() == 0:
        raise ValueError("redo scores units on replay samples, but the replay buffer is empty")
    data = buffer.sample(batch_size, env=model._vec_normalize_env)
    networks = critic_networks(model)
    with th.no_grad():
        passes = run_critics(networks, data.observations, data.actions)
    recycled: dict[str, th.Tensor] = {}
    for net in networks:
        for layer, following in zip(net.layers[:-1], net.layers[1:], strict=True):
            incoming, outgoing = layer.modules[0], following.modules[0]
            if not (isinstance(incoming, nn.Linear) and isinstance(outgoing, nn.Linear)):
                continue
            scores = dormant_scores(passes[net.name].activations[layer.name])
            dormant = scores <= tau
            recycled[f"{net.name}/{layer.name}"] = dormant.sum()
            _recycle(model, incoming, outgoing, dormant)
    # The one host read of the method: all counts at once.
    return {name: round(n) for name, n in readout.read_scalars(recycled).items()}


class ReDoCallback(PeriodicCallback):
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
        super().__init__(every, verbose)
        self.tau = check_tau(tau)
        self.batch_size = check_positive_int("batch_size", batch_size)
        self.n_recycled = 0

    def _act(self) -> None:
        assert self.batch_size is not None
        buffer = cast(OffPolicyAlgorithm, self.model).replay_buffer
        if buffer is not None and buffer.size() > 0:
            counts = redo(self.model, self.tau, self.batch_size)
            self.n_recycled += sum(counts.values())
            self.logger.record(f"{TAG}/redo_recycled", self.n_recycled)


# ---------------------------------------------------------------------------- the method
class RedoParams(MethodParams):
    """ReDo: recycle tau-dormant units every ``every`` steps.

    Example:
        >>> RedoParams()
        RedoParams(tau=0.1, every=1000, batch_size=256)
        >>> [(type(cb).__name__, cb.every) for cb in RedoParams(every=500).callbacks()]
        [('ReDoCallback', 500)]
    """

    counters: ClassVar[tuple[str, ...]] = ("n_recycled",)

    tau: float = Field(default=0.1, ge=0)
    every: int = Field(default=1000, ge=1)
    batch_size: int = Field(default=256, ge=1)

    def callbacks(self) -> list[BaseCallback]:
        return [ReDoCallback(tau=self.tau, every=self.every, batch_size=self.batch_size)]


SPEC = MethodSpec(
    "redo",
    "ReDo",
    TuningGrid("methods.redo.tau", (0.025, 0.1, 0.3)),
    RedoParams,
)
