"""Moved: the FADE agents are in :mod:`fade_rl.algos` (one folder per algorithm family).

``from fade_rl.agents import FadeDQN`` still works for one release, with a
``DeprecationWarning``; import from :mod:`fade_rl.algos` (or ``from fade_rl import
FadeDQN``) instead. The old submodules (``fade_rl.algos.dqn``, ...) are listed in
:data:`fade_rl._moved.MOVED`. This package stays a real one because
``fade_rl.methods`` (now :mod:`fade_rl.methods`) lives under it.
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any

#: The names this package exported before the move; each now lives in fade_rl.algos.
_MOVED_NAMES = (
    "FadeCheckpointError",
    "FadeDQN",
    "FadeSAC",
    "FadeTD3",
    "MinAtarCNN",
    "attach_fade",
    "minatar_policy_kwargs",
    "split_head",
)

__all__ = list(_MOVED_NAMES)


def __getattr__(name: str) -> Any:
    if name not in _MOVED_NAMES:
        raise AttributeError(f"module 'fade_rl.agents' has no attribute {name!r}")
    warnings.warn(
        f"fade_rl.agents.{name} has moved to fade_rl.algos; import it from there "
        "(the old path goes in the next release)",
        DeprecationWarning,
        stacklevel=2,
    )
    value = getattr(importlib.import_module("fade_rl.algos"), name)
    globals()[name] = value  # warned once, as an import of a moved module is
    return value
