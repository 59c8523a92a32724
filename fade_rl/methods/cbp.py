"""Continual backprop (Dohare et al., Nature 2024): replace the critic's least useful mature units.

Every optimizer step of the critic, each hidden unit ``i`` of each critic MLP
updates its contribution utility from the batch of the loss that was just
backpropagated::

    u_i <- eta * u_i + (1 - eta) * mean_b |h_bi| * sum_k |w_out[k, i]|

A unit is mature once it has lived more than ``maturity_threshold`` steps. Each
step a layer accumulates ``replacement_rate * n_mature`` units to replace; when
the count reaches one or more, that many mature units with the lowest
bias-corrected utility ``u_i / (1 - eta**age_i)`` get fresh incoming weights (a
new draw of the layer's initialization, the family's ``fresh_modules``: SB3's
orthogonal one on PPO), a zero bias and zero outgoing weights
(as in the paper's code, so the network's output does not jump), utility and age
zero, and zeroed optimizer moments for exactly those weights; when the outgoing
layer is a FADE head, its decay rates for those columns go back to
``init_decay`` and its traces to zero.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any, cast

import torch as th
from pydantic import Field
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from torch import nn
from torch.utils.hooks import RemovableHandle

from fade_rl.algos import (
    SupportedModel,
    check_fraction,
    check_model,
    check_positive_int,
    critic_q_nets,
    family_of,
    optimizers_of,
    zero_optimizer_state,
)
from fade_rl.methods.hooks import AttachmentCallback
from fade_rl.methods.spec import TAG, MethodParams, MethodSpec, TuningGrid

__all__ = ["SPEC", "CbpParams", "ContinualBackprop", "ContinualBackpropCallback"]


def _check_rate(name: str, value: Any, upper_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if not (0.0 <= value < 1.0 if upper_open else 0.0 <= value <= 1.0):
        raise ValueError(f"{name} must be in {'[0, 1)' if upper_open else '[0, 1]'}, got {value}")
    return float(value)


@dataclass
class _Layer:
    """The units between two linear layers of a critic MLP and their running statistics."""

    name: str
    incoming: nn.Linear
    outgoing: nn.Linear
    utility: th.Tensor
    age: th.Tensor
    to_replace: float = 0.0
    # (step, count) of recent replacements: the units not yet mature, without a device sync
    young: deque[tuple[int, int]] = field(default_factory=deque)
    features: th.Tensor | None = None


class ContinualBackprop:
    """Continual backprop on the critic MLPs of an SB3 DQN, SAC, TD3 or PPO (FADE versions too).

    Forward pre-hooks on each outgoing linear layer keep the hidden features of
    the latest forward pass; a post-hook on the critic optimizer consumes them at
    each step. In SB3's DQN, SAC, TD3 and PPO (and their FADE versions) the last
    critic forward before the critic step is the critic-loss pass, so the
    utilities see exactly the batch that was trained on. On PPO the critic is the
    value MLP and its head (the actor's MLP is left alone) and the critic optimizer is
    PPO's one optimizer: the utilities are updated at each minibatch step, on the
    minibatch's features, and replacements happen between minibatch steps (a replaced
    unit has zero outgoing weights, so the values do not jump; the log-probabilities
    are untouched).

    Args:
        model: an SB3 DQN, SAC, TD3 or PPO (or a FADE version) with plain MLP critics
            (each hidden layer's width equals the next linear layer's input).
        replacement_rate: ``rho``, units replaced per mature unit per step, in [0, 1].
        decay: ``eta``, the utility's running-average decay, in [0, 1).
        maturity_threshold: steps a unit lives before it may be replaced.

    Example:
        >>> from stable_baselines3 import DQN
        >>> model = DQN("MlpPolicy", "CartPole-v1", learning_starts=50)
        >>> cbp = ContinualBackprop(model, replacement_rate=1e-2, maturity_threshold=10)
        >>> _ = model.learn(300)
        >>> cbp.n_replaced > 0
        True
        >>> cbp.remove()
    """

    def __init__(
        self,
        model: BaseAlgorithm,
        replacement_rate: float = 1e-4,
        decay: float = 0.99,
        maturity_threshold: int = 100,
    ) -> None:
        self.model: SupportedModel = check_model(model, "ContinualBackprop")
        self._family = family_of(self.model, "ContinualBackprop")
        self.replacement_rate = check_fraction("replacement_rate", replacement_rate)
        self.decay = _check_rate("decay", decay, upper_open=True)
        self.maturity_threshold = cast(
            int, check_positive_int("maturity_threshold", maturity_threshold)
        )
        self.n_replaced = 0
        self.steps = 0
        self.layers: list[_Layer] = []
        for name, net in critic_q_nets(self.model).items():
            linears = [
                (i, m) for i, m in enumerate(cast(nn.Sequential, net)) if isinstance(m, nn.Linear)
            ]
            for (index, incoming), (_, outgoing) in itertools.pairwise(linears):
                if incoming.out_features != outgoing.in_features:
                    raise ValueError(
                        f"cbp: {name}[{index}] has {incoming.out_features} units but the next "
                        f"linear layer takes {outgoing.in_features} inputs (e.g. CReLU doubles "
                        "them); cbp needs one input of the next layer per unit: use ReLU-like "
                        "activations"
                    )
                w = incoming.weight
                self.layers.append(
                    _Layer(
                        f"{name}/{index}",
                        incoming,
                        outgoing,
                        th.zeros(incoming.out_features, device=w.device, dtype=w.dtype),
                        th.zeros(incoming.out_features, device=w.device, dtype=th.long),
                    )
                )
        if not self.layers:
            raise ValueError("cbp: the critic has no hidden layer between two linear layers")
        self._handles: list[RemovableHandle] = []
        for layer in self.layers:

            def keep(
                module: nn.Module, inputs: tuple[th.Tensor, ...], layer: _Layer = layer
            ) -> None:
                layer.features = inputs[0].detach()

            self._handles.append(layer.outgoing.register_forward_pre_hook(keep))
        critic_optimizer = optimizers_of(self.model)[0]
        self._handles.append(critic_optimizer.register_step_post_hook(self._after_step))

    def remove(self) -> None:
        """Remove the hooks (continual backprop stops)."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def _after_step(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        self.step()

    @th.no_grad()
    def step(self) -> int:
        """Update the utilities from the kept features and replace units; returns how many."""
        self.steps += 1
        replaced = 0
        for layer in self.layers:
            layer.age.add_(1)
            h = layer.features
            if h is not None:
                layer.features = None
                h = h.reshape(-1, h.shape[-1])
                contribution = h.abs().mean(dim=0) * layer.outgoing.weight.abs().sum(dim=0)
                layer.utility.lerp_(contribution, 1.0 - self.decay)
            replaced += self._replace(layer)
        self.n_replaced += replaced
        return replaced

    def _n_mature(self, layer: _Layer) -> int:
        # Every unit is born at step 0 or at a replacement; ages advance together.
        if self.steps <= self.maturity_threshold:
            return 0
        while layer.young and self.steps - layer.young[0][0] > self.maturity_threshold:
            layer.young.popleft()
        return layer.utility.numel() - sum(count for _, count in layer.young)

    def _replace(self, layer: _Layer) -> int:
        n_mature = self._n_mature(layer)
        if n_mature == 0 or self.replacement_rate == 0.0:
            return 0
        layer.to_replace += self.replacement_rate * n_mature
        if layer.to_replace < 1.0:
            return 0
        count = min(int(layer.to_replace), n_mature)
        layer.to_replace -= int(layer.to_replace)
        # The lowest bias-corrected utilities among mature units; immature ones are masked to
        # +inf. ``count <= n_mature`` is known on the host, so nothing is read from the device.
        correction = (1.0 - self.decay ** layer.age.double()).to(layer.utility.dtype)
        corrected = (layer.utility / correction).masked_fill(
            layer.age <= self.maturity_threshold, math.inf
        )
        units = th.topk(corrected, count, largest=False).indices
        self._reinitialize(layer, units)
        layer.young.append((self.steps, count))
        return count

    def _reinitialize(self, layer: _Layer, units: th.Tensor) -> None:
        incoming, outgoing = layer.incoming, layer.outgoing
        fresh = cast(nn.Linear, self._family.fresh_modules(self.model, [incoming])[0])
        chosen = th.zeros(incoming.out_features, dtype=th.bool, device=units.device)
        chosen[units] = True
        incoming.weight[units] = fresh.weight[units]
        zero_optimizer_state(self.model, incoming.weight, chosen[:, None])
        if incoming.bias is not None:
            incoming.bias[units] = 0.0
            zero_optimizer_state(self.model, incoming.bias, chosen)
        outgoing.weight[:, units] = 0.0
        zero_optimizer_state(self.model, outgoing.weight, chosen[None, :])
        layer.utility[units] = 0.0
        layer.age[units] = 0

    def state_dict(self) -> dict[str, Any]:
        """Utilities, ages and counters (tensors and numbers; ``torch.save`` it to resume)."""
        return {
            "steps": self.steps,
            "n_replaced": self.n_replaced,
            "layers": {
                layer.name: {
                    "utility": layer.utility.clone(),
                    "age": layer.age.clone(),
                    "to_replace": layer.to_replace,
                    "young": list(layer.young),
                }
                for layer in self.layers
            },
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        names = {layer.name for layer in self.layers}
        if set(state["layers"]) != names:
            raise ValueError(
                f"cbp state is for layers {sorted(state['layers'])}, this model has "
                f"{sorted(names)}; load the state saved for this model"
            )
        self.steps = int(state["steps"])
        self.n_replaced = int(state["n_replaced"])
        for layer in self.layers:
            saved = state["layers"][layer.name]
            layer.utility.copy_(saved["utility"])
            layer.age.copy_(saved["age"])
            layer.to_replace = float(saved["to_replace"])
            layer.young = deque((int(s), int(c)) for s, c in saved["young"])


class ContinualBackpropCallback(AttachmentCallback[ContinualBackprop]):
    """SB3 callback: :class:`ContinualBackprop` on the critic during ``learn``.

    Its state (:meth:`ContinualBackprop.state_dict`) carries over to the next ``learn``.

    Args:
        replacement_rate: ``rho`` (Dohare et al. use 1e-4 in RL).
        decay: ``eta``, the utility's decay (0.99).
        maturity_threshold: steps before a unit may be replaced (100).

    Example:
        >>> from stable_baselines3 import SAC
        >>> model = SAC("MlpPolicy", "Pendulum-v1", learning_starts=50, batch_size=32)
        >>> callback = ContinualBackpropCallback(replacement_rate=1e-2, maturity_threshold=10)
        >>> _ = model.learn(150, callback=callback)
        >>> callback.n_replaced > 0
        True
    """

    def __init__(
        self,
        replacement_rate: float = 1e-4,
        decay: float = 0.99,
        maturity_threshold: int = 100,
        verbose: int = 0,
    ) -> None:
        super().__init__(verbose)
        self.replacement_rate = check_fraction("replacement_rate", replacement_rate)
        self.decay = _check_rate("decay", decay, upper_open=True)
        self.maturity_threshold = check_positive_int("maturity_threshold", maturity_threshold)

    @property
    def cbp(self) -> ContinualBackprop | None:
        """The running :class:`ContinualBackprop` while ``learn`` runs, else None."""
        return self.attached

    @property
    def n_replaced(self) -> int:
        """Units replaced so far."""
        if self.cbp is not None:
            return self.cbp.n_replaced
        return int(self._saved["n_replaced"]) if self._saved is not None else 0

    def _attach(self) -> ContinualBackprop:
        assert self.maturity_threshold is not None
        return ContinualBackprop(
            self.model, self.replacement_rate, self.decay, self.maturity_threshold
        )

    def _on_rollout_end(self) -> None:
        if self.cbp is not None:
            self.logger.record(f"{TAG}/cbp_replaced", self.cbp.n_replaced)


# ---------------------------------------------------------------------------- the method
class CbpParams(MethodParams):
    """Continual backprop (Dohare et al. 2024), the paper's RL settings as defaults.

    Example:
        >>> CbpParams()
        CbpParams(replacement_rate=0.0001, decay=0.99, maturity_threshold=100)
        >>> CbpParams(decay=1.0)
        Traceback (most recent call last):
        ...
        pydantic_core._pydantic_core.ValidationError: 1 validation error for CbpParams
        decay
          Input should be less than 1 ...
    """

    replacement_rate: float = Field(default=1e-4, ge=0, le=1)
    decay: float = Field(default=0.99, ge=0, lt=1)
    maturity_threshold: int = Field(default=100, ge=1)

    def callbacks(self) -> list[BaseCallback]:
        return [
            ContinualBackpropCallback(self.replacement_rate, self.decay, self.maturity_threshold)
        ]


SPEC = MethodSpec(
    "cbp",
    "continual backprop",
    TuningGrid("methods.cbp.replacement_rate", (0.00001, 0.0001, 0.001)),
    CbpParams,
)
