"""The baselines FADE must beat, for vanilla SB3 models and FADE ones alike.

Each is a function acting on a DQN/SAC/TD3 model once, plus an SB3 callback
that applies it during ``learn``:

* fixed decoupled weight decay: :func:`add_weight_decay`, :class:`WeightDecayCallback`
* resets: :func:`reset_parameters`, :class:`ResetCallback`
* shrink & perturb: :func:`shrink_perturb`, :class:`ShrinkPerturbCallback`
* ReDo: :func:`redo`, :class:`ReDoCallback`
* L2 Init: :func:`add_l2_init`, :class:`L2InitCallback`
* continual backprop: :class:`ContinualBackprop`, :class:`ContinualBackpropCallback`
* plasticity injection: :func:`inject_plasticity`, :class:`InjectionCallback`
* TRAC: :class:`TRAC`, :class:`TRACCallback`

The networks, parameters and optimizers they act on come from :mod:`fade_rl.algos`.
"""

from fade_rl.agents.baselines.cbp import ContinualBackprop, ContinualBackpropCallback
from fade_rl.agents.baselines.injection import InjectedHead, InjectionCallback, inject_plasticity
from fade_rl.agents.baselines.l2init import L2InitCallback, add_l2_init
from fade_rl.agents.baselines.redo import ReDoCallback, redo
from fade_rl.agents.baselines.reset import ResetCallback, reset_parameters
from fade_rl.agents.baselines.shrink_perturb import ShrinkPerturbCallback, shrink_perturb
from fade_rl.agents.baselines.trac import TRAC, TRACCallback
from fade_rl.agents.baselines.weight_decay import WeightDecayCallback, add_weight_decay

__all__ = [
    "TRAC",
    "ContinualBackprop",
    "ContinualBackpropCallback",
    "InjectedHead",
    "InjectionCallback",
    "L2InitCallback",
    "ReDoCallback",
    "ResetCallback",
    "ShrinkPerturbCallback",
    "TRACCallback",
    "WeightDecayCallback",
    "add_l2_init",
    "add_weight_decay",
    "inject_plasticity",
    "redo",
    "reset_parameters",
    "shrink_perturb",
]
