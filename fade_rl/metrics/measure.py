"""One measurement of the critics on a batch: every metric, as tensors on the device.

The metrics come from :mod:`fade_rl.metrics.registry`: each scope's entries run on what
that scope receives (every hidden layer, every set of parameters, every head, the critic
loss, FADE's decay rates); add a metric there, not here. Nothing here reads a value on
the host; the callback reads them all at once (:mod:`fade_rl.nets.readout`).

Example:
    >>> import torch
    >>> sorted(layer_metrics(torch.ones(4, 3), taus=(0.0,), srank_delta=0.01))
    ['active_units', 'dormant_ratio_tau0', 'effective_rank', 'feature_norm', 'srank']
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch as th
from torch import nn

from fade_rl.algos import CriticNetwork, critic_loss, rng_devices, run_critics, td_targets
from fade_rl.algos.decay import fade_decay_rates
from fade_rl.metrics import registry
from fade_rl.metrics.inputs import HeadOutputs, LayerFeatures, ParameterSet
from fade_rl.metrics.summaries import final_means

__all__ = [
    "final_layer_means",
    "head_metrics",
    "isolated",
    "layer_metrics",
    "measure_critics",
    "parameter_metrics",
    "unique_parameters",
]

Tensors = dict[str, th.Tensor]


@contextmanager
def isolated(model: Any) -> Iterator[None]:
    """Run a measurement without changing training: numpy's and torch's random state (on
    the model's devices too) and the policy's training mode are restored afterwards, and the
    policy is in evaluation mode meanwhile."""
    policy = model.policy
    np_state = np.random.get_state()
    was_training = policy.training
    try:
        with th.random.fork_rng(devices=rng_devices(policy)):
            policy.set_training_mode(False)
            yield
    finally:
        np.random.set_state(np_state)
        policy.set_training_mode(was_training)


def layer_metrics(acts: th.Tensor, taus: Sequence[float], srank_delta: float) -> Tensors:
    """The metrics of one hidden layer's activations ``[batch, units]``, by tag suffix."""
    return registry.compute("layer", LayerFeatures(acts, taus, srank_delta))


def parameter_metrics(
    params: Sequence[nn.Parameter],
    initial: Sequence[th.Tensor],
    grads: Sequence[th.Tensor | None],
) -> Tensors:
    """Norms of a set of parameters, of their distance from initialization, of the gradient."""
    return registry.compute("parameters", ParameterSet(params, initial, grads))


def head_metrics(q_values: th.Tensor, taken: th.Tensor, targets: th.Tensor) -> Tensors:
    """Q-value statistics of all outputs, TD-error statistics of the taken actions."""
    return registry.compute("head", HeadOutputs(q_values, taken, targets))


def unique_parameters(networks: Sequence[CriticNetwork]) -> list[nn.Parameter]:
    """The trainable parameters of the networks, each once (twins may share an extractor)."""
    seen: set[int] = set()
    params = []
    for net in networks:
        for p in net.parameters():
            if id(p) not in seen and p.requires_grad:
                seen.add(id(p))
                params.append(p)
    return params


def measure_critics(
    model: Any,
    networks: Sequence[CriticNetwork],
    data: Any,
    initial: Mapping[int, th.Tensor],
    taus: Sequence[float],
    srank_delta: float,
    histograms: bool,
) -> tuple[Tensors, Tensors]:
    """Every metric of the critics on ``data``: ``(scalars, histograms)`` by full tag.

    One forward pass with the hidden outputs kept, the algorithm's own TD targets and
    loss, and its gradient by ``torch.autograd.grad`` (``.grad`` is never written). Call
    inside :func:`isolated`. ``initial`` maps ``id(parameter)`` to its initial value.
    """
    with th.no_grad():
        targets = td_targets(model, data)
    with th.enable_grad():
        passes = run_critics(list(networks), data.observations, data.actions)
        loss, taken = critic_loss(model, passes, data, targets)
        params = unique_parameters(networks)
        all_grads = th.autograd.grad(loss, params, allow_unused=True, materialize_grads=True)
    grad_of = {id(p): g for p, g in zip(params, all_grads, strict=True)}

    def of_params(ps: Iterable[nn.Parameter], **names: str) -> Tensors:
        ps = list(ps)
        found = ParameterSet(ps, [initial[id(p)] for p in ps], [grad_of.get(id(p)) for p in ps])
        return registry.tagged("parameters", found, **names)

    scalars: Tensors = {}
    hists: Tensors = {}
    for net in networks:
        record = passes[net.name]
        for layer in net.hidden:
            acts = record.activations[layer.name].detach()
            names = {"network": net.name, "layer": layer.name}
            scalars.update(
                registry.tagged("layer", LayerFeatures(acts, taus, srank_delta), **names)
            )
            scalars.update(of_params(layer.parameters(), network=net.name, group=layer.name))
            if histograms:
                hists[f"plasticity/{net.name}/{layer.name}/activations"] = acts
        scalars.update(of_params(net.head.parameters(), network=net.name, group="head"))
        assert record.q_values is not None
        head = HeadOutputs(record.q_values, taken[net.name], targets)
        scalars.update(registry.tagged("head", head, network=net.name))
        scalars.update(of_params(net.parameters(), network=net.name, group="net"))
    scalars.update(registry.tagged("critic", loss))
    for name, rates in fade_decay_rates(model).items():
        scalars.update(registry.tagged("fade", rates, network=name))
        if histograms:
            hists[f"fade/{name}/lambda"] = rates
    return scalars, hists


def final_layer_means(latest: Mapping[str, float], tau: float) -> dict[str, float]:
    """The final summary's means of the latest values, ``tau`` the dormancy threshold
    summarised (:func:`~fade_rl.metrics.summaries.final_means`): ``final/dormant_ratio_tau<tau>``,
    ``final/srank``, ``final/effective_rank``, ``final/probe_fit_ratio`` and any other
    entry's ``final`` suffixes.

    Example:
        >>> final_layer_means({"plasticity/q_net/hidden0/srank": 3.0,
        ...                    "plasticity/q_net/hidden1/srank": 5.0}, tau=0.1)
        {'final/srank': 4.0}
    """
    return final_means(latest, (tau,))
