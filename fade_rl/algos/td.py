"""TD targets and critic losses exactly as SB3's algorithms compute them (their families do).

Example:
    >>> import torch
    >>> from stable_baselines3 import DQN
    >>> model = DQN("MlpPolicy", "CartPole-v1", learning_starts=10)
    >>> _ = model.learn(20)
    >>> data = model.replay_buffer.sample(4)
    >>> with torch.no_grad():
    ...     td_targets(model, data).shape
    torch.Size([4, 1])
"""

from __future__ import annotations

from typing import Any

import torch as th

from fade_rl.algos.registry import family_of
from fade_rl.nets.critics import CriticPass, q_values_of

__all__ = ["critic_loss", "td_targets"]


def td_targets(model: Any, data: Any, ent_coef: th.Tensor | None = None) -> th.Tensor:
    """The TD targets the algorithm's own critic loss would use for this batch, ``[B, 1]``.

    DQN: ``r + (1 - d) gamma max_a Q_target(s', a)``; TD3: with the clipped target-policy
    noise and the min over target critics; SAC: with the entropy term. Call under
    ``torch.no_grad()``; SAC and TD3 draw noise from torch's global generator. SAC's
    ``train()`` passes the entropy coefficient it read before its coefficient step
    (``ent_coef``); by default it is the current one. FadeDQN, FadeSAC and FadeTD3 train on
    these targets, and the metrics measure with them.
    """
    return family_of(model, "td_targets").value_targets(model, data, ent_coef=ent_coef)


def critic_loss(
    model: Any, passes: dict[str, CriticPass], data: Any, targets: th.Tensor
) -> tuple[th.Tensor, dict[str, th.Tensor]]:
    """The algorithm's critic loss on this pass, and each network's taken-action Q-values.

    DQN: ``smooth_l1(Q[b, a_b], target)``; SAC: ``0.5 * sum_i mse(Q_i, target)``;
    TD3: ``sum_i mse(Q_i, target)``, as SB3 computes them.
    """
    return family_of(model, "critic_loss").critic_loss(q_values_of(passes), data, targets)
