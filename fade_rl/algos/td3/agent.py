"""FadeTD3: SB3's TD3 whose twin Q heads learn their own per-element decay rates with FADE."""

from __future__ import annotations

from typing import ClassVar

from stable_baselines3 import TD3
from stable_baselines3.common.utils import polyak_update

from fade_rl.algos.common import FadeAlgorithmMixin
from fade_rl.algos.protocol import AlgorithmFamily
from fade_rl.algos.td3.family import TD3Family

__all__ = ["FAMILY", "FadeTD3"]


class FadeTD3(FadeAlgorithmMixin, TD3):
    """TD3 whose critics' heads (each twin's final ``nn.Linear``, separately) are optimized by FADE.

    Takes every argument of :class:`stable_baselines3.TD3`, plus ``fade_kwargs``
    for :class:`~fade_rl.optim.FADE`. The critics' other parameters keep the base
    optimizer and SB3's learning-rate schedule; the actor is untouched; the
    target critics copy the decayed weights.

    SB3's critic loss ``sum_i mse(Q_i, target)`` has output Hessian ``2/B`` for
    each critic's own head, taken from the features of the critic-loss pass.

    Example:
        FADE's options go in ``fade_kwargs``; each twin's head (16 weights, 1 bias) gets its
        own decay rates, starting at ``init_decay``:

        >>> from fade_rl import FadeTD3
        >>> model = FadeTD3("MlpPolicy", "Pendulum-v1", policy_kwargs=dict(net_arch=[16]),
        ...                 fade_kwargs=dict(init_decay=1e-3), learning_starts=50)
        >>> {name: rates.shape for name, rates in model.fade_decay_rates().items()}
        {'qf0': torch.Size([17]), 'qf1': torch.Size([17])}
        >>> _ = model.learn(100)
    """

    sb3_class: ClassVar[type] = TD3

    @property
    def family(self) -> AlgorithmFamily:
        """The TD3 family (:data:`FAMILY`)."""
        return FAMILY

    def train(self, gradient_steps: int, batch_size: int = 100) -> None:
        """SB3's TD3 update, with FADE's curvature taken from the critic-loss pass.

        The losses stay on the device; ``train/*_loss`` are read once, at the end.
        """
        self.policy.set_training_mode(True)
        self._update_learning_rate([self.actor.optimizer, self.critic.optimizer])
        family = self.family

        actor_losses, critic_losses = [], []
        for _ in range(gradient_steps):
            self._n_updates += 1
            replay_data = family.sample_batch(self, batch_size)
            critic_losses.append(self._critic_step(replay_data))

            if self._n_updates % self.policy_delay == 0:
                actor_loss = -self.critic.q1_forward(
                    replay_data.observations, self.actor(replay_data.observations)
                ).mean()
                actor_losses.append(actor_loss.detach())

                self.actor.optimizer.zero_grad()
                actor_loss.backward()
                self.actor.optimizer.step()

                polyak_update(self.critic.parameters(), self.critic_target.parameters(), self.tau)
                polyak_update(self.actor.parameters(), self.actor_target.parameters(), self.tau)
                polyak_update(
                    self.critic_batch_norm_stats, self.critic_batch_norm_stats_target, 1.0
                )
                polyak_update(self.actor_batch_norm_stats, self.actor_batch_norm_stats_target, 1.0)

        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self._record_train_means({"actor_loss": actor_losses, "critic_loss": critic_losses})


#: The TD3 family, with FadeTD3 as its FADE version.
FAMILY = TD3Family(fade_class=FadeTD3)
