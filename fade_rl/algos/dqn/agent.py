"""FadeDQN: SB3's DQN whose Q head learns its own per-element decay rates with FADE."""

from __future__ import annotations

from typing import ClassVar

from stable_baselines3 import DQN

from fade_rl.algos.common import FadeAlgorithmMixin
from fade_rl.algos.dqn.family import DQNFamily
from fade_rl.algos.protocol import AlgorithmFamily

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
            losses.append(self._critic_step(replay_data, max_grad_norm=self.max_grad_norm))

        self._n_updates += gradient_steps

        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self._record_train_means({"loss": losses})


#: The DQN family, with FadeDQN as its FADE version.
FAMILY = DQNFamily(fade_class=FadeDQN)
