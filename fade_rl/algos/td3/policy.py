"""CriticArchTD3Policy: SB3's TD3 policy with layer norm and CReLU options for the critics."""

from __future__ import annotations

from stable_baselines3.td3.policies import TD3Policy

from fade_rl.nets.architectures import ContinuousCriticArchMixin

__all__ = ["CriticArchTD3Policy"]


class CriticArchTD3Policy(ContinuousCriticArchMixin, TD3Policy):
    """SB3's TD3 ``MlpPolicy`` with ``layer_norm`` and ``crelu`` options for the critics.

    Example:
        >>> from stable_baselines3 import TD3
        >>> model = TD3(CriticArchTD3Policy, "Pendulum-v1", policy_kwargs=dict(crelu=True))
        >>> type(model.critic.qf0[1]).__name__
        'CReLU'
    """
