"""The TD3 family: twin critics, clipped-noise TD targets, the sum of their MSE losses.

Example:
    >>> from stable_baselines3 import TD3
    >>> from fade_rl.algos import family_of
    >>> model = TD3("MlpPolicy", "Pendulum-v1", policy_kwargs=dict(net_arch=[8]))
    >>> family = family_of(model)
    >>> family.name, list(family.critic_q_nets(model)), len(family.target_pairs(model))
    ('td3', ['qf0', 'qf1'], 2)
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
        >>> import torch
        >>> from stable_baselines3 import TD3
        >>> from fade_rl.algos import FAMILIES
        >>> family = FAMILIES["td3"]
        >>> model = TD3("MlpPolicy", "Pendulum-v1", policy_kwargs=dict(net_arch=[8]),
        ...             learning_starts=0, buffer_size=100)
        >>> family.owns(model), list(family.critic_q_nets(model)), family.critic_loss_scale
        (True, ['qf0', 'qf1'], 1.0)
        >>> [type(online).__name__ for online, _ in family.target_pairs(model)]
        ['ContinuousCritic', 'Actor']
        >>> _ = model.learn(8)
        >>> family.value_targets(model, family.sample_batch(model, 4)).shape
        torch.Size([4, 1])

        The mean squared error over ``B = 4`` samples has curvature ``2/B`` per output:

        >>> family.output_hessian(model, None, {}, {}, torch.zeros(4, 1)).flatten()
        tensor([0.5000, 0.5000, 0.5000, 0.5000])
    """

    name = "td3"
    sb3_class = TD3
    policy_class = TD3Policy
    critic_arch_policy = CriticArchTD3Policy

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

    def output_hessian(
        self,
        model: Any,
        batch: Any,
        q_values: dict[str, th.Tensor],
        taken: dict[str, th.Tensor],
        targets: th.Tensor,
        grad_norm: th.Tensor | None = None,
    ) -> th.Tensor:
        """``mse`` over ``B`` samples of one output: ``c = 2/B`` for each critic's own head."""
        return mse_output_hessian(targets)

    def target_pairs(self, model: Any) -> list[tuple[nn.Module, nn.Module]]:
        return [(model.critic, model.critic_target), (model.actor, model.actor_target)]
