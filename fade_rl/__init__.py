"""fade-rl: FADE (Forgetting through Adaptive Decay) for continual RL with Stable-Baselines3.

The public names load lazily (PEP 562), so ``import fade_rl.envs`` pulls in no
torch and ``import fade_rl`` stays cheap until a name is used.

Example:
    >>> from fade_rl import FADE
    >>> FADE.__module__
    'fade_rl.optim.fade'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from fade_rl import _moved

__version__ = "0.1.0"

_moved.install()  # old module paths keep importing, with a DeprecationWarning

# public name -> module that defines it
_EXPORTS = {
    "FADE": "fade_rl.optim",
    "FadeDQN": "fade_rl.algos",
    "FadePPO": "fade_rl.algos",
    "FadeSAC": "fade_rl.algos",
    "FadeTD3": "fade_rl.algos",
    "attach_fade": "fade_rl.algos",
    "PlasticityCallback": "fade_rl.metrics",
    "NonFiniteGuard": "fade_rl.experiments.runs.guard",
}

__all__ = [
    "FADE",
    "FadeDQN",
    "FadePPO",
    "FadeSAC",
    "FadeTD3",
    "NonFiniteGuard",
    "PlasticityCallback",
    "__version__",
    "attach_fade",
]

if TYPE_CHECKING:
    from fade_rl.algos import FadeDQN, FadePPO, FadeSAC, FadeTD3, attach_fade
    from fade_rl.experiments.runs.guard import NonFiniteGuard
    from fade_rl.metrics import PlasticityCallback
    from fade_rl.optim import FADE


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'fade_rl' has no attribute {name!r}")
