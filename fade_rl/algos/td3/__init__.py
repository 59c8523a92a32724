"""The TD3 family: FadeTD3, its :data:`FAMILY` and its policy with critic options."""

from fade_rl.algos.td3.agent import FAMILY, FadeTD3
from fade_rl.algos.td3.family import TD3Family
from fade_rl.algos.td3.policy import CriticArchTD3Policy

__all__ = ["FAMILY", "CriticArchTD3Policy", "FadeTD3", "TD3Family"]
