"""FadeDQN: SB3's DQN whose Q head learns its own per-element decay rates with FADE."""

from __future__ import annotations

from typing import Any, ClassVar

import torch as th
from stable_baselines3 import DQN
from torch import nn
from torch.nn import functional as F

from fade_rl.agents.common import FadeAlgorithmMixin
from fade_rl.optim import dqn_head_curvature
from fade_rl.parts.td import td_targets

__all__ = ["FadeDQN"]


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

    def _fade_optimizer_owner(self) -> Any:
        return self.policy

    def _set_dqn_curvature(
        self,
        head: nn.Linear,
        phi: th.Tensor,
        actions: th.Tensor,
        td_errors: th.Tensor,
        total_norm: th.Tensor,
    ) -> None:
        """Hand FADE the curvature of SB3's clipped Huber loss with respect to the head.

        ``c = dqn_output_hessian(actions, delta, K) * grad_clip_factor(||G||, max_grad_norm)``:
        ``c[b, k] = s [k == a_b] [|delta_b| < 1] / B`` with ``s`` the clip factor, then
        ``H_W = c^T phi^2`` and ``H_b = sum_b c[b]``. One code path on every device:
        the clip factor stays a device tensor, so nothing is read on the host.
        """
        h_weight, h_bias = dqn_head_curvature(
            phi, actions, td_errors, head.out_features, total_norm, self.max_grad_norm
        )
        optimizer = self.fade_optimizer
        if head.weight.grad is not None:
            optimizer.set_curvature(head.weight, h_weight)
        if head.bias is not None and head.bias.grad is not None:
            optimizer.set_curvature(head.bias, h_bias)

    def train(self, gradient_steps: int, batch_size: int = 100) -> None:
        """SB3's DQN update, with FADE's curvature taken from the loss pass itself.

        The losses stay on the device; ``train/loss`` is read once, at the end.
        """
        self.policy.set_training_mode(True)
        self._update_learning_rate(self.policy.optimizer)
        body, head = self._fade_parts["q_net"]

        losses = []
        for _ in range(gradient_steps):
            replay_data = self.replay_buffer.sample(batch_size, env=self._vec_normalize_env)  # type: ignore[union-attr]
            with th.no_grad():
                target_q_values = td_targets(self, replay_data)

            # The same computation as QNetwork.forward, with the head's input kept.
            features = self.q_net.extract_features(
                replay_data.observations, self.q_net.features_extractor
            )
            phi = body(features)
            current_q_values = th.gather(head(phi), dim=1, index=replay_data.actions.long())

            loss = F.smooth_l1_loss(current_q_values, target_q_values)
            losses.append(loss.detach())

            self.policy.optimizer.zero_grad()
            loss.backward()
            total_norm = th.nn.utils.clip_grad_norm_(self.policy.parameters(), self.max_grad_norm)
            self._set_dqn_curvature(
                head,
                phi,
                replay_data.actions,
                current_q_values.detach() - target_q_values,
                total_norm,
            )
            self.policy.optimizer.step()

        self._n_updates += gradient_steps

        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self._record_train_means({"loss": losses})
