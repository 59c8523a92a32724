"""What a method is: a :class:`MethodSpec`, the base of its params and its default tuning grid.

Each method module (:mod:`fade_rl.methods.wd`, :mod:`~fade_rl.methods.fade`, ...) ends
with one ``SPEC``; generic code (configs, runs, checkpoints, the suite, reports) asks the
spec and never names a method.

Example:
    >>> grid = TuningGrid("learning_rate", ("x0.5", "x1", "x2"))
    >>> spec = MethodSpec("plain", "the algorithm as it is", grid)
    >>> spec.params is None, spec.fade, spec.callbacks(None), spec.cannot_resume({})
    (True, False, [], None)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from fade_rl.strict import StrictModel

__all__ = ["SHIFT_KEY", "TAG", "MethodParams", "MethodSpec", "TuningGrid"]

#: The ``info`` key the environments set on a shift (methods with ``at_shift`` read it).
SHIFT_KEY = "shift"

#: The TensorBoard namespace of the methods' own scalars (``baselines/n_resets``, ...): the
#: concept's name when the suite's results were logged, kept so old and new runs read alike.
TAG = "baselines"


class MethodParams(StrictModel):
    """The base of a method's params (``methods.<name>`` of a config): unknown keys and
    ``true``/``false`` for a number are refused.

    Example:
        >>> class Knob(MethodParams):
        ...     rate: float = 0.1
        >>> Knob(rate=0.5).rate
        0.5
    """

    #: Attributes of :meth:`callbacks` (callbacks without a state API) a checkpoint keeps.
    counters: ClassVar[tuple[str, ...]] = ()

    def callbacks(self) -> list[Any]:
        """The SB3 callbacks that apply the method during ``learn`` (by default none)."""
        return []


@dataclass(frozen=True)
class TuningGrid:
    """A method's default tuning grid: one dotted config key and its values.

    A value ``"xF"`` multiplies the setting's own value of the key. The suite's manifest
    may give a method another grid; a method it leaves out tunes this one.

    Example:
        >>> TuningGrid("methods.wd.weight_decay", (0.001, 0.01, 0.1)).as_dict()
        {'key': 'methods.wd.weight_decay', 'values': [0.001, 0.01, 0.1]}
    """

    key: str
    values: tuple[Any, ...]

    def as_dict(self) -> dict[str, Any]:
        """``{"key": ..., "values": [...]}``, as the suite's manifest writes a grid."""
        return {"key": self.key, "values": list(self.values)}


def params_callbacks(params: MethodParams | None) -> list[Any]:
    """The callbacks a method's ``params`` build (:meth:`MethodParams.callbacks`); none if none."""
    return [] if params is None else params.callbacks()


def always_resumable(counters: Mapping[str, Any]) -> str | None:
    """Any checkpoint of the method can be resumed."""
    return None


@dataclass(frozen=True)
class MethodSpec:
    """Everything method-specific, in one place: generic code asks here.

    Args:
        name: the method's name in configs, the CLI, run folders and reports.
        help: one line for help texts.
        grid: the default tuning grid (the suite's manifest may override it).
        params: the pydantic model of ``methods.<name>`` (``None``: the method has none).
        callbacks: the method's SB3 callbacks, built from its validated params (by default
            their :meth:`MethodParams.callbacks`).
        fade: the run builds the Fade agent class (FadeDQN/FadeSAC/FadeTD3/FadePPO), with the
            params as its ``fade_kwargs``.
        cannot_resume: given the counters a checkpoint kept, why the run cannot resume
            from it (one line), or ``None`` when it can.

    Example:
        >>> from fade_rl.methods import REGISTRY
        >>> spec = REGISTRY["injection"]
        >>> spec.help, spec.counters
        ('plasticity injection', ('n_injections',))
        >>> spec.cannot_resume({"n_injections": 2})
        "the model was plasticity-injected (2 times; SB3's load rebuilds plain heads)"
    """

    name: str
    help: str
    grid: TuningGrid
    params: type[MethodParams] | None = None
    callbacks: Callable[[Any], list[Any]] = params_callbacks
    fade: bool = False
    cannot_resume: Callable[[Mapping[str, Any]], str | None] = always_resumable

    @property
    def counters(self) -> tuple[str, ...]:
        """Attributes of the method's callbacks a checkpoint keeps (its params' ``counters``)."""
        return () if self.params is None else self.params.counters
