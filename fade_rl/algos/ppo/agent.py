"""FadePPO: SB3's PPO whose value head learns its own per-element decay rates with FADE."""

from __future__ import annotations

from typing import Any, ClassVar

import torch as th
from gymnasium import spaces
from stable_baselines3 import PPO
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.utils import explained_variance
from torch.nn import functional as F

from fade_rl.algos.common import FadeAlgorithmMixin, no_distribution_validation
from fade_rl.algos.ppo.family import PPOFamily, RolloutBatch
from fade_rl.algos.protocol import AlgorithmFamily, LossPass
from fade_rl.nets.critics import CriticPass, q_values_of

__all__ = ["FAMILY", "FadePPO"]


class FadePPO(FadeAlgorithmMixin, PPO):
    """PPO whose value head (``policy.value_net``, an ``nn.Linear``) is optimized by FADE.

    Takes every argument of :class:`stable_baselines3.PPO`, plus ``fade_kwargs`` for
    :class:`~fade_rl.optim.FADE`. SB3's PPO trains the whole policy with one optimizer;
    here that optimizer (its class and kwargs, Adam with ``eps=1e-5`` by default) keeps
    every parameter but the value head's and becomes FADE's ``body``, so the actor, the
    value MLP and the features extractors train exactly as in SB3.

    Every minibatch step hands FADE the exact curvature of SB3's value term
    ``vf_coef * mse(returns, pred)`` in the head's output: ``2 vf_coef / B`` per sample,
    zero where ``clip_range_vf`` clamps the prediction, times the factor that gradient-norm
    clipping (``max_grad_norm``, over the whole policy) applied; ``H_W = c^T phi^2`` with
    ``phi`` the value latent of the very pass whose loss is backpropagated.

    Example:
        >>> from fade_rl import FadePPO
        >>> model = FadePPO("MlpPolicy", "CartPole-v1", n_steps=64, batch_size=32, n_epochs=2,
        ...                 fade_kwargs=dict(meta_lr=1.0, init_decay=1e-4))
        >>> _ = model.learn(128)
        >>> model.fade_heads
        {'value_net': Linear(in_features=64, out_features=1, bias=True)}
        >>> model.fade_decay_rates()["value_net"].shape
        torch.Size([65])
    """

    sb3_class: ClassVar[type] = PPO

    @property
    def family(self) -> AlgorithmFamily:
        """The PPO family (:data:`FAMILY`)."""
        return FAMILY

    def dump_logs(self, iteration: int = 0) -> None:
        """Record the ``fade/`` keys, then write SB3's logs (PPO's, with its iteration)."""
        self._record_fade_stats()
        PPO.dump_logs(self, iteration)

    def _evaluate(
        self, batch: RolloutBatch, actions: th.Tensor
    ) -> tuple[th.Tensor, th.Tensor, th.Tensor | None, dict[str, CriticPass]]:
        """SB3's ``evaluate_actions`` with the value latent kept: values ``[B, 1]``, log
        probabilities, entropy and the critic pass (the value head's input and output).

        A policy that overrides ``evaluate_actions`` keeps its own; the value then comes
        from the family's critic pass (the same function of the observations).
        """
        policy = self.policy
        if type(policy).evaluate_actions is not ActorCriticPolicy.evaluate_actions:
            _, log_prob, entropy = policy.evaluate_actions(batch.observations, actions)
            passes = self._critic_pass(batch)
            values = passes["value_net"].q_values
            assert values is not None
            return values, log_prob, entropy, passes
        features = policy.extract_features(batch.observations)
        if policy.share_features_extractor:
            latent_pi, latent_vf = policy.mlp_extractor(features)
        else:
            pi_features, vf_features = features
            latent_pi = policy.mlp_extractor.forward_actor(pi_features)
            latent_vf = policy.mlp_extractor.forward_critic(vf_features)
        distribution = policy._get_action_dist_from_latent(latent_pi)
        log_prob = distribution.log_prob(actions)
        values = policy.value_net(latent_vf)
        entropy = distribution.entropy()
        return values, log_prob, entropy, {"value_net": CriticPass({}, latent_vf, values)}

    def train(self) -> None:
        """SB3's PPO update, with FADE's curvature taken from the loss pass itself.

        The losses stay on the device and are read once, at the end (SB3 reads each with
        ``.item()`` every minibatch); only ``target_kl`` reads the KL estimate every
        minibatch, as SB3 must to stop early. torch.distributions' argument checks, which
        read a flag on the host for every distribution built, are off during the call
        (:func:`~fade_rl.algos.common.no_distribution_validation`).
        """
        with no_distribution_validation():
            self._train()

    def _train(self) -> None:
        self.policy.set_training_mode(True)
        self._update_learning_rate(self.policy.optimizer)
        progress = self._current_progress_remaining
        clip_range = self.clip_range(progress)  # type: ignore[operator]
        family = self.family
        assert isinstance(family, PPOFamily)

        entropy_losses: list[th.Tensor] = []
        pg_losses: list[th.Tensor] = []
        value_losses: list[th.Tensor] = []
        clip_fractions: list[th.Tensor] = []
        approx_kl_divs: list[th.Tensor] = []
        loss = th.zeros(())

        continue_training = True
        for epoch in range(self.n_epochs):
            approx_kl_divs = []
            for rollout_data in self.rollout_buffer.get(self.batch_size):
                batch = family.batch_of(self, rollout_data)
                actions = rollout_data.actions
                if isinstance(self.action_space, spaces.Discrete):
                    actions = rollout_data.actions.long().flatten()

                _, log_prob, entropy, passes = self._evaluate(batch, actions)
                advantages = rollout_data.advantages
                if self.normalize_advantage and len(advantages) > 1:
                    advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)

                ratio = th.exp(log_prob - rollout_data.old_log_prob)
                policy_loss_1 = advantages * ratio
                policy_loss_2 = advantages * th.clamp(ratio, 1 - clip_range, 1 + clip_range)
                policy_loss = -th.min(policy_loss_1, policy_loss_2).mean()
                pg_losses.append(policy_loss.detach())
                clip_fractions.append(th.mean((th.abs(ratio.detach() - 1) > clip_range).float()))

                # The value term: vf_coef * mse(returns, pred), pred clipped with clip_range_vf
                q_values = q_values_of(passes)
                targets = family.value_targets(self, batch)
                value_term, taken = family.critic_loss(q_values, batch, targets)
                with th.no_grad():
                    value_losses.append(F.mse_loss(targets, taken["value_net"]))

                # the approximate entropy where it has no analytical form, as in SB3
                entropy_loss = -th.mean(-log_prob) if entropy is None else -th.mean(entropy)
                entropy_losses.append(entropy_loss.detach())

                loss = policy_loss + self.ent_coef * entropy_loss + value_term

                with th.no_grad():
                    log_ratio = log_prob - rollout_data.old_log_prob
                    approx_kl_div = th.mean((th.exp(log_ratio) - 1) - log_ratio)
                    approx_kl_divs.append(approx_kl_div)

                if self.target_kl is not None and float(approx_kl_div) > 1.5 * self.target_kl:
                    continue_training = False
                    if self.verbose >= 1:
                        print(
                            f"Early stopping at step {epoch} due to reaching max kl: "
                            f"{float(approx_kl_div):.2f}"
                        )
                    break

                optimizer = self.policy.optimizer
                optimizer.zero_grad()
                loss.backward()
                grad_norm = th.nn.utils.clip_grad_norm_(
                    self.policy.parameters(), self.max_grad_norm
                )
                loss_pass = LossPass(batch, q_values, taken, targets)
                self._set_heads_curvature(passes, family.output_hessian(self, loss_pass, grad_norm))
                optimizer.step()

            self._n_updates += 1
            if not continue_training:
                break

        explained_var = explained_variance(
            self.rollout_buffer.values.flatten(), self.rollout_buffer.returns.flatten()
        )
        self._record_logs(
            {
                "entropy_loss": entropy_losses,
                "policy_gradient_loss": pg_losses,
                "value_loss": value_losses,
                "approx_kl": approx_kl_divs,
                "clip_fraction": clip_fractions,
                "loss": [loss.detach()],
            },
            explained_var,
            clip_range,
        )

    def _record_logs(
        self, means: dict[str, list[th.Tensor]], explained_var: Any, clip_range: float
    ) -> None:
        """SB3's PPO ``train/`` keys: the device means in one read, then the host values."""
        if hasattr(self.policy, "log_std"):
            means["std"] = [th.exp(self.policy.log_std.detach()).mean()]
        self._record_train_means(means)
        self.logger.record("train/explained_variance", explained_var)
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/clip_range", clip_range)
        if self.clip_range_vf is not None:
            clip_range_vf = self.clip_range_vf(self._current_progress_remaining)  # type: ignore[operator]
            self.logger.record("train/clip_range_vf", clip_range_vf)


#: The PPO family, with FadePPO as its FADE version.
FAMILY = PPOFamily(fade_class=FadePPO)
