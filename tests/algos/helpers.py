"""Shared helpers of the algos tests: small envs, fixed training batches, curvature recording."""

from __future__ import annotations

import copy
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm

from fade_rl.algos import FAMILIES, AlgorithmFamily

#: A small environment each family's algorithm can act in (a new family adds its own).
SMALL_ENVS = {
    "dqn": "CartPole-v1",
    "sac": "Pendulum-v1",
    "td3": "Pendulum-v1",
    "ppo": "CartPole-v1",
}

#: The ``train/`` key of each family's critic loss (a list of device scalars per train() call).
LOSS_KEYS = {"dqn": "loss", "sac": "critic_loss", "td3": "critic_loss", "ppo": "value_loss"}


def small_env_id(family: AlgorithmFamily) -> str:
    """A small environment whose action space the family's algorithm supports."""
    if family.name not in SMALL_ENVS:
        raise KeyError(f"tests/algos/helpers.py: give the {family.name} family a SMALL_ENVS entry")
    return SMALL_ENVS[family.name]


#: ``(family, a small environment id)`` for every registered family: what tests parametrize.
FAMILY_CASES = [
    pytest.param(family, small_env_id(family), id=name) for name, family in FAMILIES.items()
]


class RewardFlip(gym.Wrapper):
    """Negate the reward from the ``flip_at``-th step on (counted over the wrapper's lifetime).

    The step on which the flip happens carries ``info["shift"] = True``.
    """

    def __init__(self, env: gym.Env, flip_at: int) -> None:
        super().__init__(env)
        self.flip_at = flip_at
        self.steps = 0

    def step(self, action: Any) -> Any:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.steps += 1
        if self.steps == self.flip_at:
            info = {**info, "shift": True}
        if self.steps >= self.flip_at:
            reward = -reward
        return obs, reward, terminated, truncated, info


class RandomRewardScale(gym.Wrapper):
    """Multiply each reward by an independent U(0, high) draw (TD errors in both Huber zones)."""

    def __init__(self, env: gym.Env, high: float = 4.0, seed: int = 0) -> None:
        super().__init__(env)
        self.high = high
        self.rng = np.random.default_rng(seed)

    def step(self, action: Any) -> Any:
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, float(reward) * self.rng.uniform(0.0, self.high), terminated, truncated, info


def on_policy(algorithm: type | AlgorithmFamily) -> bool:
    """Whether an algorithm class (or a family's) learns from rollouts (PPO)."""
    cls = algorithm.sb3_class if isinstance(algorithm, AlgorithmFamily) else algorithm
    return issubclass(cls, OnPolicyAlgorithm)


def quick_kwargs(algorithm: type | AlgorithmFamily, start: int, batch_size: int) -> dict:
    """Arguments that make a model train after ``start`` steps on minibatches of ``batch_size``.

    Off-policy: ``learning_starts`` and ``batch_size``. On-policy: rollouts of ``start``
    steps, one epoch of ``start / batch_size`` minibatches per ``train()``.
    """
    if on_policy(algorithm):
        return dict(n_steps=start, batch_size=batch_size, n_epochs=1)
    return dict(learning_starts=start, batch_size=batch_size)


def train_once(model: Any, gradient_steps: int, batch_size: int) -> None:
    """One ``train()`` call: off-policy, ``gradient_steps`` steps on ``batch_size`` samples;
    on-policy, the model's own epochs over its rollout (made with :func:`quick_kwargs`)."""
    if on_policy(type(model)):
        model.train()
    else:
        model.train(gradient_steps=gradient_steps, batch_size=batch_size)


def share_training_data(model: Any, other: Any, batch_size: int) -> None:
    """Make ``model`` and ``other`` train on the same data at their next ``train()``.

    Off-policy: one real replay batch of ``model``'s that every ``sample`` of both returns.
    On-policy: ``other`` gets a copy of ``model``'s collected rollout (seed numpy alike
    before each ``train()``: the minibatches are a permutation of numpy's).
    """
    if on_policy(type(model)):
        other.rollout_buffer = copy.deepcopy(model.rollout_buffer)
        return
    data = fix_replay_batch(model, batch_size)
    other.replay_buffer.sample = lambda *args, **kwargs: data


def trained(
    algorithm: type,
    env: Any,
    steps: int,
    *,
    net_arch: Any,
    policy_kwargs: dict[str, Any] | None = None,
    **kwargs: Any,
) -> Any:
    """An ``algorithm`` with an MLP policy of hidden layers ``net_arch`` (and any further
    ``policy_kwargs``) on ``env``, made with ``kwargs`` and trained for ``steps`` steps."""
    policy_kwargs = {"net_arch": net_arch, **(policy_kwargs or {})}
    model = algorithm("MlpPolicy", env, policy_kwargs=policy_kwargs, **kwargs)
    model.learn(steps)
    return model


def fix_replay_batch(model: BaseAlgorithm, batch_size: int) -> Any:
    """Sample one real replay batch and make every later ``sample`` call return it."""
    assert model.replay_buffer is not None
    data = model.replay_buffer.sample(batch_size, env=model._vec_normalize_env)
    model.replay_buffer.sample = lambda *args, **kwargs: data  # type: ignore[method-assign]
    return data


def record_curvature(model: Any) -> dict[int, list[th.Tensor]]:
    """Record every ``set_curvature`` call of the model's FADE optimizer, by parameter id."""
    optimizer = model.fade_optimizer
    original = optimizer.set_curvature
    calls: dict[int, list[th.Tensor]] = {}

    def recording(param: th.Tensor, curvature: th.Tensor) -> None:
        calls.setdefault(id(param), []).append(curvature.detach().clone())
        original(param, curvature)

    optimizer.set_curvature = recording
    return calls


def hessian_diagonal(loss_of: Any, param: th.Tensor) -> th.Tensor:
    """Diagonal of d^2 loss / d param^2 by double backward (autograd), one element at a time."""
    value = param.detach().clone().requires_grad_(True)
    loss = loss_of(value)
    (grad,) = th.autograd.grad(loss, value, create_graph=True)
    flat_grad = grad.reshape(-1)
    diagonal = th.empty(flat_grad.numel(), dtype=param.dtype)
    for i in range(flat_grad.numel()):
        (row,) = th.autograd.grad(flat_grad[i], value, retain_graph=True, allow_unused=True)
        diagonal[i] = 0.0 if row is None else row.reshape(-1)[i]
    return diagonal.reshape(param.shape)


def param_name(module: th.nn.Module, param: th.Tensor) -> str:
    """The name of ``param`` inside ``module``."""
    for name, p in module.named_parameters():
        if p is param:
            return name
    raise KeyError("parameter not found in module")
