"""FADE's decay rates of linear heads and their ``fade/<head>/lambda_*`` tags.

The one place these tags are made: FadeDQN/FadeSAC/FadeTD3 record them at each SB3 log
dump and :class:`~fade_rl.metrics.PlasticityCallback` writes them at its interval (through
:func:`fade_rl.algos.decay_rate_tags`), both from :func:`rate_tags`, so the two writers
cannot drift apart.

Example:
    >>> import torch
    >>> from torch import nn
    >>> from fade_rl.optim import FADE
    >>> head = nn.Linear(3, 2)
    >>> optimizer = FADE([{"params": list(head.parameters()), "fade": True}], init_decay=1e-4)
    >>> scalars, hists = rate_tags(head_decay_rates({"q": head}, optimizer), histograms=True)
    >>> sorted(scalars)[:2], list(hists)
    (['fade/q/lambda_max', 'fade/q/lambda_mean'], ['fade/q/lambda'])
    >>> round(float(scalars["fade/q/lambda_q50"]), 8)
    0.0001
"""

from __future__ import annotations

from typing import Any

import torch as th
from torch import nn

from fade_rl.optim import FADE

__all__ = ["LAMBDA_QUANTILES", "decay_rate_summary", "head_decay_rates", "rate_tags"]

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


def head_decay_rates(heads: dict[str, nn.Module], optimizer: Any) -> dict[str, th.Tensor]:
    """Decay rates ``lambda`` of every element of ``heads`` that ``optimizer`` decays, flat.

    A head none of whose parameters is in a FADE ``"fade"`` group is left out, and an
    optimizer that is not FADE gives ``{}``. Values stay on the device.
    """
    if not isinstance(optimizer, FADE):
        return {}
    fade_ids = {id(p) for g in optimizer.param_groups if g["fade"] for p in g["params"]}
    rates = {}
    for name, head in heads.items():
        params = [p for p in head.parameters() if id(p) in fade_ids]
        if params:
            rates[name] = th.cat([optimizer.decay_rates(p).detach().flatten() for p in params])
    return rates


def rate_tags(
    rates: dict[str, th.Tensor], histograms: bool
) -> tuple[dict[str, th.Tensor], dict[str, th.Tensor]]:
    """``({"fade/<head>/lambda_<stat>": 0-d tensor}, {"fade/<head>/lambda": rates})``.

    The histograms are empty unless ``histograms``. Nothing is read on the host: pass the
    scalars to :func:`fade_rl.nets.readout.read_scalars` (one read).
    """
    scalars: dict[str, th.Tensor] = {}
    hists: dict[str, th.Tensor] = {}
    for name, head_rates in rates.items():
        scalars.update({f"fade/{name}/{k}": v for k, v in decay_rate_summary(head_rates).items()})
        if histograms:
            hists[f"fade/{name}/lambda"] = head_rates
    return scalars, hists
