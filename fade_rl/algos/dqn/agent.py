"""FadeDQN: SB3's DQN whose Q head learns its own per-element decay rates with FADE."""

from __future__ import annotations

from typing import ClassVar

import torch as th
from stable_baselines3 import DQN

from fade_rl.algos.common import FadeAlgorithmMixin
from fade_rl.algos.dqn.family import DQNFamily
from fade_rl.algos.protocol import AlgorithmFamily
from fade_rl.nets.critics import q_values_of

__all__ = ["FAMILY", "FadeDQN"]


class FadeDQN(FadeAlgorithmMixin, DQN):
    """DQN whose Q head (the final ``nn.Linear`` of the Q network) is optimized by FADE.

    Takes every argument of :class:`stable_baselines3.DQN`, plus ``fade_kwargs``
    for :class:`~fade_rl.optim.FADE` (``meta_lr``, ``init_decay``,
    ``log_decay_bounds``, ``idbd``, ``idbd_meta_lr``, ``base``, ``betas``,
    ``eps``, ``foreach``). The other Q-network parameters keep the base
    optimizer (Adam unless ``policy_kwargs`` says SGD) and SB3's learning-rate
    schedule; the target network copies the decayed weights as usual.

    Every gradient step hands FADE the exact curvature of SB3's loss with respect
    to the head: ``smooth_l1(Q[b, a_b], target)`` averaged over the batch has
    output Hessian ``(1/B) [k == a_b] [|delta_b| < 1]`` (only the taken action's
    row, only samples in Huber's quadratic zone), multiplied by the factor that
    gradient-norm clipping applied; ``H_W = c^T phi^2``, with ``phi`` the head's
    input features in the very pass whose loss is backpropagated.

    Args:
        policy: ``"MlpPolicy"``, ``"CnnPolicy"``, ``"MultiInputPolicy"`` or a DQNPolicy class.
        env: the environment or its id.
        *args: SB3 DQN's positional arguments after ``env``.
        fade_kwargs: keyword arguments of FADE (not the learning rate: that is
            ``learning_rate``).
        **kwargs: SB3 DQN's keyword arguments.

    Example:
        >>> from fade_rl import FadeDQN
        >>> model = FadeDQN("MlpPolicy", "CartPole-v1", learning_starts=50,
        ...                 fade_kwargs=dict(meta_lr=1.0, init_decay=1e-4))
        >>> _ = model.learn(200)
        >>> model.fade_decay_rates()["q_net"].shape
        torch.Size([130])
    """

    sb3_class: ClassVar[type] = DQN

    @property
    def family(self) -> AlgorithmFamily:
        """The DQN family (:data:`FAMILY`)."""
        return FAMILY

    def train(self, gradient_steps: int, batch_size: int = 100) -> None:
        """SB3's DQN update, with FADE's curvature taken from the loss pass itself.

        The losses stay on the device; ``train/loss`` is read once, at the end.
        """
        self.policy.set_training_mode(True)
        self._update_learning_rate(self.policy.optimizer)
        family = self.family

        losses = []
        for _ in range(gradient_steps):
            replay_data = family.sample_batch(self, batch_size)
            with th.no_grad():
                target_q_values = family.value_targets(self, replay_data)

            passes = self._critic_pass(replay_data)
            q_values = q_values_of(passes)
            loss, taken = family.critic_loss(q_values, replay_data, target_q_values)
            losses.append(loss.detach())

            self.policy.optimizer.zero_grad()
            loss.backward()
            total_norm = th.nn.utils.clip_grad_norm_(self.policy.parameters(), self.max_grad_norm)
            c = family.output_hessian(
                self, replay_data, q_values, taken, target_q_values, grad_norm=total_norm
            )
            self._set_heads_curvature(passes, c)
            self.policy.optimizer.step()

        self._n_updates += gradient_steps

        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self._record_train_means({"loss": losses})


#: The DQN family, with FadeDQN as its FADE version.
FAMILY = DQNFamily(fade_class=FadeDQN)
