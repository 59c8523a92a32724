"""The method registry: every method's spec, in the order help texts and reports list them.

:data:`METHODS`, :data:`METHOD_HELP`, the config's ``methods`` section
(:data:`MethodsConfig`), the CLI's help and the suite's default grids all derive from
:data:`REGISTRY`. Adding a method means adding its module (its params, its callbacks and
its ``SPEC``, see :mod:`fade_rl.methods.spec`) and its ``SPEC`` to :data:`REGISTRY` here.

A callback's checkpoint state is its own API: ``state_dict()``/``load_state_dict()``
(tensors, saved with ``torch.save``) and/or ``state()`` (JSON). For callbacks that only
count, the spec's ``counters`` names the attributes the checkpoint keeps.

Example:
    >>> METHODS[:3]
    ('none', 'wd', 'reset')
    >>> REGISTRY["cbp"].params().replacement_rate
    0.0001
    >>> [type(cb).__name__ for cb in REGISTRY["l2init"].callbacks(L2INIT.params())]
    ['L2InitCallback']
    >>> PROPOSED, PLAIN, DEFAULT_COMPARISON
    ('fade', 'none', ('fade', 'wd', 'reset', 'none'))
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, create_model

from fade_rl.methods.cbp import SPEC as CBP
from fade_rl.methods.fade import SPEC as FADE
from fade_rl.methods.injection import SPEC as INJECTION
from fade_rl.methods.l2init import SPEC as L2INIT
from fade_rl.methods.none import SPEC as NONE
from fade_rl.methods.redo import SPEC as REDO
from fade_rl.methods.reset import SPEC as RESET
from fade_rl.methods.snp import SPEC as SNP
from fade_rl.methods.spec import MethodSpec
from fade_rl.methods.trac import SPEC as TRAC
from fade_rl.methods.wd import SPEC as WD

__all__ = [
    "DEFAULT_COMPARISON",
    "METHODS",
    "METHOD_HELP",
    "PLAIN",
    "PROPOSED",
    "REGISTRY",
    "MethodsConfig",
]

#: Every method's spec (its module's ``SPEC``), in the order help texts and reports list them.
REGISTRY: dict[str, MethodSpec] = {
    spec.name: spec for spec in (NONE, WD, RESET, SNP, REDO, L2INIT, CBP, INJECTION, TRAC, FADE)
}

#: The method vocabulary shared by configs, the CLI, run folders and reports.
METHODS: tuple[str, ...] = tuple(REGISTRY)
#: What each method is, for help texts.
METHOD_HELP: dict[str, str] = {name: spec.help for name, spec in REGISTRY.items()}

#: The method fade-rl proposes: a config's default, and the one the suite's summary
#: compares with every other (``P(fade > method)``).
PROPOSED: str = FADE.name
#: The method that leaves the algorithm as it is: the reference (ceiling) runs use it.
PLAIN: str = NONE.name
#: The methods ``fade-rl compare`` and ``sweep`` run when ``--methods`` is not given.
DEFAULT_COMPARISON: tuple[str, ...] = (FADE.name, WD.name, RESET.name, NONE.name)

#: The config's ``methods`` section: one field per method with params, defaults filled in.
MethodsConfig: type[BaseModel] = create_model(  # type: ignore[call-overload]
    "MethodsConfig",
    __config__=ConfigDict(extra="forbid", validate_assignment=True),
    __doc__="""Hyperparameters of every method (``none`` has none).

    Example:
        >>> config = MethodsConfig(wd={"weight_decay": 0.1})
        >>> config.wd.weight_decay, config.cbp.replacement_rate
        (0.1, 0.0001)
        >>> "none" in MethodsConfig.model_fields
        False
        >>> MethodsConfig(none={})
        Traceback (most recent call last):
        ...
        pydantic_core._pydantic_core.ValidationError: 1 validation error for MethodsConfig
        none
          Extra inputs are not permitted ...
    """,
    **{
        name: (spec.params, Field(default_factory=spec.params))
        for name, spec in REGISTRY.items()
        if spec.params is not None
    },
)
