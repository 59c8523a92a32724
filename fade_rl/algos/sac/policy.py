"""CriticArchSACPolicy: SB3's SAC policy with layer norm and CReLU options for the critics."""

from __future__ import annotations

from stable_baselines3.sac.policies import SACPolicy

from fade_rl.nets.architectures import ContinuousCriticArchMixin

__all__ = ["CriticArchSACPolicy"]


class CriticArchSACPolicy(ContinuousCriticArchMixin, SACPolicy):
    """SB3's SAC ``MlpPolicy`` with ``layer_norm`` and ``crelu`` options for the critics.

    Example:
        >>> from fade_rl import FadeSAC
        >>> model = FadeSAC(CriticArchSACPolicy, "Pendulum-v1",
        ...                 policy_kwargs=dict(net_arch=[16], layer_norm=True))
        >>> model.fade_heads["qf0"]
        Linear(in_features=16, out_features=1, bias=True)
    """
