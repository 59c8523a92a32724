"""The probes run on an SB3 model's critics: plasticity probe and memory probe.

:func:`probe_critics` runs the registry's ``probe`` metrics (the plasticity probe) on each
critic network (extractor and layers as one module). For the memory probe,
:func:`record_reference` keeps a replay batch and the critics' outputs on it at a shift,
and :func:`memory_scores` later runs the registry's ``memory`` metrics (the memory probe:
how much of those outputs the critics' current features still hold). Everything stays on the
model's device.

Example:
    >>> import torch
    >>> from stable_baselines3 import DQN
    >>> from fade_rl.algos import critic_networks
    >>> model = DQN("MlpPolicy", "CartPole-v1", learning_starts=10)
    >>> _ = model.learn(40)
    >>> networks = critic_networks(model)
    >>> ref = record_reference(networks, model.replay_buffer.sample(32))
    >>> round(float(memory_scores(networks, ref)["plasticity/q_net/memory/output_r2"]), 6)
    1.0
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch as th
from stable_baselines3.common.preprocessing import preprocess_obs
from torch import nn

from fade_rl.metrics import registry
from fade_rl.metrics.inputs import MemoryInputs, ProbeInputs
from fade_rl.nets import CriticNetwork, run_critics

__all__ = ["ProbeNet", "memory_scores", "probe_critics", "record_reference", "to_device"]


class ProbeNet(nn.Module):
    """A critic network as one module: ``extractor -> [cat actions] -> layers``.

    Example:
        >>> import torch
        >>> from stable_baselines3 import DQN
        >>> from fade_rl.algos import critic_networks
        >>> model = DQN("MlpPolicy", "CartPole-v1")
        >>> ProbeNet(critic_networks(model)[0])(torch.zeros(3, 4)).shape
        torch.Size([3, 2])
    """

    def __init__(self, net: CriticNetwork) -> None:
        super().__init__()
        self.extractor = net.extractor
        self.body = nn.Sequential(*[m for layer in net.layers for m in layer.modules])
        self.takes_actions = net.takes_actions

    def forward(self, obs: th.Tensor, actions: th.Tensor | None = None) -> th.Tensor:
        x = self.extractor(obs)
        if self.takes_actions:
            assert actions is not None, "a Q(s, a) critic needs the actions"
            x = th.cat([x, actions], dim=1)
        return self.body(x)


def probe_critics(
    networks: Sequence[CriticNetwork],
    data: Any,
    steps: int,
    lr: float,
    seed: int,
) -> dict[str, th.Tensor]:
    """``plasticity/<network>/probe/{fit_loss, fresh_fit_loss, fit_ratio}`` on ``data``."""
    out: dict[str, th.Tensor] = {}
    for net in networks:
        obs = preprocess_obs(
            data.observations,
            net.owner.observation_space,
            normalize_images=net.owner.normalize_images,
        )
        inputs: tuple[Any, ...] = (obs, data.actions) if net.takes_actions else (obs,)
        probe = ProbeInputs(ProbeNet(net), inputs, steps, lr, seed)
        out.update(registry.tagged("probe", probe, network=net.name))
    return out


def record_reference(networks: Sequence[CriticNetwork], data: Any) -> dict:
    """``{"obs", "actions", "targets": {network: outputs}}``: the memory probe's reference."""
    with th.no_grad():
        passes = run_critics(list(networks), data.observations, data.actions)
    targets = {}
    for name, record in passes.items():
        assert record.q_values is not None
        targets[name] = record.q_values.detach()
    return {"obs": data.observations, "actions": data.actions, "targets": targets}


def memory_scores(networks: Sequence[CriticNetwork], ref: dict[str, Any]) -> dict[str, th.Tensor]:
    """``plasticity/<network>/memory/{probe_r2, output_r2}`` against a recorded reference."""
    with th.no_grad():
        passes = run_critics(list(networks), ref["obs"], ref["actions"])
    out: dict[str, th.Tensor] = {}
    for net in networks:
        record = passes[net.name]
        assert record.q_values is not None
        features = record.activations[net.hidden[-1].name]
        scores = MemoryInputs(features, record.q_values, ref["targets"][net.name])
        out.update(registry.tagged("memory", scores, network=net.name))
    return out


def to_device(value: Any, device: th.device) -> Any:
    """``value`` with every tensor in it (dicts, lists, tuples) moved to ``device``."""
    if isinstance(value, th.Tensor):
        return value.to(device)
    if isinstance(value, dict):
        return {k: to_device(v, device) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(to_device(v, device) for v in value)
    return value
