"""CriticArchPPOPolicy: SB3's actor-critic policy with layer norm and CReLU for the value MLP."""

from __future__ import annotations

from typing import Any

from stable_baselines3.common.policies import ActorCriticPolicy
from torch import nn

from fade_rl.nets.architectures import CriticArchMixin

__all__ = ["CriticArchPPOPolicy"]


class CriticArchPPOPolicy(CriticArchMixin, ActorCriticPolicy):
    """SB3's PPO ``MlpPolicy`` with ``layer_norm`` and ``crelu`` options for the value network.

    The options apply to the value side of the ``mlp_extractor`` (``value_net`` there, the
    hidden layers); ``policy.value_net``, the linear head FADE optimizes, takes the
    (with CReLU, doubled) latent features. The actor is left as SB3 builds it.

    Example:
        >>> from fade_rl import FadePPO
        >>> model = FadePPO(CriticArchPPOPolicy, "CartPole-v1", n_steps=64, batch_size=32,
        ...                 policy_kwargs=dict(net_arch=[16], layer_norm=True, crelu=True))
        >>> model.policy.mlp_extractor.value_net
        Sequential(
          (0): Linear(in_features=4, out_features=16, bias=True)
          (1): LayerNorm((16,), eps=1e-05, elementwise_affine=True, bias=True)
          (2): CReLU()
        )
        >>> model.fade_heads["value_net"]
        Linear(in_features=32, out_features=1, bias=True)
        >>> [type(m).__name__ for m in model.policy.mlp_extractor.policy_net]
        ['Linear', 'Tanh']
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._take_options(kwargs)
        super().__init__(*args, **kwargs)

    def _build_mlp_extractor(self) -> None:
        super()._build_mlp_extractor()
        extractor = self.mlp_extractor
        # The options are applied to the value MLP followed by a stand-in for the head (the
        # rule needs a final linear layer): its input width is the new latent width.
        stand_in = nn.Linear(extractor.latent_dim_vf, 1, device=self.device)
        rebuilt = self._critic_mlp(nn.Sequential(*extractor.value_net, stand_in))
        head = rebuilt[-1]
        assert isinstance(head, nn.Linear)
        extractor.value_net = nn.Sequential(*list(rebuilt)[:-1])
        extractor.latent_dim_vf = head.in_features
