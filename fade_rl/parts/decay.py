"""FADE's decay rates of the critic heads and their ``fade/<head>/lambda_*`` tags.

The one place these tags are made: FadeDQN/FadeSAC/FadeTD3 record them at each SB3 log
dump and :class:`~fade_rl.metrics.PlasticityCallback` writes them at its interval, both
from :func:`decay_rate_tags`, so the two writers cannot drift apart.

Example:
    >>> from fade_rl import FadeDQN
    >>> model = FadeDQN("MlpPolicy", "CartPole-v1", policy_kwargs=dict(net_arch=[8]),
    ...                 fade_kwargs=dict(init_decay=1e-4))
    >>> scalars, hists = decay_rate_tags(model, histograms=True)
    >>> sorted(scalars)[:2], list(hists)
    (['fade/q_net/lambda_max', 'fade/q_net/lambda_mean'], ['fade/q_net/lambda'])
    >>> round(float(scalars["fade/q_net/lambda_q50"]), 8)
    0.0001
"""

from __future__ import annotations

import torch as th

from fade_rl.optim import FADE
from fade_rl.parts.checks import SupportedModel
from fade_rl.parts.heads import critic_heads
from fade_rl.parts.optimizers import critic_optimizer

__all__ = ["LAMBDA_QUANTILES", "decay_rate_summary", "decay_rate_tags", "fade_decay_rates"]

#: The quantiles (in percent) that ``fade/<head>/lambda_q<p>`` reports.
LAMBDA_QUANTILES = (10, 50, 90)


def decay_rate_summary(rates: th.Tensor) -> dict[str, th.Tensor]:
    """``lambda_{mean,min,q10,q50,q90,max}`` of FADE decay rates, as 0-d tensors on their device.

    The suffixes of the ``fade/<head>/lambda_*`` tags, so every writer names them alike.
    """
    rates = rates.detach().flatten().double()
    probabilities = th.tensor(
        [q / 100 for q in LAMBDA_QUANTILES], dtype=rates.dtype, device=rates.device
    )
    quantiles = th.quantile(rates, probabilities).unbind()
    return {
        "lambda_mean": rates.mean(),
        "lambda_min": rates.min(),
        **{f"lambda_q{q}": v for q, v in zip(LAMBDA_QUANTILES, quantiles, strict=True)},
        "lambda_max": rates.max(),
    }


def fade_decay_rates(model: SupportedModel) -> dict[str, th.Tensor]:
    """Decay rates ``lambda`` of every critic head element FADE optimizes, flat, by head name.

    Heads are named as in :func:`~fade_rl.parts.critic_q_nets` (``"q_net"``; ``"qf0"``,
    ``"qf1"``); a head none of whose parameters is in a FADE ``"fade"`` group is left out,
    and a model whose critic optimizer is not FADE gives ``{}``. Values stay on the device.
    """
    optimizer = critic_optimizer(model)
    if not isinstance(optimizer, FADE):
        return {}
    fade_ids = {id(p) for g in optimizer.param_groups if g["fade"] for p in g["params"]}
    rates = {}
    for name, head in critic_heads(model).items():
        params = [p for p in head.parameters() if id(p) in fade_ids]
        if params:
            rates[name] = th.cat([optimizer.decay_rates(p).detach().flatten() for p in params])
    return rates


def decay_rate_tags(
    model: SupportedModel, histograms: bool
) -> tuple[dict[str, th.Tensor], dict[str, th.Tensor]]:
    """``({"fade/<head>/lambda_<stat>": 0-d tensor}, {"fade/<head>/lambda": rates})``.

    The histograms are empty unless ``histograms``. Nothing is read on the host: pass the
    scalars to :func:`fade_rl.parts.readout.read_scalars` (one read).
    """
    scalars: dict[str, th.Tensor] = {}
    hists: dict[str, th.Tensor] = {}
    for name, rates in fade_decay_rates(model).items():
        scalars.update({f"fade/{name}/{k}": v for k, v in decay_rate_summary(rates).items()})
        if histograms:
            hists[f"fade/{name}/lambda"] = rates
    return scalars, hists
