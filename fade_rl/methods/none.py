"""No method: the algorithm as it is, with its base optimizer (the plain reference).

Example:
    >>> SPEC.help, SPEC.params, SPEC.grid.key
    ('base optimizer', None, 'learning_rate')
"""

from __future__ import annotations

from fade_rl.methods.spec import MethodSpec, TuningGrid

__all__ = ["SPEC"]

SPEC = MethodSpec("none", "base optimizer", TuningGrid("learning_rate", ("x0.5", "x1", "x2")))
