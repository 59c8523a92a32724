"""Algorithm families (DQN, SAC, TD3, PPO): their FADE agents, and what a model is made of.

``methods, metrics -> algos -> nets -> optim``. Each family is one folder (``dqn/``,
``sac/``, ``td3/``, ``ppo/``: the Fade agent, the family, its policy with critic options) and one
line in :data:`FAMILIES`; :func:`family_of` finds a model's family, which knows its
critics, batches, targets, loss, curvature, optimizers and target networks
(:class:`AlgorithmFamily`). Code outside a family asks here, never ``isinstance``.

* :mod:`~fade_rl.algos.protocol` -- :class:`AlgorithmFamily` (and the :class:`LossPass` it reads).
* :mod:`~fade_rl.algos.registry` -- :data:`FAMILIES`, :func:`family_of`, :func:`check_model`.
* :mod:`~fade_rl.algos.common` -- what FadeDQN, FadeSAC, FadeTD3 and FadePPO share.
* :mod:`~fade_rl.algos.attach` -- :func:`attach_fade`.
* :mod:`~fade_rl.algos.checkpoint` -- FADE checkpoints.
* :mod:`~fade_rl.algos.critics` -- a model's Q networks, heads and blocks.
* :mod:`~fade_rl.algos.td` -- TD targets and critic losses.
* :mod:`~fade_rl.algos.targets` -- what an intervention acts on; target-network pairs.
* :mod:`~fade_rl.algos.optimizers` -- a model's optimizers and their state.
* :mod:`~fade_rl.algos.decay` -- the decay rates of a model's heads and their tags.
* :mod:`~fade_rl.algos.extractors` -- MinAtar's features extractor.

The algorithm-free pieces of :mod:`fade_rl.nets` are re-exported here too, so that one
import gives every part of a model.

Example:
    >>> from fade_rl.algos import FAMILIES, FadeDQN
    >>> FAMILIES["dqn"].fade_class is FadeDQN
    True
"""

from fade_rl.algos.attach import attach_fade
from fade_rl.algos.checkpoint import FadeCheckpointError
from fade_rl.algos.critics import critic_heads, critic_networks, critic_q_nets
from fade_rl.algos.decay import decay_rate_tags, fade_decay_rates
from fade_rl.algos.dqn import CriticArchDQNPolicy, FadeDQN
from fade_rl.algos.extractors import MinAtarCNN, minatar_policy_kwargs
from fade_rl.algos.offpolicy import check_replay_buffer
from fade_rl.algos.optimizers import (
    critic_optimizer,
    fade_group_init_decay,
    optimizer_state_of,
    optimizers_of,
    reset_optimizer_state,
    zero_optimizer_state,
)
from fade_rl.algos.ppo import CriticArchPPOPolicy, FadePPO, RolloutBatch, check_rollout_buffer
from fade_rl.algos.protocol import AlgorithmFamily, LossPass
from fade_rl.algos.registry import (
    ALGORITHM_NAMES,
    FAMILIES,
    SupportedModel,
    check_model,
    critic_arch_policy,
    family_of,
    family_of_class,
)
from fade_rl.algos.sac import CriticArchSACPolicy, FadeSAC
from fade_rl.algos.targets import TARGETS, target_modules, target_pairs, target_parameters
from fade_rl.algos.td import critic_loss, td_targets
from fade_rl.algos.td3 import CriticArchTD3Policy, FadeTD3
from fade_rl.nets import (
    LAMBDA_QUANTILES,
    CReLU,
    CriticNetwork,
    CriticPass,
    Layer,
    Periodic,
    check_choice,
    check_fraction,
    check_nonnegative,
    check_positive_int,
    check_tau,
    critic_mlp_with_options,
    decay_rate_summary,
    dormant_scores,
    fresh_copy,
    head_parameters,
    next_multiple,
    readout,
    reinitialize_,
    rng_devices,
    run_critics,
    split_head,
)

__all__ = [
    "ALGORITHM_NAMES",
    "FAMILIES",
    "LAMBDA_QUANTILES",
    "TARGETS",
    "AlgorithmFamily",
    "CReLU",
    "CriticArchDQNPolicy",
    "CriticArchPPOPolicy",
    "CriticArchSACPolicy",
    "CriticArchTD3Policy",
    "CriticNetwork",
    "CriticPass",
    "FadeCheckpointError",
    "FadeDQN",
    "FadePPO",
    "FadeSAC",
    "FadeTD3",
    "Layer",
    "LossPass",
    "MinAtarCNN",
    "Periodic",
    "RolloutBatch",
    "SupportedModel",
    "attach_fade",
    "check_choice",
    "check_fraction",
    "check_model",
    "check_nonnegative",
    "check_positive_int",
    "check_replay_buffer",
    "check_rollout_buffer",
    "check_tau",
    "critic_arch_policy",
    "critic_heads",
    "critic_loss",
    "critic_mlp_with_options",
    "critic_networks",
    "critic_optimizer",
    "critic_q_nets",
    "decay_rate_summary",
    "decay_rate_tags",
    "dormant_scores",
    "fade_decay_rates",
    "fade_group_init_decay",
    "family_of",
    "family_of_class",
    "fresh_copy",
    "head_parameters",
    "minatar_policy_kwargs",
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
