"""The SAC family: FadeSAC, its :data:`FAMILY` and its policy with critic options."""

from fade_rl.algos.sac.agent import FAMILY, FadeSAC
from fade_rl.algos.sac.family import SACFamily
from fade_rl.algos.sac.policy import CriticArchSACPolicy

__all__ = ["FAMILY", "CriticArchSACPolicy", "FadeSAC", "SACFamily"]
