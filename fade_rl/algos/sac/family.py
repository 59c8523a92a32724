"""The SAC family: twin critics, soft TD targets, half the sum of their MSE losses.

Example:
    >>> from stable_baselines3 import SAC
    >>> from fade_rl.algos import family_of
    >>> model = SAC("MlpPolicy", "Pendulum-v1", policy_kwargs=dict(net_arch=[8]))
    >>> family = family_of(model)
    >>> family.name, list(family.critic_q_nets(model)), len(family.target_pairs(model))
    ('sac', ['qf0', 'qf1'], 1)
"""

from __future__ import annotations

from typing import Any

import torch as th
from stable_baselines3 import SAC
from stable_baselines3.sac.policies import SACPolicy
from torch import nn

from fade_rl.algos.offpolicy import TwinCriticFamily
from fade_rl.algos.sac.policy import CriticArchSACPolicy
from fade_rl.optim import half_squared_error_output_hessian

__all__ = ["SACFamily"]


class SACFamily(TwinCriticFamily):
    """SB3's SAC (and FadeSAC): loss ``0.5 * sum_i mse(Q_i, target)``, the critic's target.

    Example:
        >>> from stable_baselines3 import SAC
        >>> from fade_rl.algos import FAMILIES
        >>> family = FAMILIES["sac"]
        >>> model = SAC("MlpPolicy", "Pendulum-v1", policy_kwargs=dict(net_arch=[8]),
        ...             learning_starts=0, buffer_size=100)
        >>> family.owns(model), list(family.critic_q_nets(model)), family.critic_loss_scale
        (True, ['qf0', 'qf1'], 0.5)
        >>> family.critic_q_nets(model)["qf1"][-1]  # each head: one Q-value
        Linear(in_features=8, out_features=1, bias=True)
        >>> _ = model.learn(8)
        >>> family.value_targets(model, family.sample_batch(model, 4)).shape
        torch.Size([4, 1])
    """

    name = "sac"
    sb3_class = SAC
    policy_class = SACPolicy
    critic_arch_policy = CriticArchSACPolicy
    head_output_hessian = staticmethod(half_squared_error_output_hessian)
    critic_loss_scale = 0.5

    def value_targets(self, model: Any, batch: Any, **options: Any) -> th.Tensor:
        """``r + (1 - d) gamma (min_i Q_target_i(s', a') - alpha log pi(a'|s'))``, ``a' ~ pi``.

        ``ent_coef=`` gives ``alpha`` (SAC's ``train()`` passes the one it read before its
        coefficient step); by default it is the current one. Draws from torch's generator.
        """
        ent_coef = options.get("ent_coef")
        next_actions, next_log_prob = model.actor.action_log_prob(batch.next_observations)
        next_q = th.cat(model.critic_target(batch.next_observations, next_actions), dim=1)
        next_q = next_q.min(dim=1, keepdim=True).values
        if ent_coef is None and model.log_ent_coef is not None:
            ent_coef = th.exp(model.log_ent_coef.detach())
        elif ent_coef is None:
            ent_coef = model.ent_coef_tensor
        next_q = next_q - ent_coef * next_log_prob.reshape(-1, 1)
        return batch.rewards + (1 - batch.dones) * self.discounts(model, batch) * next_q

    def target_pairs(self, model: Any) -> list[tuple[nn.Module, nn.Module]]:
        return [(model.critic, model.critic_target)]
