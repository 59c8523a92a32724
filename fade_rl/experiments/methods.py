"""The method registry: every method's name, help, config params and callbacks, in one place.

Each :class:`MethodSpec` says what ``methods.<name>`` in a config holds (a pydantic
model, validated with one-line errors) and how to build the method's SB3 callbacks from
it. :data:`METHODS`, :data:`METHOD_HELP`, the config's ``methods`` section
(:data:`MethodsConfig`) and the CLI's help all derive from :data:`REGISTRY`. Adding a
method means adding its params model and one :class:`MethodSpec` here (plus its own
module in :mod:`fade_rl.agents.baselines`).

A callback's checkpoint state is its own API: ``state_dict()``/``load_state_dict()``
(tensors, saved with ``torch.save``) and/or ``state()`` (JSON). For callbacks that only
count, ``counters`` names the attributes the checkpoint keeps.

Example:
    >>> METHODS[:3]
    ('none', 'wd', 'reset')
    >>> REGISTRY["cbp"].params().replacement_rate
    0.0001
    >>> [type(cb).__name__ for cb in REGISTRY["l2init"].callbacks(L2InitParams())]
    ['L2InitCallback']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator, model_validator

from fade_rl.experiments.checks import StrictModel

__all__ = [
    "METHODS",
    "METHOD_HELP",
    "REGISTRY",
    "SHIFT_KEY",
    "CbpParams",
    "FadeParams",
    "InjectionParams",
    "L2InitParams",
    "MethodSpec",
    "MethodsConfig",
    "RedoParams",
    "ResetParams",
    "SnpParams",
    "TracParams",
    "WdParams",
]

#: The ``info`` key the environments set on a shift (methods with ``at_shift`` read it).
SHIFT_KEY = "shift"


_Params = StrictModel


class FadeParams(_Params):
    """FADE's hyperparameters (``fade_kwargs`` of FadeDQN/FadeSAC/FadeTD3)."""

    meta_lr: float = Field(default=1.0, gt=0)
    init_decay: float = Field(default=1e-4, gt=0, le=1)
    base: Literal["adam", "sgd"] | None = None
    idbd: bool | None = None


class WdParams(_Params):
    """Fixed decoupled weight decay (AdamW-style) on the head or the whole critic."""

    weight_decay: float = Field(default=1e-2, ge=0)
    target: Literal["head", "critic"] = "head"


class ResetParams(_Params):
    """Resets: every ``every`` steps and/or at each environment shift."""

    target: Literal["head", "critic", "all"] = "critic"
    every: int | None = Field(default=None, ge=1)
    at_shift: bool = True

    @model_validator(mode="after")
    def _some_trigger(self) -> ResetParams:
        if self.every is None and not self.at_shift:
            raise ValueError("set every (steps) and/or at_shift: true")
        return self


class SnpParams(_Params):
    """Shrink & perturb: ``theta = alpha * theta + (1 - alpha) * fresh`` every ``every`` steps."""

    alpha: float = Field(default=0.8, ge=0, le=1)
    every: int = Field(default=5000, ge=1)
    target: Literal["head", "critic", "all"] = "critic"


class RedoParams(_Params):
    """ReDo: recycle tau-dormant units every ``every`` steps."""

    tau: float = Field(default=0.1, ge=0)
    every: int = Field(default=1000, ge=1)
    batch_size: int = Field(default=256, ge=1)


class L2InitParams(_Params):
    """L2 Init (Kumar et al. 2023): ``coefficient * ||theta - theta_0||^2`` on the target.

    The paper searches the coefficient over 1e-2 ... 1e-5; the default 1e-3 is the middle
    of that range (not tuned here).
    """

    coefficient: float = Field(default=1e-3, ge=0)
    target: Literal["head", "critic", "all"] = "critic"


class CbpParams(_Params):
    """Continual backprop (Dohare et al. 2024), the paper's RL settings as defaults."""

    replacement_rate: float = Field(default=1e-4, ge=0, le=1)
    decay: float = Field(default=0.99, ge=0, lt=1)
    maturity_threshold: int = Field(default=100, ge=1)


class InjectionParams(_Params):
    """Plasticity injection (Nikishin et al. 2023) at ``at_steps`` and/or at each shift.

    The paper injects once, mid-training, or at each task switch; the default injects at
    every environment shift.
    """

    at_steps: list[int] = Field(default_factory=list)
    at_shift: bool = True

    @field_validator("at_steps")
    @classmethod
    def _positive(cls, value: list[int]) -> list[int]:
        bad = [s for s in value if s < 1]
        if bad:
            raise ValueError(f"steps must be >= 1, got {bad[0]}")
        return value

    @model_validator(mode="after")
    def _some_trigger(self) -> InjectionParams:
        if not self.at_steps and not self.at_shift:
            raise ValueError("set at_steps: [steps] and/or at_shift: true")
        return self


#: The TRAC paper's six discount factors.
_TRAC_BETAS = [0.9, 0.99, 0.999, 0.9999, 0.99999, 0.999999]


class TracParams(_Params):
    """TRAC (Muppidi et al. 2024) around the critic optimizer; the paper's defaults."""

    betas: list[float] = Field(default_factory=lambda: list(_TRAC_BETAS), min_length=1)
    s_prev: float = Field(default=1e-8, gt=0)
    eps: float = Field(default=1e-8, gt=0)

    @field_validator("betas")
    @classmethod
    def _in_unit_interval(cls, value: list[float]) -> list[float]:
        bad = [b for b in value if not 0 < b < 1]
        if bad:
            raise ValueError(f"each beta must be in (0, 1), got {bad[0]}")
        return value


# ---------------------------------------------------------------------------- builders
def _wd(p: Any) -> list[Any]:
    from fade_rl.agents.baselines import WeightDecayCallback

    return [WeightDecayCallback(p.weight_decay, target=p.target)]


def _reset(p: Any) -> list[Any]:
    from fade_rl.agents.baselines import ResetCallback

    key = SHIFT_KEY if p.at_shift else None
    return [ResetCallback(target=p.target, every=p.every, shift_info_key=key)]


def _snp(p: Any) -> list[Any]:
    from fade_rl.agents.baselines import ShrinkPerturbCallback

    return [ShrinkPerturbCallback(p.alpha, p.every, target=p.target)]


def _redo(p: Any) -> list[Any]:
    from fade_rl.agents.baselines import ReDoCallback

    return [ReDoCallback(tau=p.tau, every=p.every, batch_size=p.batch_size)]


def _l2init(p: Any) -> list[Any]:
    from fade_rl.agents.baselines import L2InitCallback

    return [L2InitCallback(p.coefficient, target=p.target)]


def _cbp(p: Any) -> list[Any]:
    from fade_rl.agents.baselines import ContinualBackpropCallback

    return [ContinualBackpropCallback(p.replacement_rate, p.decay, p.maturity_threshold)]


def _injection(p: Any) -> list[Any]:
    from fade_rl.agents.baselines import InjectionCallback

    return [InjectionCallback(p.at_steps, SHIFT_KEY if p.at_shift else None)]


def _trac(p: Any) -> list[Any]:
    from fade_rl.agents.baselines import TRACCallback

    return [TRACCallback(p.betas, p.s_prev, p.eps)]


def _no_callbacks(p: Any) -> list[Any]:
    return []


@dataclass(frozen=True)
class MethodSpec:
    """One method: its help line, its params model and how its callbacks are built.

    Args:
        help: one line for help texts.
        params: the pydantic model of ``methods.<name>`` (``None``: the method has none).
        callbacks: the method's SB3 callbacks, built from its validated params.
        counters: attributes of a callback without a state API that a checkpoint keeps.
        fade: the run uses the FADE algorithm (FadeDQN/FadeSAC/FadeTD3).

    Example:
        >>> spec = REGISTRY["injection"]
        >>> spec.help, spec.counters
        ('plasticity injection', ('n_injections',))
        >>> spec.callbacks(InjectionParams(at_steps=[1000], at_shift=False))[0].at_steps
        [1000]
    """

    help: str
    params: type[_Params] | None = None
    callbacks: Callable[[Any], list[Any]] = _no_callbacks
    counters: tuple[str, ...] = ()
    fade: bool = False


#: Every method, in the order help texts and reports list them.
REGISTRY: dict[str, MethodSpec] = {
    "none": MethodSpec("base optimizer"),
    "wd": MethodSpec("fixed weight decay", WdParams, _wd),
    "reset": MethodSpec("resets", ResetParams, _reset, ("n_resets",)),
    "snp": MethodSpec("shrink & perturb", SnpParams, _snp, ("n_applied",)),
    "redo": MethodSpec("ReDo", RedoParams, _redo, ("n_recycled",)),
    "l2init": MethodSpec("L2 Init toward the initial weights", L2InitParams, _l2init),
    "cbp": MethodSpec("continual backprop", CbpParams, _cbp),
    "injection": MethodSpec("plasticity injection", InjectionParams, _injection, ("n_injections",)),
    "trac": MethodSpec("TRAC optimizer", TracParams, _trac),
    "fade": MethodSpec("FADE", FadeParams, fade=True),
}

#: The method vocabulary shared by configs, the CLI, run folders and reports.
METHODS: tuple[str, ...] = tuple(REGISTRY)
#: What each method is, for help texts.
METHOD_HELP: dict[str, str] = {name: spec.help for name, spec in REGISTRY.items()}

#: The config's ``methods`` section: one field per method with params, defaults filled in.
MethodsConfig: type[BaseModel] = create_model(  # type: ignore[call-overload]
    "MethodsConfig",
    __config__=ConfigDict(extra="forbid", validate_assignment=True),
    __doc__="Hyperparameters of every method (``none`` has none).",
    **{
        name: (spec.params, Field(default_factory=spec.params))
        for name, spec in REGISTRY.items()
        if spec.params is not None
    },
)
