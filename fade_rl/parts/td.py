"""TD targets and critic losses exactly as SB3's DQN, SAC and TD3 compute them.

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
from stable_baselines3 import DQN, SAC, TD3
from stable_baselines3.common.type_aliases import ReplayBufferSamples
from torch.nn import functional as F

from fade_rl.parts.critics import CriticPass

__all__ = ["critic_loss", "td_targets"]


def td_targets(
    model: Any, data: ReplayBufferSamples, ent_coef: th.Tensor | None = None
) -> th.Tensor:
    """The TD targets the algorithm's own critic loss would use for this batch, ``[B, 1]``.

    DQN: ``r + (1 - d) gamma max_a Q_target(s', a)``; TD3: with the clipped target-policy
    noise and the min over target critics; SAC: with the entropy term. Call under
    ``torch.no_grad()``; SAC and TD3 draw noise from torch's global generator. SAC's
    ``train()`` passes the entropy coefficient it read before its coefficient step
    (``ent_coef``); by default it is the current one. FadeDQN, FadeSAC and FadeTD3 train on
    these targets, and the metrics measure with them.
    """
    discounts = getattr(data, "discounts", None)
    if discounts is None:
        discounts = model.gamma
    if isinstance(model, DQN):
        next_q = model.q_net_target(data.next_observations).max(dim=1).values.reshape(-1, 1)
    elif isinstance(model, TD3):
        noise = data.actions.clone().normal_(0, model.target_policy_noise)
        noise = noise.clamp(-model.target_noise_clip, model.target_noise_clip)
        next_actions = (model.actor_target(data.next_observations) + noise).clamp(-1, 1)
        next_q = th.cat(model.critic_target(data.next_observations, next_actions), dim=1)
        next_q = next_q.min(dim=1, keepdim=True).values
    elif isinstance(model, SAC):
        next_actions, next_log_prob = model.actor.action_log_prob(data.next_observations)
        next_q = th.cat(model.critic_target(data.next_observations, next_actions), dim=1)
        next_q = next_q.min(dim=1, keepdim=True).values
        if ent_coef is None and model.log_ent_coef is not None:
            ent_coef = th.exp(model.log_ent_coef.detach())
        elif ent_coef is None:
            ent_coef = model.ent_coef_tensor
        next_q = next_q - ent_coef * next_log_prob.reshape(-1, 1)
    else:
        raise TypeError(f"td_targets: unsupported model {type(model).__name__}")
    return data.rewards + (1 - data.dones) * discounts * next_q


def critic_loss(
    model: Any, passes: dict[str, CriticPass], data: ReplayBufferSamples, targets: th.Tensor
) -> tuple[th.Tensor, dict[str, th.Tensor]]:
    """The algorithm's critic loss on this pass, and each network's taken-action Q-values.

    DQN: ``smooth_l1(Q[b, a_b], target)``; SAC: ``0.5 * sum_i mse(Q_i, target)``;
    TD3: ``sum_i mse(Q_i, target)``, as SB3 computes them.
    """
    taken: dict[str, th.Tensor] = {}
    if isinstance(model, DQN):
        q = passes["q_net"].q_values
        assert q is not None
        taken["q_net"] = th.gather(q, dim=1, index=data.actions.long())
        return F.smooth_l1_loss(taken["q_net"], targets), taken
    scale = 0.5 if isinstance(model, SAC) else 1.0
    losses = []
    for name, record in passes.items():
        assert record.q_values is not None
        taken[name] = record.q_values
        losses.append(F.mse_loss(record.q_values, targets))
    return scale * th.stack(losses).sum(), taken
