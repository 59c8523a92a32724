"""Tiny SB3 models with a filled replay buffer, and the checks every method must pass."""

from __future__ import annotations

from typing import Any

import torch as th
from stable_baselines3 import DQN, SAC, TD3
from stable_baselines3.common.logger import configure
from torch import nn

from fade_rl import FadeDQN, FadeSAC, FadeTD3

ALGORITHMS = (DQN, FadeDQN, SAC, FadeSAC, TD3, FadeTD3)


def tiny(cls: type, net_arch: list[int] | None = None, sgd: bool = False, **kwargs: Any) -> Any:
    """A small ``cls`` (CartPole for DQN, Pendulum otherwise) with 64 random transitions."""
    env = "CartPole-v1" if issubclass(cls, DQN) else "Pendulum-v1"
    policy_kwargs: dict[str, Any] = {"net_arch": net_arch or [8, 8]}
    if sgd:
        policy_kwargs["optimizer_class"] = th.optim.SGD
    policy_kwargs.update(kwargs.pop("policy_kwargs", {}))
    kwargs.setdefault("policy", "MlpPolicy")
    model = cls(
        env=env,
        learning_starts=10**9,
        batch_size=16,
        seed=0,
        device="cpu",
        policy_kwargs=policy_kwargs,
        **kwargs,
    )
    model.learn(64)
    model.learning_starts = 0
    model.set_logger(configure(None, [""]))
    return model


def owned_modules(model: Any) -> list[tuple[nn.Module, th.optim.Optimizer]]:
    """(online module, the optimizer that must hold all its trainable parameters)."""
    if isinstance(model, DQN):
        return [(model.policy.q_net, model.policy.optimizer)]
    critic = model.critic
    pairs: list[tuple[nn.Module, th.optim.Optimizer]] = [
        (net, critic.optimizer) for net in critic.q_networks
    ]
    if not critic.share_features_extractor:
        pairs.append((critic.features_extractor, critic.optimizer))
    pairs.append((model.actor, model.actor.optimizer))
    return pairs


def assert_every_trainable_parameter_is_optimized(model: Any) -> None:
    """Every trainable online parameter sits in its optimizer, and nothing else does."""
    for module, optimizer in owned_modules(model):
        held = {id(p) for group in optimizer.param_groups for p in group["params"]}
        for name, p in module.named_parameters():
            if p.requires_grad:
                assert id(p) in held, f"{type(module).__name__}.{name} is not optimized"
    for _, optimizer in owned_modules(model):
        for group in optimizer.param_groups:
            for p in group["params"]:
                assert p.requires_grad, "a frozen parameter is still in an optimizer"


def assert_targets_match(model: Any) -> None:
    """The target critic's parameters and buffers equal the online critic's."""
    if isinstance(model, DQN):
        online, target = model.policy.q_net, model.policy.q_net_target
    else:
        online, target = model.critic, model.critic_target
    online_state, target_state = online.state_dict(), target.state_dict()
    assert online_state.keys() == target_state.keys()
    for key, value in online_state.items():
        assert th.equal(value, target_state[key]), key


def assert_head_takes_a_fresh_adam_step(model: Any) -> None:
    """A DQN head's next Adam step, from fresh optimizer state, is lr * g / (|g| + eps) by hand."""
    head = model.q_net.q_net[-1]
    optimizer = model.policy.optimizer
    before = head.weight.detach().clone()
    grads = th.linspace(-1.0, 1.0, head.weight.numel()).reshape(head.weight.shape)
    optimizer.zero_grad()
    head.weight.grad = grads.clone()
    optimizer.step()
    lr, eps = optimizer.param_groups[0]["lr"], optimizer.param_groups[0]["eps"]
    expected = before - lr * grads / (grads.abs() + eps)
    assert th.allclose(head.weight, expected, atol=1e-7)


def critic_nets(model: Any) -> list[nn.Sequential]:
    if isinstance(model, DQN):
        return [model.policy.q_net.q_net]
    return list(model.critic.q_networks)


def target_nets(model: Any) -> list[nn.Sequential]:
    if isinstance(model, DQN):
        return [model.policy.q_net_target.q_net]
    return list(model.critic_target.q_networks)


def critic_optimizer(model: Any) -> th.optim.Optimizer:
    return model.policy.optimizer if isinstance(model, DQN) else model.critic.optimizer


def critic_inputs(model: Any, n: int = 16) -> th.Tensor:
    """Inputs of the critic MLPs for ``n`` replay samples."""
    data = model.replay_buffer.sample(n)
    if isinstance(model, DQN):
        q_net = model.policy.q_net
        return q_net.extract_features(data.observations, q_net.features_extractor)
    critic = model.critic
    features = critic.extract_features(data.observations, critic.features_extractor)
    return th.cat([features, data.actions], dim=1)
