"""The measurement settings of :class:`~fade_rl.metrics.PlasticityCallback`, validated once.

:class:`MeasurementSettings` holds every setting; :func:`check_setting` is the one check of
each, used by its constructor and by the experiments' config (whose ``logging`` keys name
some of them), so both refuse the same values with the same one-line message.

Example:
    >>> MeasurementSettings(interval=500).batch_size
    256
    >>> check_setting("batch_size", 1)
    Traceback (most recent call last):
    ...
    ValueError: batch_size must be an integer in [2, 1000000] (statistics over a batch), got 1
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from fade_rl.algos import check_positive_int, check_tau

__all__ = ["SHIFT_REFERENCES", "MeasurementSettings", "check_setting"]

#: What a segment's recovery is measured against (see :func:`~fade_rl.metrics.shift_statistics`).
SHIFT_REFERENCES = ("previous", "same_values")


#: The largest batch a measurement takes (it is drawn from the replay buffer at once).
MAX_BATCH = 1_000_000


def _integer(name: str, value: Any, low: int, why: str) -> int:
    """An int in ``[low, MAX_BATCH]`` (``low`` above 1, for statistics over a batch)."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= MAX_BATCH:
        raise ValueError(
            f"{name} must be an integer in [{low}, {MAX_BATCH}] ({why}), got {value!r}"
        )
    return value


def _positive(name: str, none: bool = False) -> Callable[[Any], Any]:
    return lambda value: check_positive_int(name, value, allow_none=none)


def _batch(name: str) -> Callable[[Any], Any]:
    return lambda value: _integer(name, value, 1, "a batch drawn at once")


def _number(name: str, value: Any, low: float, high: float, closed: bool, example: str) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or not (low <= value <= high if closed else low <= value < high):
        bounds = f"[{low:g}, {high:g}]" if closed else f"[{low:g}, {high:g})"
        raise ValueError(f"{name} must be in {bounds} (e.g. {example}), got {value!r}")
    return float(value)


def _taus(value: Any) -> tuple[float, ...]:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise ValueError(f"taus must be a sequence of dormancy thresholds, got {value!r}")
    taus = tuple(check_tau(t) for t in value)
    if not taus:
        raise ValueError("taus must name at least one dormancy threshold, e.g. (0.0, 0.025)")
    return taus


def _learning_rate(value: Any) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or not value > 0:
        raise ValueError(f"probe_lr must be a positive number (e.g. 1e-3), got {value!r}")
    return float(value)


def _reference(value: Any) -> str:
    if value not in SHIFT_REFERENCES:
        raise ValueError(f"shift_reference must be 'previous' or 'same_values', got {value!r}")
    return str(value)


def _seed(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"seed must be a non-negative integer, got {value!r}")
    return value


_CHECKS: dict[str, Callable[[Any], Any]] = {
    "interval": _positive("interval"),
    "batch_size": lambda v: _integer("batch_size", v, 2, "statistics over a batch"),
    "taus": _taus,
    "srank_delta": lambda v: _number("srank_delta", v, 0.0, 1.0, False, "0.01"),
    "histogram_interval": _positive("histogram_interval", none=True),
    "probe_interval": _positive("probe_interval", none=True),
    "probe_steps": _positive("probe_steps"),
    "probe_batch_size": _batch("probe_batch_size"),
    "probe_lr": _learning_rate,
    "memory": bool,
    "memory_batch_size": lambda v: _integer(
        "memory_batch_size", v, 4, "the memory probe fits on half the rows, scores the rest"
    ),
    "recovery_share": lambda v: _number("recovery_share", v, 0.0, 1.0, True, "0.9"),
    "return_window": _positive("return_window"),
    "recovery_window": _positive("recovery_window"),
    "shift_reference": _reference,
    "seed": _seed,
}


def check_setting(name: str, value: Any) -> Any:
    """``value`` of the setting ``name``, normalized (``taus`` as a tuple of floats), or a
    one-line ValueError naming the setting, the allowed values and what was given."""
    if name not in _CHECKS:
        raise ValueError(f"unknown measurement setting {name!r}; known: {', '.join(_CHECKS)}")
    return _CHECKS[name](value)


@dataclass(frozen=True)
class MeasurementSettings:
    """Every setting of a :class:`~fade_rl.metrics.PlasticityCallback`, each checked by
    :func:`check_setting`.

    Attributes:
        interval: environment steps (``model.num_timesteps``) between measurements.
        batch_size: transitions per measurement (at least 2).
        taus: dormancy thresholds; one ``dormant_ratio_tau<tau>`` per value.
        srank_delta: the ``delta`` of srank, in ``[0, 1)``.
        histogram_interval: steps between histograms (activations, FADE's lambdas);
            ``None`` for none.
        probe_interval: steps between plasticity probes; ``None`` for none.
        probe_steps: Adam steps of the plasticity probe.
        probe_batch_size: replay states the probe fits.
        probe_lr: the probe's Adam learning rate.
        memory: record pre-shift outputs at each shift and log the memory probe.
        memory_batch_size: transitions recorded for the memory probe (at least 4).
        recovery_share: share of the reference return that counts as recovered.
        return_window: episodes averaged before/after a shift.
        recovery_window: episodes in the running mean tested for recovery.
        shift_reference: ``"previous"`` or ``"same_values"`` (see
            :func:`~fade_rl.metrics.shifts.shift_statistics`).
        seed: seed of the probes' random targets and fresh networks.

    Example:
        >>> MeasurementSettings(taus=[0, 0.1]).taus
        (0.0, 0.1)
    """

    interval: int = 1000
    batch_size: int = 256
    taus: tuple[float, ...] = (0.0, 0.025)
    srank_delta: float = 0.01
    histogram_interval: int | None = 10_000
    probe_interval: int | None = 25_000
    probe_steps: int = 100
    probe_batch_size: int = 512
    probe_lr: float = 1e-3
    memory: bool = True
    memory_batch_size: int = 1024
    recovery_share: float = 0.9
    return_window: int = 10
    recovery_window: int = 5
    shift_reference: str = "previous"
    seed: int = 0

    def __post_init__(self) -> None:
        for field in fields(self):
            object.__setattr__(
                self, field.name, check_setting(field.name, getattr(self, field.name))
            )
