"""Critic architecture options that combine with any method: layer norm and CReLU.

* ``layer_norm=True`` (Lyle et al. 2024): ``nn.LayerNorm`` after every hidden
  linear layer of the critic, before its activation.
* ``crelu=True`` (Abbas et al. 2023): the hidden activation becomes
  ``CReLU(x) = [relu(x), relu(-x)]``, which doubles each hidden layer's output,
  so the next linear layer takes twice the inputs (``net_arch`` gives the
  pre-activation widths).

The critic's final layer stays a plain ``nn.Linear``: FADE finds it as the head
and optimizes it as usual. The actor is left as SB3 builds it.

Each algorithm family has a policy class that applies these options to its critics,
built on :class:`CriticArchMixin` (:func:`fade_rl.algos.critic_arch_policy` finds it);
pass the options in ``policy_kwargs`` (they are saved with the model and rebuilt by
``load``)::

    model = FadeDQN(CriticArchDQNPolicy, "CartPole-v1",
                    policy_kwargs=dict(layer_norm=True, crelu=False))
"""

from __future__ import annotations

from typing import Any

import torch as th
from stable_baselines3.common.policies import ContinuousCritic
from torch import nn

__all__ = [
    "CReLU",
    "ContinuousCriticArchMixin",
    "CriticArchMixin",
    "check_flag",
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


def check_flag(name: str, value: Any) -> bool:
    """``value`` if it is a bool, else a ValueError naming the option."""
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
    check_flag("layer_norm", layer_norm)
    check_flag("crelu", crelu)
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


class CriticArchMixin:
    """Takes ``layer_norm`` and ``crelu`` before the policy builds its networks.

    Example:
        DQN's policy with the mixin (:class:`fade_rl.algos.CriticArchDQNPolicy`) puts
        layer norm into the Q network and saves the options with the model:

        >>> from stable_baselines3 import DQN
        >>> from fade_rl.algos import CriticArchDQNPolicy
        >>> model = DQN(CriticArchDQNPolicy, "CartPole-v1", buffer_size=100,
        ...             policy_kwargs=dict(net_arch=[8], layer_norm=True))
        >>> model.policy.q_net.q_net
        Sequential(
          (0): Linear(in_features=4, out_features=8, bias=True)
          (1): LayerNorm((8,), eps=1e-05, elementwise_affine=True, bias=True)
          (2): ReLU()
          (3): Linear(in_features=8, out_features=2, bias=True)
        )
        >>> {k: v for k, v in model.policy._get_constructor_parameters().items() if k in
        ...  ("layer_norm", "crelu")}
        {'layer_norm': True, 'crelu': False}
        >>> DQN(CriticArchDQNPolicy, "CartPole-v1", policy_kwargs=dict(crelu="yes"))
        Traceback (most recent call last):
        ...
        ValueError: crelu must be True or False, got 'yes'
    """

    def _take_options(self, kwargs: dict[str, Any]) -> None:
        self.layer_norm = check_flag("layer_norm", kwargs.pop("layer_norm", False))
        self.crelu = check_flag("crelu", kwargs.pop("crelu", False))

    def _critic_mlp(self, net: nn.Module) -> nn.Sequential:
        assert isinstance(net, nn.Sequential)
        return critic_mlp_with_options(net, self.layer_norm, self.crelu)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data: dict[str, Any] = super()._get_constructor_parameters()  # type: ignore[misc]
        data.update(layer_norm=self.layer_norm, crelu=self.crelu)
        return data


class ContinuousCriticArchMixin(CriticArchMixin):
    """The options for SB3's ``ContinuousCritic`` (SAC's and TD3's twin critics).

    Example:
        TD3's policy with the mixin (:class:`fade_rl.algos.CriticArchTD3Policy`): CReLU
        doubles the hidden output of each twin critic; the actor is SB3's:

        >>> from stable_baselines3 import TD3
        >>> from fade_rl.algos import CriticArchTD3Policy
        >>> model = TD3(CriticArchTD3Policy, "Pendulum-v1", buffer_size=100,
        ...             policy_kwargs=dict(net_arch=[8], crelu=True))
        >>> critic = model.policy.critic
        >>> critic.qf1
        Sequential(
          (0): Linear(in_features=4, out_features=8, bias=True)
          (1): CReLU()
          (2): Linear(in_features=16, out_features=1, bias=True)
        )
        >>> critic.qf1 is critic.q_networks[1], model.policy.critic_target.qf0[-1].in_features
        (True, 16)
        >>> [type(m).__name__ for m in model.policy.actor.mu]
        ['Linear', 'ReLU', 'Linear', 'Tanh']
    """

    device: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._take_options(kwargs)
        super().__init__(*args, **kwargs)

    def make_critic(self, features_extractor: Any = None) -> ContinuousCritic:
        critic = super().make_critic(features_extractor)  # type: ignore[misc]
        for index, net in enumerate(critic.q_networks):
            new = self._critic_mlp(net)
            critic.q_networks[index] = new
            critic.add_module(f"qf{index}", new)
        return critic.to(self.device)
