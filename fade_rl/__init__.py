"""fade-rl: FADE (Forgetting through Adaptive Decay) for continual RL with Stable-Baselines3."""

from fade_rl.agents import FadeDQN, FadeSAC, FadeTD3, attach_fade
from fade_rl.metrics import PlasticityCallback
from fade_rl.optim import FADE

__version__ = "0.1.0"

__all__ = [
    "FADE",
    "FadeDQN",
    "FadeSAC",
    "FadeTD3",
    "PlasticityCallback",
    "__version__",
    "attach_fade",
]
