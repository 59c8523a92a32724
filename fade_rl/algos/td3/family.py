"""The TD3 family: twin critics, clipped-noise TD targets, the sum of their MSE losses.

Example:
    The target actor follows its online actor as the target critics follow theirs:

    >>> from stable_baselines3 import TD3
    >>> from fade_rl.algos import family_of
    >>> model = TD3("MlpPolicy", "Pendulum-v1", policy_kwargs=dict(net_arch=[8]))
    >>> [type(online).__name__ for online, _ in family_of(model).target_pairs(model)]
    ['ContinuousCritic', 'Actor']
"""

from __future__ import annotations

from typing import Any

import torch as th
from stable_baselines3 import TD3
from stable_baselines3.td3.policies import TD3Policy
from torch import nn

from fade_rl.algos.offpolicy import TwinCriticFamily
from fade_rl.algos.td3.policy import CriticArchTD3Policy
from fade_rl.optim import mse_output_hessian

__all__ = ["TD3Family"]


class TD3Family(TwinCriticFamily):
    """SB3's TD3 (and FadeTD3): loss ``sum_i mse(Q_i, target)``; critic and actor targets.

    Example:
        Without target-policy noise, a target is the smaller target critic's value at
        the target actor's action (zero reward, not done: ``gamma`` times that value):

        >>> import torch
        >>> from types import SimpleNamespace
        >>> from stable_baselines3 import TD3
        >>> from fade_rl.algos import FAMILIES
        >>> model = TD3("MlpPolicy", "Pendulum-v1", policy_kwargs=dict(net_arch=[8]),
        ...             target_policy_noise=0.0)
        >>> family = FAMILIES["td3"]
        >>> s = torch.ones(1, 3)
        >>> batch = SimpleNamespace(actions=torch.zeros(1, 1), next_observations=s,
        ...                         rewards=torch.zeros(1, 1), dones=torch.zeros(1, 1))
        >>> with torch.no_grad():
        ...     q = torch.cat(model.critic_target(s, model.actor_target(s)), dim=1)
        ...     targets = family.value_targets(model, batch)
        >>> torch.allclose(targets, model.gamma * q.min(dim=1, keepdim=True).values)
        True
    """

    name = "td3"
    sb3_class = TD3
    policy_class = TD3Policy
    critic_arch_policy = CriticArchTD3Policy
    head_output_hessian = staticmethod(mse_output_hessian)

    def value_targets(self, model: Any, batch: Any, **options: Any) -> th.Tensor:
        """``r + (1 - d) gamma min_i Q_target_i(s', clip(pi_target(s') + clip(noise)))``.

        Draws the target-policy noise from torch's generator.
        """
        noise = batch.actions.clone().normal_(0, model.target_policy_noise)
        noise = noise.clamp(-model.target_noise_clip, model.target_noise_clip)
        next_actions = (model.actor_target(batch.next_observations) + noise).clamp(-1, 1)
        next_q = th.cat(model.critic_target(batch.next_observations, next_actions), dim=1)
        next_q = next_q.min(dim=1, keepdim=True).values
        return batch.rewards + (1 - batch.dones) * self.discounts(model, batch) * next_q

    def target_pairs(self, model: Any) -> list[tuple[nn.Module, nn.Module]]:
        return [(model.critic, model.critic_target), (model.actor, model.actor_target)]
