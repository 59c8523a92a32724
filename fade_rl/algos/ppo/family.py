"""The PPO family: the value network, PPO's (optionally clipped) value loss, the rollout buffer.

PPO has one critic, the value network: the value side of the policy's ``mlp_extractor``
followed by ``policy.value_net``, a bare ``nn.Linear`` (the head FADE optimizes), on the
value features extractor. It learns from the rollout buffer, whose returns are its
targets; there are no target networks. One optimizer (``policy.optimizer``) trains the
whole policy on ``policy loss + ent_coef * entropy loss + vf_coef * value loss``.

Example:
    >>> from stable_baselines3 import PPO
    >>> from fade_rl.algos import family_of
    >>> model = PPO("MlpPolicy", "CartPole-v1", n_steps=32, batch_size=16)
    >>> family = family_of(model)
    >>> family.name, list(family.critic_q_nets(model)), family.target_pairs(model)
    ('ppo', ['value_net'], [])
"""

from __future__ import annotations

import copy
from typing import Any, NamedTuple

import numpy as np
import torch as th
from stable_baselines3 import PPO
from stable_baselines3.common.buffers import RolloutBuffer
from stable_baselines3.common.policies import ActorCriticPolicy, BaseModel
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn
from torch.nn import functional as F

from fade_rl.algos.base import FamilyBase, model_buffer
from fade_rl.algos.ppo.policy import CriticArchPPOPolicy
from fade_rl.algos.protocol import LossPass
from fade_rl.nets.critics import CriticNetwork, critic_blocks, extractor_layer
from fade_rl.optim import value_output_hessian

__all__ = ["PPOFamily", "RolloutBatch", "ValueFeatures", "check_rollout_buffer"]

#: The rollout buffer's arrays that SB3 flattens before it draws minibatches.
_FLATTENED = ("actions", "values", "log_probs", "advantages", "returns")


class RolloutBatch(NamedTuple):
    """A PPO minibatch as PPO's ``train()`` sees it: SB3's rollout samples and the settings
    of the value loss in force when it was drawn (the family's loss reads them there).

    Example:
        >>> import torch
        >>> ones = torch.ones(4)
        >>> batch = RolloutBatch(torch.zeros(4, 2), ones, ones, ones, ones, ones, 0.5, None)
        >>> batch.returns.shape, batch.vf_coef, batch.clip_range_vf
        (torch.Size([4]), 0.5, None)
    """

    observations: Any  # a tensor, or a dict of tensors (MultiInputPolicy)
    actions: th.Tensor
    old_values: th.Tensor
    old_log_prob: th.Tensor
    advantages: th.Tensor
    returns: th.Tensor
    #: SB3's ``vf_coef``: the value loss's weight in PPO's loss.
    vf_coef: float
    #: The value clip range now (SB3's ``clip_range_vf`` schedule), or None: no clipping.
    clip_range_vf: float | None


def check_rollout_buffer(model: Any, who: str) -> RolloutBuffer:
    """The model's rollout buffer, or a ValueError saying why there is none to sample."""
    remedy = "Create the model normally (its rollout buffer is built in _setup_model)."
    buffer: RolloutBuffer = model_buffer(model, "rollout_buffer", who, remedy)
    if not buffer.full:
        raise ValueError(
            f"the {type(model).__name__} model's rollout buffer holds no finished rollout "
            f"({buffer.pos} of {buffer.buffer_size} steps); {who} samples a collected rollout "
            "(after learn() has collected one, before the next starts)"
        )
    return buffer


def _flattened(buffer: RolloutBuffer) -> RolloutBuffer:
    """``buffer`` as its ``get()`` reads it (steps of all environments in one axis), left as
    it was: a shallow copy holds the flattened arrays when the buffer does not yet."""
    if buffer.generator_ready:
        return buffer
    view = copy.copy(buffer)
    for name in _FLATTENED:
        view.__dict__[name] = buffer.swap_and_flatten(getattr(buffer, name))
    obs = buffer.observations
    if isinstance(obs, dict):
        view.__dict__["observations"] = {k: buffer.swap_and_flatten(v) for k, v in obs.items()}
    else:
        view.__dict__["observations"] = buffer.swap_and_flatten(obs)
    view.generator_ready = True
    return view


def _clip_range_vf(model: Any) -> float | None:
    """The value clip range at the model's progress now, or None."""
    clip = model.clip_range_vf
    if clip is None:
        return None
    return float(clip(model._current_progress_remaining) if callable(clip) else clip)


class ValueFeatures:
    """The value side of an actor-critic policy as a critic's features owner.

    ``ActorCriticPolicy.extract_features`` returns the actor's and the critic's features
    when they do not share an extractor; the critic pass needs the value side only, with
    the policy's preprocessing (SB3's ``BaseModel.extract_features``).

    Example:
        >>> import torch
        >>> from stable_baselines3 import PPO
        >>> model = PPO("MlpPolicy", "CartPole-v1", n_steps=32, batch_size=16,
        ...             policy_kwargs=dict(share_features_extractor=False))
        >>> owner = ValueFeatures(model.policy)
        >>> owner.extract_features(torch.ones(2, 4), model.policy.vf_features_extractor).shape
        torch.Size([2, 4])
    """

    def __init__(self, policy: ActorCriticPolicy) -> None:
        self.policy = policy

    @property
    def observation_space(self) -> Any:
        """The policy's observation space."""
        return self.policy.observation_space

    @property
    def normalize_images(self) -> bool:
        """Whether the policy scales image observations."""
        return bool(self.policy.normalize_images)

    def extract_features(self, obs: Any, features_extractor: BaseFeaturesExtractor) -> Any:
        """``features_extractor`` on ``obs`` preprocessed as the policy does."""
        return BaseModel.extract_features(self.policy, obs, features_extractor)


class PPOFamily(FamilyBase):
    """SB3's PPO (and FadePPO): the value network ``"value_net"``, its loss, the rollout buffer.

    Args:
        fade_class: PPO's FADE version (FadePPO).

    Example:
        >>> import torch
        >>> from stable_baselines3 import PPO
        >>> from fade_rl.algos import FAMILIES, LossPass
        >>> family = FAMILIES["ppo"]
        >>> model = PPO("MlpPolicy", "CartPole-v1", n_steps=32, batch_size=16,
        ...             policy_kwargs=dict(net_arch=[8]), clip_range_vf=0.5)
        >>> family.owns(model), family.critic_q_nets(model)["value_net"]
        (True, Sequential(
          (0): Linear(in_features=4, out_features=8, bias=True)
          (1): Tanh()
          (2): Linear(in_features=8, out_features=1, bias=True)
        ))

        The loss is ``vf_coef * mse(returns, pred)``; with ``clip_range_vf`` the prediction
        stays within the clip range of the rollout's value, where it has no curvature:

        >>> _ = model.learn(32)
        >>> batch = family.sample_batch(model, 3)._replace(
        ...     old_values=torch.zeros(3), returns=torch.ones(3))
        >>> values = {"value_net": torch.tensor([[0.0], [0.25], [2.0]])}
        >>> targets = family.value_targets(model, batch)
        >>> loss, taken = family.critic_loss(values, batch, targets)
        >>> loss, taken["value_net"].flatten()  # 0.5 * (1 + 0.5625 + 0.25) / 3
        (tensor(0.3021), tensor([0.0000, 0.2500, 0.5000]))
        >>> family.output_hessian(model, LossPass(batch, values, taken, targets)).flatten()
        tensor([0.3333, 0.3333, 0.0000])
    """

    name = "ppo"
    sb3_class = PPO
    policy_class = ActorCriticPolicy
    critic_arch_policy = CriticArchPPOPolicy
    #: PPO trains on the rollout its networks collected: a method's change of the networks
    #: waits for the next rollout (docs/methods.md, "PPO").
    on_policy = True

    # ------------------------------------------------------------------ critics
    def critic_q_nets(self, model: Any) -> dict[str, nn.Module]:
        """``{"value_net": value MLP + head}``: a Sequential of the policy's own modules."""
        policy = model.policy
        return {"value_net": nn.Sequential(*policy.mlp_extractor.value_net, policy.value_net)}

    def critic_target_nets(self, model: Any) -> dict[str, nn.Module]:
        return {}

    def critic_networks(self, model: Any) -> list[CriticNetwork]:
        policy = model.policy
        extractor = policy.vf_features_extractor
        net = self.critic_q_nets(model)["value_net"]
        return [
            CriticNetwork(
                name="value_net",
                extractor=extractor,
                owner=ValueFeatures(policy),
                layers=critic_blocks(net, "policy.mlp_extractor.value_net + policy.value_net"),
                takes_actions=False,
                extractor_layer=extractor_layer(extractor),
            )
        ]

    # ------------------------------------------------------------ fresh draws
    def fresh_modules(self, model: Any, modules: list[nn.Module]) -> list[nn.Module]:
        """The same parts of a new policy, built as PPO builds its own (``_setup_model``).

        One new policy of the model's ``policy_class`` and ``policy_kwargs`` is drawn, and its
        modules at the places of ``modules`` in ``model.policy`` are returned, on the policy's
        device. They are initialized as SB3 initializes PPO's: orthogonally with gain
        ``sqrt(2)`` for the features extractors and the MLPs, 0.01 for ``action_net`` and 1 for
        ``value_net``, zero biases, ``log_std`` at ``log_std_init`` (PyTorch's defaults
        with ``ortho_init=False``), for any policy class that keeps SB3's ``_build``.

        Raises:
            ValueError: a module that is not part of the model's policy.
        """
        policy = model.policy
        names = {id(module): name for name, module in policy.named_modules()}
        unknown = [type(m).__name__ for m in modules if id(m) not in names]
        if unknown:
            raise ValueError(
                f"fresh_modules draws parts of PPO's policy; {unknown} are not modules of "
                f"{type(model).__name__}.policy"
            )
        fresh = model.policy_class(
            model.observation_space,
            model.action_space,
            model.lr_schedule,
            use_sde=model.use_sde,
            **model.policy_kwargs,
        ).to(policy.device)
        return [fresh.get_submodule(names[id(module)]) for module in modules]

    # ------------------------------------------------------- batch and targets
    def sample_batch(self, model: Any, batch_size: int) -> RolloutBatch:
        """``batch_size`` samples of the collected rollout, drawn as PPO's minibatches are
        (a permutation's first ones, numpy's generator), the buffer left as it was."""
        buffer = _flattened(check_rollout_buffer(model, f"{type(model).__name__}.train"))
        indices = np.random.permutation(buffer.buffer_size * buffer.n_envs)[:batch_size]
        return self.batch_of(model, buffer._get_samples(indices))

    def batch_of(self, model: Any, samples: Any) -> RolloutBatch:
        """SB3's rollout samples with the model's value-loss settings now."""
        return RolloutBatch(
            samples.observations,
            samples.actions,
            samples.old_values,
            samples.old_log_prob,
            samples.advantages,
            samples.returns,
            model.vf_coef,
            _clip_range_vf(model),
        )

    def value_targets(self, model: Any, batch: Any, **options: Any) -> th.Tensor:
        """The rollout's returns (GAE(lambda) targets), ``[B, 1]``."""
        returns: th.Tensor = batch.returns.reshape(-1, 1)
        return returns

    # --------------------------------------------------------- loss, curvature
    def critic_loss(
        self, q_values: dict[str, th.Tensor], batch: Any, targets: th.Tensor
    ) -> tuple[th.Tensor, dict[str, th.Tensor]]:
        """``vf_coef * mse(returns, pred)``, SB3's value term; ``taken`` is ``pred``.

        ``pred`` is the value, or with ``clip_range_vf`` the rollout's value plus the
        difference clamped to the clip range, as SB3 computes it.
        """
        values = q_values["value_net"]
        if batch.clip_range_vf is None:
            pred = values
        else:
            old = batch.old_values.reshape(values.shape)
            clip = batch.clip_range_vf
            pred = old + th.clamp(values - old, -clip, clip)
        return batch.vf_coef * F.mse_loss(targets, pred), {"value_net": pred}

    def output_hessian(
        self, model: Any, loss: LossPass, grad_norm: th.Tensor | None = None
    ) -> th.Tensor:
        """``c[b] = s * 2 vf_coef / B``, zero where the value clip is active.

        ``s`` is ``grad_clip_factor(grad_norm, max_grad_norm)`` (SB3's PPO clips the
        gradient of the whole policy; a device tensor: no host read).
        """
        batch = loss.batch
        c = value_output_hessian(
            loss.q_values["value_net"], batch.old_values, batch.clip_range_vf, batch.vf_coef
        )
        return self.clip_scaled(c, model, grad_norm)

    # ------------------------------------------------- optimizers and targets
    def trained_modules(self, model: Any, target: str) -> list[nn.Module]:
        """``"critic"``: the value extractor (the value loss trains it, shared or not), the
        value MLP and the head; ``"all"``: the whole policy (``log_std`` included)."""
        policy = model.policy
        if target == "all":
            return [policy]
        return [policy.vf_features_extractor, policy.mlp_extractor.value_net, policy.value_net]

    def target_pairs(self, model: Any) -> list[tuple[nn.Module, nn.Module]]:
        return []
