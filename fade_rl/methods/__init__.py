"""Methods against the loss of plasticity: one module per method, each ending in its ``SPEC``.

A method is its params (``methods.<name>`` of a config), its implementation (a function
acting on a DQN, SAC, TD3 or PPO model once, plus an SB3 callback that applies it during
``learn``; plasticity injection refuses PPO) and its
:class:`~fade_rl.methods.spec.MethodSpec`, which decides everything method-specific;
:data:`REGISTRY` lists them all. They work on vanilla SB3 models and FADE ones alike:

* ``none``: the algorithm as it is (:mod:`~fade_rl.methods.none`)
* fixed decoupled weight decay: :func:`add_weight_decay`, :class:`WeightDecayCallback`
* resets: :func:`reset_parameters`, :class:`ResetCallback`
* shrink & perturb: :func:`shrink_perturb`, :class:`ShrinkPerturbCallback`
* ReDo: :func:`redo`, :class:`ReDoCallback`
* L2 Init: :func:`add_l2_init`, :class:`L2InitCallback`
* continual backprop: :class:`ContinualBackprop`, :class:`ContinualBackpropCallback`
* plasticity injection: :func:`inject_plasticity`, :class:`InjectionCallback`
* TRAC: :class:`TRAC`, :class:`TRACCallback`
* FADE: the Fade agents (:mod:`~fade_rl.methods.fade` holds its params)

The networks, parameters and optimizers they act on come from :mod:`fade_rl.algos`.

Example:
    >>> from fade_rl.methods import METHODS, REGISTRY
    >>> METHODS[-1], REGISTRY["reset"].counters
    ('fade', ('n_resets',))
"""

from fade_rl.methods import registry
from fade_rl.methods.cbp import CbpParams, ContinualBackprop, ContinualBackpropCallback
from fade_rl.methods.fade import FadeParams
from fade_rl.methods.injection import (
    InjectedHead,
    InjectionCallback,
    InjectionParams,
    inject_plasticity,
)
from fade_rl.methods.l2init import L2InitCallback, L2InitParams, add_l2_init
from fade_rl.methods.redo import ReDoCallback, RedoParams, redo
from fade_rl.methods.registry import *  # noqa: F403 (the names in registry.__all__)
from fade_rl.methods.reset import ResetCallback, ResetParams, reset_parameters
from fade_rl.methods.snp import ShrinkPerturbCallback, SnpParams, shrink_perturb
from fade_rl.methods.spec import SHIFT_KEY, TAG, MethodParams, MethodSpec, TuningGrid
from fade_rl.methods.trac import TRAC, TRACCallback, TracParams
from fade_rl.methods.wd import WdParams, WeightDecayCallback, add_weight_decay

__all__ = [
    *registry.__all__,
    "SHIFT_KEY",
    "TAG",
    "TRAC",
    "CbpParams",
    "ContinualBackprop",
    "ContinualBackpropCallback",
    "FadeParams",
    "InjectedHead",
    "InjectionCallback",
    "InjectionParams",
    "L2InitCallback",
    "L2InitParams",
    "MethodParams",
    "MethodSpec",
    "ReDoCallback",
    "RedoParams",
    "ResetCallback",
    "ResetParams",
    "ShrinkPerturbCallback",
    "SnpParams",
    "TRACCallback",
    "TracParams",
    "TuningGrid",
    "WdParams",
    "WeightDecayCallback",
    "add_l2_init",
    "add_weight_decay",
    "inject_plasticity",
    "redo",
    "reset_parameters",
    "shrink_perturb",
]
