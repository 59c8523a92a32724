"""The parts of an SB3 model, known in one place: agents, baselines and metrics ask here.

``cli -> experiments -> {agents, envs, metrics} -> parts -> optim``: this package imports
only torch, SB3 and :mod:`fade_rl.optim`.

* :mod:`~fade_rl.parts.checks` -- which models are supported; argument checks.
* :mod:`~fade_rl.parts.heads` -- the critics' Q networks and their linear heads.
* :mod:`~fade_rl.parts.critics` -- critic networks as blocks, one forward pass with every
  hidden output kept.
* :mod:`~fade_rl.parts.td` -- TD targets and critic losses as SB3 computes them.
* :mod:`~fade_rl.parts.targets` -- what an intervention acts on; target-network pairs.
* :mod:`~fade_rl.parts.optimizers` -- optimizers and their state.
* :mod:`~fade_rl.parts.decay` -- FADE's decay rates of the heads; the ``fade/<head>/lambda_*``
  tags (made only here).
* :mod:`~fade_rl.parts.dormancy` -- dormant-unit scores.
* :mod:`~fade_rl.parts.modules` -- re-initializing networks.
* :mod:`~fade_rl.parts.schedule` -- periodic events in environment steps.
* :mod:`~fade_rl.parts.readout` -- the one batched read of measured values to the host
  (call it as ``readout.read_scalars``: the device tests replace it there).
"""

from fade_rl.parts import readout
from fade_rl.parts.checks import (
    SupportedModel,
    check_choice,
    check_fraction,
    check_model,
    check_nonnegative,
    check_positive_int,
    check_replay_buffer,
    check_tau,
)
from fade_rl.parts.critics import CriticNetwork, CriticPass, Layer, critic_networks, run_critics
from fade_rl.parts.decay import (
    LAMBDA_QUANTILES,
    decay_rate_summary,
    decay_rate_tags,
    fade_decay_rates,
)
from fade_rl.parts.dormancy import dormant_scores
from fade_rl.parts.heads import critic_heads, critic_q_nets, head_parameters, split_head
from fade_rl.parts.modules import fresh_copy, reinitialize_, rng_devices
from fade_rl.parts.optimizers import (
    critic_optimizer,
    fade_group_init_decay,
    optimizer_state_of,
    optimizers_of,
    reset_optimizer_state,
    zero_optimizer_state,
)
from fade_rl.parts.schedule import Periodic, next_multiple
from fade_rl.parts.targets import TARGETS, target_modules, target_pairs, target_parameters
from fade_rl.parts.td import critic_loss, td_targets

__all__ = [
    "LAMBDA_QUANTILES",
    "TARGETS",
    "CriticNetwork",
    "CriticPass",
    "Layer",
    "Periodic",
    "SupportedModel",
    "check_choice",
    "check_fraction",
    "check_model",
    "check_nonnegative",
    "check_positive_int",
    "check_replay_buffer",
    "check_tau",
    "critic_heads",
    "critic_loss",
    "critic_networks",
    "critic_optimizer",
    "critic_q_nets",
    "decay_rate_summary",
    "decay_rate_tags",
    "dormant_scores",
    "fade_decay_rates",
    "fade_group_init_decay",
    "fresh_copy",
    "head_parameters",
    "next_multiple",
    "optimizer_state_of",
    "optimizers_of",
    "readout",
    "reinitialize_",
    "reset_optimizer_state",
    "rng_devices",
    "run_critics",
    "split_head",
    "target_modules",
    "target_pairs",
    "target_parameters",
    "td_targets",
    "zero_optimizer_state",
]
