"""The DQN family: FadeDQN, its :data:`FAMILY` and its policy with critic options."""

from fade_rl.algos.dqn.agent import FAMILY, FadeDQN
from fade_rl.algos.dqn.family import DQNFamily
from fade_rl.algos.dqn.policy import CriticArchDQNPolicy

__all__ = ["FAMILY", "CriticArchDQNPolicy", "DQNFamily", "FadeDQN"]
