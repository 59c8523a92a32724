"""SB3 agents whose critics' heads learn their own forgetting (FADE), and the baselines.

``FadeDQN``, ``FadeSAC`` and ``FadeTD3`` subclass SB3's algorithms; ``attach_fade``
turns an existing SB3 model into its FADE counterpart; :mod:`fade_rl.agents.baselines`
holds fixed weight decay, resets, shrink & perturb and ReDo for any of them.
"""

from fade_rl.agents.attach import attach_fade
from fade_rl.agents.common import FadeCheckpointError, split_head
from fade_rl.agents.dqn import FadeDQN
from fade_rl.agents.extractors import MinAtarCNN, minatar_policy_kwargs
from fade_rl.agents.sac import FadeSAC
from fade_rl.agents.td3 import FadeTD3

__all__ = [
    "FadeCheckpointError",
    "FadeDQN",
    "FadeSAC",
    "FadeTD3",
    "MinAtarCNN",
    "attach_fade",
    "minatar_policy_kwargs",
    "split_head",
]
