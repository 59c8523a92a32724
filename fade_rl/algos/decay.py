"""FADE's decay rates of a model's critic heads and their ``fade/<head>/lambda_*`` tags.

The model-level face of :mod:`fade_rl.nets.decay`: the heads and the critic optimizer come
from the model's algorithm family.

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

from typing import Any

import torch as th

from fade_rl.algos.critics import critic_heads
from fade_rl.algos.optimizers import critic_optimizer
from fade_rl.nets.decay import LAMBDA_QUANTILES, decay_rate_summary, head_decay_rates, rate_tags

__all__ = ["LAMBDA_QUANTILES", "decay_rate_summary", "decay_rate_tags", "fade_decay_rates"]


def fade_decay_rates(model: Any) -> dict[str, th.Tensor]:
    """Decay rates ``lambda`` of every critic head element FADE optimizes, flat, by head name.

    Heads are named as in :func:`~fade_rl.algos.critic_q_nets` (``"q_net"``; ``"qf0"``,
    ``"qf1"``); a head none of whose parameters is in a FADE ``"fade"`` group is left out,
    and a model whose critic optimizer is not FADE gives ``{}``. Values stay on the device.
    """
    return head_decay_rates(dict(critic_heads(model)), critic_optimizer(model))


def decay_rate_tags(
    model: Any, histograms: bool
) -> tuple[dict[str, th.Tensor], dict[str, th.Tensor]]:
    """``({"fade/<head>/lambda_<stat>": 0-d tensor}, {"fade/<head>/lambda": rates})``.

    The histograms are empty unless ``histograms``. Nothing is read on the host: pass the
    scalars to :func:`fade_rl.nets.readout.read_scalars` (one read).
    """
    return rate_tags(fade_decay_rates(model), histograms)
