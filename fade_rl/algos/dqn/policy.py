"""CriticArchDQNPolicy: SB3's DQN policy with layer norm and CReLU options for the Q network."""

from __future__ import annotations

from typing import Any

from stable_baselines3.dqn.policies import DQNPolicy, QNetwork

from fade_rl.nets.architectures import CriticArchMixin

__all__ = ["CriticArchDQNPolicy"]


class CriticArchDQNPolicy(CriticArchMixin, DQNPolicy):
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
