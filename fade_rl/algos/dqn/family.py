"""The DQN family: one Q network, the Huber TD loss, the Q network's target copy.

Example:
    >>> from stable_baselines3 import DQN
    >>> from fade_rl.algos import family_of
    >>> model = DQN("MlpPolicy", "CartPole-v1", policy_kwargs=dict(net_arch=[8]))
    >>> family = family_of(model)
    >>> family.name, list(family.critic_q_nets(model))
    ('dqn', ['q_net'])
"""

from __future__ import annotations

from typing import Any

import torch as th
from stable_baselines3 import DQN
from stable_baselines3.dqn.policies import DQNPolicy
from torch import nn
from torch.nn import functional as F

from fade_rl.algos.dqn.policy import CriticArchDQNPolicy
from fade_rl.algos.offpolicy import OffPolicyFamily
from fade_rl.algos.protocol import LossPass
from fade_rl.nets.critics import CriticNetwork, critic_blocks, extractor_layer
from fade_rl.optim import dqn_output_hessian

__all__ = ["DQNFamily"]


class DQNFamily(OffPolicyFamily):
    """SB3's DQN (and FadeDQN): the online Q network ``"q_net"`` takes observations only.

    Example:
        >>> import torch
        >>> from types import SimpleNamespace
        >>> from stable_baselines3 import DQN
        >>> from fade_rl.algos import FAMILIES, LossPass
        >>> family = FAMILIES["dqn"]
        >>> model = DQN("MlpPolicy", "CartPole-v1", policy_kwargs=dict(net_arch=[8]),
        ...             learning_starts=0, buffer_size=100)
        >>> family.owns(model), list(family.critic_q_nets(model))
        (True, ['q_net'])
        >>> family.critic_q_nets(model)["q_net"][-1]  # the head: one output per action
        Linear(in_features=8, out_features=2, bias=True)

        The loss reads the taken action's Q-value; its curvature is ``1/B`` there, in
        Huber's quadratic zone only (``|delta| < 1``: sample 1, not sample 0):

        >>> batch = SimpleNamespace(actions=torch.tensor([[0], [1]]))
        >>> q_values = {"q_net": torch.tensor([[1.0, 2.0], [3.0, 4.0]])}
        >>> targets = torch.tensor([[3.0], [4.0]])
        >>> loss, taken = family.critic_loss(q_values, batch, targets)
        >>> loss, taken["q_net"].flatten()
        (tensor(0.7500), tensor([1., 4.]))
        >>> family.output_hessian(model, LossPass(batch, q_values, taken, targets))
        tensor([[0.0000, 0.0000],
                [0.0000, 0.5000]])
    """

    name = "dqn"
    sb3_class = DQN
    policy_class = DQNPolicy
    critic_arch_policy = CriticArchDQNPolicy

    def critic_q_nets(self, model: Any) -> dict[str, nn.Module]:
        return {"q_net": model.policy.q_net.q_net}

    def critic_target_nets(self, model: Any) -> dict[str, nn.Module]:
        return {"q_net": model.policy.q_net_target.q_net}

    def critic_networks(self, model: Any) -> list[CriticNetwork]:
        q_net = model.policy.q_net
        return [
            CriticNetwork(
                name="q_net",
                extractor=q_net.features_extractor,
                owner=q_net,
                layers=critic_blocks(q_net.q_net, "policy.q_net.q_net"),
                takes_actions=False,
                extractor_layer=extractor_layer(q_net.features_extractor),
            )
        ]

    def value_targets(self, model: Any, batch: Any, **options: Any) -> th.Tensor:
        """``r + (1 - d) gamma max_a Q_target(s', a)``, as SB3's DQN computes it."""
        next_q = model.q_net_target(batch.next_observations).max(dim=1).values.reshape(-1, 1)
        return batch.rewards + (1 - batch.dones) * self.discounts(model, batch) * next_q

    def critic_loss(
        self, q_values: dict[str, th.Tensor], batch: Any, targets: th.Tensor
    ) -> tuple[th.Tensor, dict[str, th.Tensor]]:
        """``smooth_l1(Q[b, a_b], target)``; ``taken`` is ``{"q_net": Q[b, a_b]}``."""
        taken = th.gather(q_values["q_net"], dim=1, index=batch.actions.long())
        return F.smooth_l1_loss(taken, targets), {"q_net": taken}

    def output_hessian(
        self, model: Any, loss: LossPass, grad_norm: th.Tensor | None = None
    ) -> th.Tensor:
        """``c[b, k] = s [k == a_b] [|delta_b| < 1] / B``, ``s`` the gradient-clipping factor.

        Only the taken action's row, only samples in Huber's quadratic zone; ``s`` is
        ``grad_clip_factor(grad_norm, max_grad_norm)`` (a device tensor: no host read).
        """
        td_errors = loss.taken["q_net"].detach() - loss.targets
        c = dqn_output_hessian(loss.batch.actions, td_errors, loss.q_values["q_net"].shape[1])
        return self.clip_scaled(c, model, grad_norm)

    def trained_modules(self, model: Any, target: str) -> list[nn.Module]:
        return [model.policy.q_net]

    def target_pairs(self, model: Any) -> list[tuple[nn.Module, nn.Module]]:
        return [(model.policy.q_net, model.policy.q_net_target)]
