"""Algorithm-free network pieces: heads, blocks, re-initialization, dormancy, CReLU/LayerNorm.

``algos -> nets -> optim``: this package imports torch and SB3's policy building blocks,
never an SB3 algorithm class; what a DQN, SAC or TD3 model is made of is
:mod:`fade_rl.algos`' knowledge.

* :mod:`~fade_rl.nets.heads` -- a network's linear head and the body computing its input.
* :mod:`~fade_rl.nets.critics` -- critic networks as blocks; the one forward pass, with the
  head's input and every hidden output kept.
* :mod:`~fade_rl.nets.modules` -- re-initializing networks, fresh copies.
* :mod:`~fade_rl.nets.decay` -- FADE's decay rates of heads; the ``fade/<head>/lambda_*`` tags.
* :mod:`~fade_rl.nets.dormancy` -- dormant-unit scores.
* :mod:`~fade_rl.nets.architectures` -- CReLU and layer norm in an MLP critic.
* :mod:`~fade_rl.nets.checks` -- argument checks, one message per mistake.
* :mod:`~fade_rl.nets.schedule` -- periodic events in environment steps.
* :mod:`~fade_rl.nets.readout` -- the one batched read of measured values to the host
  (call it as ``readout.read_scalars``: the device tests replace it there).

Example:
    >>> from torch import nn
    >>> split_head(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)), "q")[1]
    Linear(in_features=8, out_features=2, bias=True)
"""

from fade_rl.nets import readout
from fade_rl.nets.architectures import (
    ContinuousCriticArchMixin,
    CReLU,
    CriticArchMixin,
    check_flag,
    critic_mlp_with_options,
)
from fade_rl.nets.checks import (
    check_choice,
    check_fraction,
    check_nonnegative,
    check_positive_int,
    check_tau,
)
from fade_rl.nets.critics import (
    CriticNetwork,
    CriticPass,
    FeaturesOwner,
    Layer,
    critic_blocks,
    extractor_layer,
    q_values_of,
    run_critics,
)
from fade_rl.nets.decay import (
    LAMBDA_QUANTILES,
    decay_rate_summary,
    head_decay_rates,
    rate_tags,
)
from fade_rl.nets.dormancy import dormant_scores
from fade_rl.nets.heads import head_parameters, split_head
from fade_rl.nets.modules import fresh_copy, reinitialize_, rng_devices
from fade_rl.nets.schedule import Periodic, next_multiple

__all__ = [
    "LAMBDA_QUANTILES",
    "CReLU",
    "ContinuousCriticArchMixin",
    "CriticArchMixin",
    "CriticNetwork",
    "CriticPass",
    "FeaturesOwner",
    "Layer",
    "Periodic",
    "check_choice",
    "check_flag",
    "check_fraction",
    "check_nonnegative",
    "check_positive_int",
    "check_tau",
    "critic_blocks",
    "critic_mlp_with_options",
    "decay_rate_summary",
    "dormant_scores",
    "extractor_layer",
    "fresh_copy",
    "head_decay_rates",
    "head_parameters",
    "next_multiple",
    "q_values_of",
    "rate_tags",
    "readout",
    "reinitialize_",
    "rng_devices",
    "run_critics",
    "split_head",
]
