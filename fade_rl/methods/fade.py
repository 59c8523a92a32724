"""FADE: the critic heads learn their own decay rates (the FADE optimizer in the Fade agents).

The method itself lives in :mod:`fade_rl.optim` (the optimizer) and the Fade agent classes
(FadeDQN/FadeSAC/FadeTD3/FadePPO); this module says how a run asks for it: its params are the
agents' ``fade_kwargs``.

Example:
    >>> SPEC.fade, FadeParams().meta_lr
    (True, 1.0)
"""

from __future__ import annotations

import inspect
from typing import Literal

from pydantic import Field

from fade_rl.methods.spec import MethodParams, MethodSpec, TuningGrid
from fade_rl.optim import FADE

#: FADE's own defaults: a config that leaves a value out gets what the optimizer would.
_DEFAULTS = {name: p.default for name, p in inspect.signature(FADE).parameters.items()}

__all__ = ["SPEC", "FadeParams"]


class FadeParams(MethodParams):
    """FADE's hyperparameters (``fade_kwargs`` of FadeDQN/FadeSAC/FadeTD3/FadePPO).

    Example:
        >>> FadeParams(meta_lr=10).model_dump()
        {'meta_lr': 10.0, 'init_decay': 0.0001, 'base': None, 'idbd': None}
    """

    meta_lr: float = Field(default=_DEFAULTS["meta_lr"], gt=0)
    init_decay: float = Field(default=_DEFAULTS["init_decay"], gt=0, le=1)
    base: Literal["adam", "sgd"] | None = None
    idbd: bool | None = None


SPEC = MethodSpec(
    "fade",
    "FADE",
    TuningGrid("methods.fade.meta_lr", (1, 10, 100)),
    FadeParams,
    fade=True,
)
