"""Critic architecture options that combine with any method: layer norm and CReLU.

* ``layer_norm=True`` (Lyle et al. 2024): ``nn.LayerNorm`` after every hidden
  linear layer of the critic, before its activation.
* ``crelu=True`` (Abbas et al. 2023): the hidden activation becomes
  ``CReLU(x) = [relu(x), relu(-x)]``, which doubles each hidden layer's output,
  so the next linear layer takes twice the inputs (``net_arch`` gives the
  pre-activation widths).

The critic's final layer stays a plain ``nn.Linear``: FADE finds it as the head
and optimizes it as usual. The actor is left as SB3 builds it.

Use the policy classes here in place of ``"MlpPolicy"`` and pass the options in
``policy_kwargs`` (they are saved with the model and rebuilt by ``load``)::

    model = FadeDQN(CriticArchDQNPolicy, "CartPole-v1",
                    policy_kwargs=dict(layer_norm=True, crelu=False))
"""

from __future__ import annotations

from typing import Any

import torch as th
from stable_baselines3 import DQN, SAC, TD3
from stable_baselines3.common.policies import ContinuousCritic
from stable_baselines3.dqn.policies import DQNPolicy, QNetwork
from stable_baselines3.sac.policies import SACPolicy
from stable_baselines3.td3.policies import TD3Policy
from torch import nn

__all__ = [
    "CReLU",
    "CriticArchDQNPolicy",
    "CriticArchSACPolicy",
    "CriticArchTD3Policy",
    "critic_arch_policy",
    "critic_mlp_with_options",
]


class CReLU(nn.Module):
    """Concatenated ReLU (Abbas et al. 2023): ``[relu(x), relu(-x)]`` on the last dimension.

    Example:
        >>> import torch
        >>> CReLU()(torch.tensor([[1.0, -2.0]]))
        tensor([[1., 0., 0., 2.]])
    """

    def forward(self, x: th.Tensor) -> th.Tensor:
        return th.cat([th.relu(x), th.relu(-x)], dim=-1)


def _check_flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return value


def critic_mlp_with_options(net: nn.Sequential, layer_norm: bool, crelu: bool) -> nn.Sequential:
    """A fresh copy of an SB3 MLP (``Linear, act, ..., Linear``) with the options applied.

    Every linear layer but the last is followed by ``nn.LayerNorm`` (if
    ``layer_norm``) and by its activation, replaced by :class:`CReLU` (if
    ``crelu``; the next linear layer then takes twice the inputs). Layers are
    freshly initialized (PyTorch's default, as SB3 builds them).

    Example:
        >>> from torch import nn
        >>> net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
        >>> critic_mlp_with_options(net, layer_norm=True, crelu=True)
        Sequential(
          (0): Linear(in_features=4, out_features=8, bias=True)
          (1): LayerNorm((8,), eps=1e-05, elementwise_affine=True, bias=True)
          (2): CReLU()
          (3): Linear(in_features=16, out_features=2, bias=True)
        )
    """
    _check_flag("layer_norm", layer_norm)
    _check_flag("crelu", crelu)
    linears = [m for m in net if isinstance(m, nn.Linear)]
    if not linears or not isinstance(net[-1], nn.Linear):
        raise TypeError(
            "critic architecture options need an SB3 MLP critic (nn.Sequential of Linear and "
            "activation layers ending in nn.Linear)"
        )
    modules: list[nn.Module] = []
    widen = 1
    for module in net:
        if isinstance(module, nn.Linear):
            w = module.weight
            modules.append(
                nn.Linear(
                    module.in_features * widen,
                    module.out_features,
                    bias=module.bias is not None,
                    device=w.device,
                    dtype=w.dtype,
                )
            )
            widen = 1
            if module is not linears[-1] and layer_norm:
                modules.append(nn.LayerNorm(module.out_features, device=w.device, dtype=w.dtype))
        elif crelu and not isinstance(module, (nn.Dropout, nn.LayerNorm)):
            modules.append(CReLU())
            widen = 2
        else:
            modules.append(module)
    return nn.Sequential(*modules)


class _CriticArchMixin:
    """Takes ``layer_norm`` and ``crelu`` before the policy builds its networks."""

    def _take_options(self, kwargs: dict[str, Any]) -> None:
        self.layer_norm = _check_flag("layer_norm", kwargs.pop("layer_norm", False))
        self.crelu = _check_flag("crelu", kwargs.pop("crelu", False))

    def _critic_mlp(self, net: nn.Module) -> nn.Sequential:
        assert isinstance(net, nn.Sequential)
        return critic_mlp_with_options(net, self.layer_norm, self.crelu)

    def _with_options(self, critic: ContinuousCritic) -> ContinuousCritic:
        for index, net in enumerate(critic.q_networks):
            new = self._critic_mlp(net)
            critic.q_networks[index] = new
            critic.add_module(f"qf{index}", new)
        return critic

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data: dict[str, Any] = super()._get_constructor_parameters()  # type: ignore[misc]
        data.update(layer_norm=self.layer_norm, crelu=self.crelu)
        return data


class CriticArchDQNPolicy(_CriticArchMixin, DQNPolicy):
    """SB3's DQN ``MlpPolicy`` with ``layer_norm`` and ``crelu`` options for the Q network.

    Example:
        >>> from fade_rl import FadeDQN
        >>> model = FadeDQN(CriticArchDQNPolicy, "CartPole-v1",
        ...                 policy_kwargs=dict(net_arch=[16], layer_norm=True, crelu=True))
        >>> model.fade_heads["q_net"]
        Linear(in_features=32, out_features=2, bias=True)
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._take_options(kwargs)
        super().__init__(*args, **kwargs)

    def make_q_net(self) -> QNetwork:
        q_net = super().make_q_net()
        q_net.q_net = self._critic_mlp(q_net.q_net).to(self.device)
        return q_net


class CriticArchSACPolicy(_CriticArchMixin, SACPolicy):
    """SB3's SAC ``MlpPolicy`` with ``layer_norm`` and ``crelu`` options for the critics.

    Example:
        >>> from fade_rl import FadeSAC
        >>> model = FadeSAC(CriticArchSACPolicy, "Pendulum-v1",
        ...                 policy_kwargs=dict(net_arch=[16], layer_norm=True))
        >>> model.fade_heads["qf0"]
        Linear(in_features=16, out_features=1, bias=True)
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._take_options(kwargs)
        super().__init__(*args, **kwargs)

    def make_critic(self, features_extractor: Any = None) -> ContinuousCritic:
        return self._with_options(super().make_critic(features_extractor)).to(self.device)


class CriticArchTD3Policy(_CriticArchMixin, TD3Policy):
    """SB3's TD3 ``MlpPolicy`` with ``layer_norm`` and ``crelu`` options for the critics.

    Example:
        >>> from stable_baselines3 import TD3
        >>> model = TD3(CriticArchTD3Policy, "Pendulum-v1", policy_kwargs=dict(crelu=True))
        >>> type(model.critic.qf0[1]).__name__
        'CReLU'
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._take_options(kwargs)
        super().__init__(*args, **kwargs)

    def make_critic(self, features_extractor: Any = None) -> ContinuousCritic:
        return self._with_options(super().make_critic(features_extractor)).to(self.device)


def critic_arch_policy(algorithm: type) -> type:
    """The policy class with critic architecture options for an algorithm class.

    Example:
        >>> from fade_rl import FadeSAC
        >>> critic_arch_policy(FadeSAC).__name__
        'CriticArchSACPolicy'
    """
    for base, policy in (
        (DQN, CriticArchDQNPolicy),
        (TD3, CriticArchTD3Policy),
        (SAC, CriticArchSACPolicy),
    ):
        if isinstance(algorithm, type) and issubclass(algorithm, base):
            return policy
    raise ValueError(
        f"critic architecture options exist for DQN, SAC and TD3 (and their FADE versions), "
        f"got {getattr(algorithm, '__name__', algorithm)!r}"
    )
