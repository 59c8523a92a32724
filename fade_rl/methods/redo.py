"""ReDo (Sokar et al. 2023): recycle the critic's dormant units (PPO: the value MLP's)."""

from __future__ import annotations

from typing import Any, ClassVar, cast

import torch as th
from pydantic import Field
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from torch import nn

from fade_rl.algos import (
    SupportedModel,
    check_model,
    check_positive_int,
    check_tau,
    critic_networks,
    dormant_scores,
    family_of,
    readout,
    run_critics,
    zero_optimizer_state,
)
from fade_rl.methods.hooks import PeriodicCallback
from fade_rl.methods.spec import TAG, MethodParams, MethodSpec, TuningGrid

__all__ = ["SPEC", "ReDoCallback", "RedoParams", "redo"]


def _recycle(
    model: SupportedModel,
    incoming: nn.Linear,
    fresh: nn.Linear,
    outgoing: nn.Linear,
    dormant: th.Tensor,
) -> None:
    """``fresh``'s incoming weights and bias for the ``dormant`` units, zero outgoing weights.

    Masks, not index lists: no data-dependent shapes, so no host sync on a GPU.
    """
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


def _empty_replay(model: SupportedModel) -> bool:
    """Whether the model has a replay buffer and it holds no transition yet."""
    buffer = getattr(model, "replay_buffer", None)
    return buffer is not None and buffer.size() == 0


def redo(
    model: BaseAlgorithm, tau: float = 0.1, batch_size: int = 256, batch: Any = None
) -> dict[str, int]:
    """Re-initialize the critic's tau-dormant units on a training batch.

    For every hidden layer of each critic MLP (a linear layer followed by another; PPO's
    value MLP, the actor's left alone), units with score ``<= tau``
    (:func:`fade_rl.nets.dormant_scores` of the layer's output on the batch) get fresh
    incoming weights and bias (a new draw of the layer's initialization, the family's
    ``fresh_modules``: SB3's orthogonal one on PPO) and zero outgoing weights; the
    optimizer moments (and FADE traces, with decay rates back at ``init_decay``) of
    exactly those weights are zeroed. Everything else (other units, target networks, the
    actor, the buffer) is left alone. Features extractors (e.g. CNNs) are not touched.

    Args:
        model: an SB3 DQN, SAC, TD3 or PPO (or a FADE version).
        tau: dormancy threshold, >= 0 (0 recycles only dead units).
        batch_size: samples used to score the units, drawn as the family draws its
            training batches (a replay batch; PPO: from the collected rollout).
        batch: the batch to score the units on instead (a batch of the family's kind).

    Returns:
        The number of units recycled, per ``"<critic>/<layer>"`` (layers named as in the
        metrics: ``hidden0``, ``hidden1``, ...).

    Raises:
        ValueError: no batch can be drawn (an empty replay buffer, no collected rollout).

    Example:
        >>> from stable_baselines3 import DQN, PPO
        >>> model = DQN("MlpPolicy", "CartPole-v1", learning_starts=50)
        >>> _ = model.learn(100)
        >>> sorted(redo(model, tau=0.1))
        ['q_net/hidden0', 'q_net/hidden1']
        >>> model = PPO("MlpPolicy", "CartPole-v1", n_steps=64, batch_size=64).learn(64)
        >>> sorted(redo(model, tau=0.1, batch_size=32))
        ['value_net/hidden0', 'value_net/hidden1']
    """
    model = check_model(model, "redo")
    tau = check_tau(tau)
    check_positive_int("batch_size", batch_size)
    family = family_of(model, "redo")
    if batch is None and _empty_replay(model):
        raise ValueError("redo scores units on replay samples, but the replay buffer is empty")
    data = family.sample_batch(model, batch_size) if batch is None else batch
    networks = critic_networks(model)
    with th.no_grad():
        passes = run_critics(networks, data.observations, data.actions)
    pairs = []
    for net in networks:
        for layer, following in zip(net.layers[:-1], net.layers[1:], strict=True):
            incoming, outgoing = layer.modules[0], following.modules[0]
            if isinstance(incoming, nn.Linear) and isinstance(outgoing, nn.Linear):
                pairs.append((f"{net.name}/{layer.name}", net.name, layer.name, incoming, outgoing))
    fresh = family.fresh_modules(model, [incoming for *_, incoming, _ in pairs])
    recycled: dict[str, th.Tensor] = {}
    for (key, net_name, layer_name, incoming, outgoing), new in zip(pairs, fresh, strict=True):
        dormant = dormant_scores(passes[net_name].activations[layer_name]) <= tau
        recycled[key] = dormant.sum()
        _recycle(model, incoming, cast(nn.Linear, new), outgoing, dormant)
    # The one host read of the method: all counts at once.
    return {name: round(n) for name, n in readout.read_scalars(recycled).items()}


class ReDoCallback(PeriodicCallback):
    """SB3 callback: :func:`redo` each time ``num_timesteps`` crosses a multiple of ``every``.

    Off-policy it scores the units on a replay batch drawn then (nothing while the replay
    buffer is empty). On PPO, ReDo waits for the next rollout's start
    (:class:`~fade_rl.methods.hooks.PeriodicCallback`) and scores the units on
    ``batch_size`` samples of the rollout in which it came due, drawn at that rollout's end
    (before SB3 empties the buffer): the networks it recycles are the ones trained on them.

    Args:
        tau: dormancy threshold, >= 0.
        every: period in environment steps.
        batch_size: samples used to score the units.

    Example:
        >>> from stable_baselines3 import DQN, PPO
        >>> model = DQN("MlpPolicy", "CartPole-v1", learning_starts=50)
        >>> _ = model.learn(200, callback=ReDoCallback(tau=0.1, every=100))
        >>> callback = ReDoCallback(tau=0.5, every=64, batch_size=32)
        >>> model = PPO("MlpPolicy", "CartPole-v1", n_steps=64, batch_size=64)
        >>> _ = model.learn(192, callback=callback)
        >>> callback.n_recycled > 0, callback.pending  # due at 192: waits for a next rollout
        (True, True)
    """

    def __init__(
        self, tau: float = 0.1, every: int = 1000, batch_size: int = 256, verbose: int = 0
    ):
        super().__init__(every, verbose)
        self.tau = check_tau(tau)
        self.batch_size = check_positive_int("batch_size", batch_size)
        self.n_recycled = 0
        self._batch: Any = None

    def _on_rollout_end(self) -> None:
        if self.pending:  # the rollout's samples, kept before the next rollout empties it
            assert self.batch_size is not None
            self._batch = family_of(self.model, "ReDo").sample_batch(self.model, self.batch_size)

    def _act(self) -> None:
        assert self.batch_size is not None
        batch, self._batch = self._batch, None
        if self._waits and batch is None:
            self.pending = True  # due before a rollout was kept (a resumed run): the next one
            return
        if batch is None and _empty_replay(self.model):
            return  # nothing to score the units on yet
        counts = redo(self.model, self.tau, self.batch_size, batch)
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
