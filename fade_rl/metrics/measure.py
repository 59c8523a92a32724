"""One measurement of the critics on a replay batch: every metric, as tensors on the device.

The metrics of one hidden layer are listed in :func:`layer_metrics`, those of a set of
parameters in :func:`parameter_metrics` and those of a head's outputs in
:func:`head_metrics`: adding a metric means adding a line to one of them (its definition
goes to :mod:`fade_rl.metrics.functional`). Nothing here reads a value on the host; the
callback reads them all at once (:mod:`fade_rl.nets.readout`).

Example:
    >>> import torch
    >>> sorted(layer_metrics(torch.ones(4, 3), taus=(0.0,), srank_delta=0.01))
    ['active_units', 'dormant_ratio_tau0', 'effective_rank', 'feature_norm', 'srank']
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch as th
from stable_baselines3.common.type_aliases import ReplayBufferSamples
from torch import nn

from fade_rl.algos import (
    CriticNetwork,
    critic_loss,
    decay_rate_tags,
    rng_devices,
    run_critics,
    td_targets,
)
from fade_rl.metrics import functional as F

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
    out = {f"dormant_ratio_tau{tau:g}": F.dormant_ratio(acts, tau) for tau in taus}
    out["active_units"] = F.active_units(acts)
    sv = F.singular_values(acts)
    out["srank"] = F.srank_of_singular_values(sv, srank_delta)
    out["effective_rank"] = F.effective_rank_of_singular_values(sv)
    out["feature_norm"] = F.feature_norm(acts)
    return out


def parameter_metrics(
    params: Sequence[nn.Parameter],
    initial: Sequence[th.Tensor],
    grads: Sequence[th.Tensor | None],
) -> Tensors:
    """Norms of a set of parameters, of their distance from initialization, of the gradient."""
    return {
        "weight_norm": F.weight_norm(params),
        "dist_from_init": F.distance_from_init(params, initial),
        "grad_norm": F.gradient_norm(grads),
    }


def head_metrics(q_values: th.Tensor, taken: th.Tensor, targets: th.Tensor) -> Tensors:
    """Q-value statistics of all outputs, TD-error statistics of the taken actions."""
    return {**F.value_stats(q_values), **F.td_error_stats(taken, targets)}


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
    data: ReplayBufferSamples,
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

    def of_params(prefix: str, ps: Sequence[nn.Parameter]) -> Tensors:
        grads = [grad_of.get(id(p)) for p in ps]
        found = parameter_metrics(ps, [initial[id(p)] for p in ps], grads)
        return {f"{prefix}/{k}": v for k, v in found.items()}

    scalars: Tensors = {}
    hists: Tensors = {}
    for net in networks:
        record = passes[net.name]
        prefix = f"plasticity/{net.name}"
        for layer in net.hidden:
            acts = record.activations[layer.name].detach()
            tag = f"{prefix}/{layer.name}"
            found = layer_metrics(acts, taus, srank_delta)
            scalars.update({f"{tag}/{k}": v for k, v in found.items()})
            scalars.update(of_params(tag, layer.parameters()))
            if histograms:
                hists[f"{tag}/activations"] = acts
        scalars.update(of_params(f"{prefix}/head", net.head.parameters()))
        assert record.q_values is not None
        found = head_metrics(record.q_values, taken[net.name], targets)
        scalars.update({f"{prefix}/head/{k}": v for k, v in found.items()})
        scalars.update(of_params(f"{prefix}/net", net.parameters()))
    scalars["plasticity/critic_loss"] = loss.detach()
    fade_scalars, fade_hists = decay_rate_tags(model, histograms)
    return {**scalars, **fade_scalars}, {**hists, **fade_hists}


def final_layer_means(latest: Mapping[str, float], tau: float) -> dict[str, float]:
    """``final/dormant_ratio_tau<tau>``, ``final/srank``, ``final/effective_rank`` and
    ``final/probe_fit_ratio``: means over networks and hidden layers of the latest values
    (heads and whole-network tags left out).

    Example:
        >>> final_layer_means({"plasticity/q_net/hidden0/srank": 3.0,
        ...                    "plasticity/q_net/hidden1/srank": 5.0}, tau=0.1)
        {'final/srank': 4.0}
    """
    out = {}
    dormant = f"dormant_ratio_tau{tau:g}"
    for key, suffix in (
        (f"final/{dormant}", f"/{dormant}"),
        ("final/srank", "/srank"),
        ("final/effective_rank", "/effective_rank"),
        ("final/probe_fit_ratio", "/probe/fit_ratio"),
    ):
        values = [
            v
            for k, v in latest.items()
            if k.startswith("plasticity/")
            and k.endswith(suffix)
            and "/head/" not in k
            and "/net/" not in k
        ]
        if values:
            out[key] = sum(values) / len(values)
    return out
