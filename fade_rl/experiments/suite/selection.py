"""Choosing each method's value from its tuning runs (the suite's ``tuning`` phase).

Example:
    >>> choose("learning_rate", [(0.4, 1e-3), (0.7, 3e-4), (0.7, 1e-4)])["value"]
    0.0003
    >>> choose("learning_rate", [(-math.inf, 1e-3), (0.1, 3e-4)])["tuning_scores"][0]
    {'value': 0.001, 'mean_score': None}
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fade_rl.experiments.runs.folder import (
    COMPLETED,
    CORRUPT,
    FAILED,
    INVALID,
    RunError,
    RunFolder,
)
from fade_rl.experiments.runs.validate import ReportInputError
from fade_rl.experiments.suite.score import run_score

__all__ = [
    "SELECTION_RULE",
    "best_index",
    "choose",
    "finished_summary",
    "mean_over_runs",
    "mean_tuning_score",
]

#: How a value is chosen (written into ``protocol.json``).
SELECTION_RULE = (
    "highest mean score over the tuning seeds; a value with a failed run ranks below every "
    "value without; ties go to the earlier value"
)


def finished_summary(run_dir: Path) -> dict[str, Any] | None:
    """A finished run's summary; ``None`` for a failed one; :class:`RunError` if unfinished."""
    outcome = RunFolder(run_dir).outcome()
    if outcome.status == COMPLETED:
        return outcome.summary
    if outcome.status == INVALID:
        raise ReportInputError(
            f"{outcome.error}; rerun the tuning phase with --restart, or remove the run"
        )
    if outcome.status == FAILED:
        return None
    if outcome.status == CORRUPT:
        raise RunError(f"run {run_dir}: {outcome.error}; rerun it with --restart")
    raise RunError(f"run {run_dir} has not finished; run the tuning phase first")


def mean_over_runs(
    run_dirs: Sequence[Path], value: Callable[[Mapping[str, Any]], float | None]
) -> float:
    """The mean of ``value(summary)`` over one grid point's tuning runs; a failed run, or one
    ``value`` gives ``None``, counts ``-inf`` (its point ranks below every point without)."""
    values = []
    for run_dir in run_dirs:
        summary = finished_summary(run_dir)
        result = None if summary is None else value(summary)
        values.append(-math.inf if result is None else result)
    return float(np.mean(values))


def mean_tuning_score(run_dirs: Sequence[Path], references: Mapping[str, Any]) -> float:
    """The mean score of one grid point's tuning runs; a failed run scores ``-inf``."""
    return mean_over_runs(run_dirs, lambda summary: run_score(summary, references).score)


def best_index(means: Sequence[float]) -> int:
    """The index of the highest mean; ties go to the earlier one.

    Example:
        >>> best_index([0.4, 0.7, 0.7])
        1
    """
    return max(range(len(means)), key=lambda i: (means[i], -i))


def choose(key: str, table: Sequence[tuple[float, Any]]) -> dict[str, Any]:
    """``protocol.json``'s entry for one method: the value of the best ``(mean score, value)``
    row by :data:`SELECTION_RULE`, and every row."""
    best = best_index([mean for mean, _ in table])
    return {
        "key": key,
        "value": table[best][1],
        "tuning_scores": [
            {"value": v, "mean_score": None if math.isinf(m) else m} for m, v in table
        ],
    }
