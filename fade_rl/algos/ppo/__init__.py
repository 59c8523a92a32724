"""The PPO family: FadePPO, its :data:`FAMILY` and its policy with critic options."""

from fade_rl.algos.ppo.agent import FAMILY, FadePPO
from fade_rl.algos.ppo.family import PPOFamily, RolloutBatch, check_rollout_buffer
from fade_rl.algos.ppo.policy import CriticArchPPOPolicy

__all__ = [
    "FAMILY",
    "CriticArchPPOPolicy",
    "FadePPO",
    "PPOFamily",
    "RolloutBatch",
    "check_rollout_buffer",
]
