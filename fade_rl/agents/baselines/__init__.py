"""The baselines FADE must beat, for vanilla SB3 models and FADE ones alike.

Each is a function acting on a DQN/SAC/TD3 model once, plus an SB3 callback
that applies it during ``learn``:

* fixed decoupled weight decay: :func:`add_weight_decay`, :class:`WeightDecayCallback`
* resets: :func:`reset_parameters`, :class:`ResetCallback`
* shrink & perturb: :func:`shrink_perturb`, :class:`ShrinkPerturbCallback`
* ReDo: :func:`redo`, :class:`ReDoCallback`

The networks, parameters and optimizers they act on come from :mod:`fade_rl.parts`.
"""

from fade_rl.agents.baselines.redo import ReDoCallback, redo
from fade_rl.agents.baselines.reset import ResetCallback, reset_parameters
from fade_rl.agents.baselines.shrink_perturb import ShrinkPerturbCallback, shrink_perturb
from fade_rl.agents.baselines.weight_decay import WeightDecayCallback, add_weight_decay

__all__ = [
    "ReDoCallback",
    "ResetCallback",
    "ShrinkPerturbCallback",
    "WeightDecayCallback",
    "add_weight_decay",
    "redo",
    "reset_parameters",
    "shrink_perturb",
]
