"""FadeSAC: SB3's SAC whose twin Q heads learn their own per-element decay rates with FADE."""

from __future__ import annotations

from typing import ClassVar

import torch as th
from stable_baselines3 import SAC
from stable_baselines3.common.utils import polyak_update

from fade_rl.algos.common import FadeAlgorithmMixin, no_distribution_validation
from fade_rl.algos.protocol import AlgorithmFamily
from fade_rl.algos.sac.family import SACFamily

__all__ = ["FAMILY", "FadeSAC"]


class FadeSAC(FadeAlgorithmMixin, SAC):
    """SAC whose critics' heads (each twin's final ``nn.Linear``, separately) are optimized by FADE.

    Takes every argument of :class:`stable_baselines3.SAC`, plus ``fade_kwargs``
    for :class:`~fade_rl.optim.FADE`. The critics' other parameters keep the base
    optimizer and SB3's learning-rate schedule; the actor and the entropy
    coefficient are untouched; the target critics copy the decayed weights.

    SB3's critic loss ``0.5 * sum_i mse(Q_i, target)`` has output Hessian ``1/B``
    for each critic's own head; the curvature comes from the features of the
    critic-loss pass, so the critic pass inside the actor loss changes nothing.

    Example:
        >>> from fade_rl import FadeSAC
        >>> model = FadeSAC("MlpPolicy", "Pendulum-v1", learning_starts=50, batch_size=32,
        ...                 policy_kwargs=dict(net_arch=[32, 32]))
        >>> _ = model.learn(100)
        >>> sorted(model.fade_decay_rates())
        ['qf0', 'qf1']
    """

    sb3_class: ClassVar[type] = SAC

    @property
    def family(self) -> AlgorithmFamily:
        """The SAC family (:data:`FAMILY`)."""
        return FAMILY

    def train(self, gradient_steps: int, batch_size: int = 64) -> None:
        """SB3's SAC update, with FADE's curvature taken from the critic-loss pass.

        The losses and entropy coefficients stay on the device and are read once, at
        the end. torch.distributions' argument checks, which read a flag on the host
        at every actor sample, are off during the call (:func:`no_distribution_validation`).
        """
        with no_distribution_validation():
            self._train(gradient_steps, batch_size)

    def _train(self, gradient_steps: int, batch_size: int) -> None:
        self.policy.set_training_mode(True)
        optimizers = [self.actor.optimizer, self.critic.optimizer]
        if self.ent_coef_optimizer is not None:
            optimizers += [self.ent_coef_optimizer]
        self._update_learning_rate(optimizers)
        family = self.family

        ent_coef_losses: list[th.Tensor] = []
        ent_coefs: list[th.Tensor] = []
        actor_losses: list[th.Tensor] = []
        critic_losses: list[th.Tensor] = []

        for gradient_step in range(gradient_steps):
            replay_data = family.sample_batch(self, batch_size)
            if self.use_sde:
                self.actor.reset_noise()

            actions_pi, log_prob = self.actor.action_log_prob(replay_data.observations)
            log_prob = log_prob.reshape(-1, 1)

            ent_coef_loss = None
            if self.ent_coef_optimizer is not None and self.log_ent_coef is not None:
                ent_coef = th.exp(self.log_ent_coef.detach())
                assert isinstance(self.target_entropy, float)
                ent_coef_loss = -(
                    self.log_ent_coef * (log_prob + self.target_entropy).detach()
                ).mean()
                ent_coef_losses.append(ent_coef_loss.detach())
            else:
                ent_coef = self.ent_coef_tensor

            ent_coefs.append(ent_coef.detach())

            if ent_coef_loss is not None and self.ent_coef_optimizer is not None:
                self.ent_coef_optimizer.zero_grad()
                ent_coef_loss.backward()
                self.ent_coef_optimizer.step()

            critic_losses.append(self._critic_step(replay_data, ent_coef=ent_coef))

            q_values_pi = th.cat(self.critic(replay_data.observations, actions_pi), dim=1)
            min_qf_pi, _ = th.min(q_values_pi, dim=1, keepdim=True)
            actor_loss = (ent_coef * log_prob - min_qf_pi).mean()
            actor_losses.append(actor_loss.detach())

            self.actor.optimizer.zero_grad()
            actor_loss.backward()
            self.actor.optimizer.step()

            if gradient_step % self.target_update_interval == 0:
                polyak_update(self.critic.parameters(), self.critic_target.parameters(), self.tau)
                polyak_update(self.batch_norm_stats, self.batch_norm_stats_target, 1.0)

        self._n_updates += gradient_steps

        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self._record_train_means(
            {
                "ent_coef": ent_coefs,
                "actor_loss": actor_losses,
                "critic_loss": critic_losses,
                "ent_coef_loss": ent_coef_losses,
            }
        )


#: The SAC family, with FadeSAC as its FADE version.
FAMILY = SACFamily(fade_class=FadeSAC)
