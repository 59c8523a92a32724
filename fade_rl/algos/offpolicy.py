"""What the replay-buffer families (DQN, SAC, TD3) share: batches from the replay buffer.

:class:`OffPolicyFamily` is a base for an :class:`~fade_rl.algos.AlgorithmFamily` whose
algorithm learns from a replay buffer; :class:`TwinCriticFamily` adds SB3's
``ContinuousCritic`` (SAC, TD3). A family without a replay buffer (PPO) implements the
protocol without them.

Example:
    >>> from stable_baselines3 import DQN
    >>> from fade_rl.algos import family_of
    >>> model = DQN("MlpPolicy", "CartPole-v1", learning_starts=10)
    >>> _ = model.learn(20)
    >>> family_of(model).sample_batch(model, 4).rewards.shape
    torch.Size([4, 1])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch as th
from stable_baselines3.common.buffers import ReplayBuffer
from torch import nn
from torch.nn import functional as F

from fade_rl.algos.base import FamilyBase, model_buffer
from fade_rl.algos.protocol import LossPass
from fade_rl.nets.critics import CriticNetwork, critic_blocks, extractor_layer
from fade_rl.nets.modules import fresh_copy

__all__ = ["OffPolicyFamily", "TwinCriticFamily", "check_replay_buffer"]


def check_replay_buffer(model: Any, who: str) -> ReplayBuffer:
    """The model's replay buffer, or a ValueError saying how to give it one."""
    remedy = (
        "Create the model normally (its replay buffer is built in _setup_model), "
        "or after loading call model.load_replay_buffer(path)."
    )
    return model_buffer(model, "replay_buffer", who, remedy)  # type: ignore[no-any-return]


class OffPolicyFamily(FamilyBase):
    """A family of an SB3 off-policy algorithm: its batches come from the replay buffer.

    Subclasses set the class attributes of :class:`~fade_rl.algos.base.FamilyBase` and
    implement the critics, targets, loss and curvature.

    Args:
        fade_class: the algorithm's FADE version (FadeDQN, ...).

    Example:
        >>> from stable_baselines3 import DQN
        >>> from fade_rl.algos import FAMILIES
        >>> family = FAMILIES["dqn"]
        >>> family, isinstance(family, OffPolicyFamily)
        (DQNFamily(FadeDQN), True)
        >>> model = DQN("MlpPolicy", "CartPole-v1", policy_kwargs=dict(net_arch=[8]),
        ...             learning_starts=0, buffer_size=100)
        >>> _ = model.learn(8)
        >>> batch = family.sample_batch(model, 4)  # from model.replay_buffer
        >>> batch.observations.shape, batch.rewards.shape, family.discounts(model, batch)
        (torch.Size([4, 4]), torch.Size([4, 1]), 0.99)
    """

    #: SB3's off-policy algorithms learn from a replay buffer: a method acts at once.
    on_policy = False

    def fresh_modules(self, model: Any, modules: list[nn.Module]) -> list[nn.Module]:
        """PyTorch's default initialization, as SB3 builds off-policy networks: a copy of
        each module re-initialized (:func:`fade_rl.nets.fresh_copy`), in order."""
        return [fresh_copy(module) for module in modules]

    def sample_batch(self, model: Any, batch_size: int) -> Any:
        """A batch from the replay buffer, as SB3's ``train()`` samples it."""
        buffer = check_replay_buffer(model, f"{type(model).__name__}.train")
        return buffer.sample(batch_size, env=model._vec_normalize_env)

    @staticmethod
    def discounts(model: Any, batch: Any) -> Any:
        """The batch's per-sample discounts (n-step buffers), else the model's ``gamma``."""
        discounts = getattr(batch, "discounts", None)
        return model.gamma if discounts is None else discounts


class TwinCriticFamily(OffPolicyFamily):
    """SAC and TD3: twin Q networks ``"qf0"``, ``"qf1"`` in SB3's ``ContinuousCritic``.

    The critic loss is ``critic_loss_scale * sum_i mse(Q_i, target)``; its curvature in each
    critic's own output is :attr:`head_output_hessian` of the targets.

    Example:
        Twin critics whose MSEs are ``0.5`` and ``0``: TD3 sums them, SAC halves the sum.

        >>> import torch
        >>> from fade_rl.algos import FAMILIES
        >>> q_values = {"qf0": torch.tensor([[1.0], [2.0]]), "qf1": torch.tensor([[0.0], [2.0]])}
        >>> targets = torch.tensor([[0.0], [2.0]])
        >>> [FAMILIES[name].critic_loss(q_values, None, targets)[0] for name in ("td3", "sac")]
        [tensor(0.5000), tensor(0.2500)]

        Over ``B = 4`` samples, TD3's MSE has curvature ``2/B`` per output, SAC's half of it:

        >>> loss = LossPass(batch=None, q_values={}, taken={}, targets=torch.zeros(4, 1))
        >>> [FAMILIES[name].output_hessian(None, loss)[0, 0] for name in ("td3", "sac")]
        [tensor(0.5000), tensor(0.2500)]
    """

    #: SAC halves the sum of the twin critics' MSE losses; TD3 does not.
    critic_loss_scale: float = 1.0
    #: ``c`` of one critic's term of the loss, from a tensor of its outputs' shape.
    head_output_hessian: Callable[[th.Tensor], th.Tensor]

    def critic_q_nets(self, model: Any) -> dict[str, nn.Module]:
        return {f"qf{i}": net for i, net in enumerate(model.critic.q_networks)}

    def critic_target_nets(self, model: Any) -> dict[str, nn.Module]:
        return {f"qf{i}": net for i, net in enumerate(model.critic_target.q_networks)}

    def critic_networks(self, model: Any) -> list[CriticNetwork]:
        critic = model.critic
        shared = getattr(critic, "share_features_extractor", False)
        features = None if shared else extractor_layer(critic.features_extractor)
        return [
            CriticNetwork(
                name=name,
                extractor=critic.features_extractor,
                owner=critic,
                layers=critic_blocks(net, f"critic.q_networks[{i}]"),
                takes_actions=True,
                extractor_layer=features,
                shared_extractor=shared,
            )
            for i, (name, net) in enumerate(self.critic_q_nets(model).items())
        ]

    def critic_loss(
        self, q_values: dict[str, th.Tensor], batch: Any, targets: th.Tensor
    ) -> tuple[th.Tensor, dict[str, th.Tensor]]:
        """``scale * sum_i mse(Q_i, target)``, as SB3 computes it; ``taken`` is ``q_values``."""
        loss: th.Tensor | None = None
        for q in q_values.values():
            term = F.mse_loss(q, targets)
            loss = term if loss is None else loss + term
        assert loss is not None, "a twin critic has critics"
        if self.critic_loss_scale != 1.0:
            loss = self.critic_loss_scale * loss
        return loss, dict(q_values)

    def output_hessian(
        self, model: Any, loss: LossPass, grad_norm: th.Tensor | None = None
    ) -> th.Tensor:
        """The same ``c`` for each critic's head: :attr:`head_output_hessian` of the targets.

        SB3's SAC and TD3 do not clip gradients: ``grad_norm`` changes nothing.
        """
        return self.head_output_hessian(loss.targets)

    def critic_optimizer_owner(self, model: Any) -> Any:
        return model.critic

    def optimizers(self, model: Any) -> list[th.optim.Optimizer]:
        return [model.critic.optimizer, model.actor.optimizer]

    def trained_modules(self, model: Any, target: str) -> list[nn.Module]:
        critic = model.critic
        modules: list[nn.Module] = list(self.critic_q_nets(model).values())
        if not critic.share_features_extractor:
            modules.append(critic.features_extractor)
        if target == "all":
            modules.append(model.actor)
        return modules
