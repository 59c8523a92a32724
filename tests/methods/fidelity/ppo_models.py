"""Tiny SB3 PPO models with a collected rollout, and the checks the methods must pass on them."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import Logger

from fade_rl import FadePPO

PPO_CLASSES = (PPO, FadePPO)

#: SB3's orthogonal gain of each part of PPO's policy (``ActorCriticPolicy._build``).
GAINS = {"mlp_extractor": math.sqrt(2), "action_net": 0.01, "value_net": 1.0}


def tiny_ppo(
    cls: type = PPO,
    env: Any = "CartPole-v1",
    net_arch: list[int] | None = None,
    sgd: bool = False,
    n_steps: int = 64,
    **kwargs: Any,
) -> Any:
    """A seeded ``cls`` that has collected (and trained once on) one rollout of ``n_steps``.

    One minibatch per epoch (``batch_size = n_steps``) and one epoch, unless ``kwargs`` say
    otherwise; the rollout stays in the buffer, so ``model.train()`` trains on it again.
    """
    policy_kwargs: dict[str, Any] = {"net_arch": net_arch or [8, 8]}
    if sgd:
        policy_kwargs["optimizer_class"] = th.optim.SGD
    policy_kwargs.update(kwargs.pop("policy_kwargs", {}))
    kwargs.setdefault("batch_size", n_steps)
    kwargs.setdefault("n_epochs", 1)
    kwargs.update(seed=0, device="cpu", policy_kwargs=policy_kwargs)
    model = cls("MlpPolicy", env, n_steps=n_steps, **kwargs)
    model.learn(n_steps)
    model.set_logger(Logger(None, []))
    return model


def train_seeded(*models: Any, seed: int = 0) -> None:
    """One ``train()`` of each model on its rollout, with numpy seeded alike before each
    (PPO's minibatches are a permutation drawn with numpy)."""
    for model in models:
        np.random.seed(seed)
        model.train()


def snapshot(model: Any) -> dict[str, th.Tensor]:
    """The policy's parameters by name, copied."""
    return {name: p.detach().clone() for name, p in model.policy.named_parameters()}


def perturb(*models: Any, scale: float = 0.1) -> None:
    """Add the same seeded noise to every parameter of each model (no parameter at its init)."""
    for model in models:
        generator = th.Generator().manual_seed(1)
        with th.no_grad():
            for p in model.policy.parameters():
                p.add_(scale * th.randn(p.shape, generator=generator))


def gain_of(name: str) -> float:
    """SB3's orthogonal gain of the policy parameter ``name``."""
    return GAINS[name.split(".")[0]]


def assert_orthogonal(weight: th.Tensor, gain: float) -> None:
    """``weight`` is ``gain`` times a matrix with orthonormal rows (or columns, if taller)."""
    w = weight.detach()
    gram = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
    th.testing.assert_close(gram, gain**2 * th.eye(gram.shape[0]), atol=1e-5, rtol=1e-5)


def assert_every_parameter_is_optimized(model: Any) -> None:
    """Every trainable parameter of the policy is in PPO's one optimizer, nothing else is."""
    held = {id(p) for group in model.policy.optimizer.param_groups for p in group["params"]}
    mine = {id(p) for p in model.policy.parameters() if p.requires_grad}
    assert held == mine


def stored_and_recomputed(model: Any) -> tuple[th.Tensor, th.Tensor, th.Tensor, th.Tensor]:
    """The rollout buffer's values and log-probabilities, and the policy's evaluation of its
    observations and actions now: equal when the policy now collected the whole rollout."""
    buffer = model.rollout_buffer
    obs = th.as_tensor(buffer.observations).reshape(-1, *buffer.obs_shape)
    actions = th.as_tensor(buffer.actions).reshape(-1, buffer.action_dim)
    if isinstance(model.action_space, spaces.Discrete):
        actions = actions.long().flatten()
    with th.no_grad():
        values, log_prob, _ = model.policy.evaluate_actions(obs, actions)
    stored_values = th.as_tensor(buffer.values).flatten()
    stored_log_prob = th.as_tensor(buffer.log_probs).flatten()
    return stored_values, values.flatten(), stored_log_prob, log_prob.flatten()


class RolloutRecorder(BaseCallback):
    """Records ``(num_timesteps, read())`` at each rollout's start and, at each rollout's
    end (before ``train()``), whether the rollout was collected by the networks of now."""

    def __init__(self, read: Any) -> None:
        super().__init__()
        self.read = read
        self.starts: list[tuple[int, Any]] = []
        self.consistent: list[bool] = []

    def _on_rollout_start(self) -> None:
        self.starts.append((self.num_timesteps, self.read()))

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        stored_v, values, stored_lp, log_prob = stored_and_recomputed(self.model)
        same = th.allclose(stored_v, values, atol=1e-5) and th.allclose(
            stored_lp, log_prob, atol=1e-5
        )
        self.consistent.append(bool(same))
