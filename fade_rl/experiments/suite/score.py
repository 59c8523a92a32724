"""The suite's primary score: each segment's return normalized between its task's references.

A segment's return is its time-averaged return (``summary.json``'s per-segment
``mean_return``: the latest finished episode's return, held until the next one ends, per
step). Its task is named by the segment's ``values`` restricted to the setting's
``task_keys``. With that task's references, the *floor* (a random policy) and the
*ceiling* (a fresh agent trained on the task alone for one segment's budget, the
"oracle" of continual RL), the normalized return is ``(r - floor) / (ceiling - floor)``:
0 is no better than random, 1 is as good as learning the task from scratch. A run's
``score`` is the step-weighted mean over its segments (the area under the normalized
curve, per step); ``final_score`` is the last segment's.

Example:
    >>> refs = {"task_keys": ["reward.sign"], "tasks": [
    ...     {"values": {"reward.sign": 1}, "floor": 20.0, "ceiling": 120.0},
    ...     {"values": {"reward.sign": -1}, "floor": -20.0, "ceiling": -10.0}]}
    >>> summary = {"segments": [
    ...     {"start": 0, "end": 100, "mean_return": 70.0, "values": {"reward.sign": 1.0}},
    ...     {"start": 100, "end": 400, "mean_return": -12.0, "values": {"reward.sign": -1.0}}]}
    >>> s = run_score(summary, refs)
    >>> round(s.score, 3), round(s.final_score, 3), s.problem
    (0.725, 0.8, None)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fade_rl.experiments.suite.provenance import env_digest

__all__ = ["RunScore", "match_task", "normalized_return", "run_score", "score_run"]

#: A ceiling must beat its floor by more than this (relative) to give a scale.
_MIN_SPAN = 1e-6


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def match_task(
    values: Mapping[str, Any] | None, task_keys: Sequence[str], tasks: Sequence[Mapping[str, Any]]
) -> Mapping[str, Any] | None:
    """The task among ``tasks`` whose ``values`` equal ``values`` on ``task_keys``."""
    values = values or {}
    for task in tasks:
        wanted = task["values"]
        if all(k in values and _same(values[k], wanted.get(k)) for k in task_keys):
            return task
    return None


def normalized_return(mean_return: float, floor: float, ceiling: float) -> float | None:
    """``(mean_return - floor) / (ceiling - floor)``; ``None`` unless the ceiling beats the floor.

    An oracle no better than a random policy gives no scale to measure against.
    """
    span = ceiling - floor
    if span <= _MIN_SPAN * max(1.0, abs(floor)):
        return None
    return (mean_return - floor) / span


@dataclass
class RunScore:
    """A run's score, its last segment's, each segment's, and what kept any from scoring.

    Example (a segment in which no episode ended leaves the run unscored):
        >>> refs = {"task_keys": [], "tasks": [{"values": {}, "floor": 0.0, "ceiling": 100.0}]}
        >>> summary = {"segments": [
        ...     {"segment": 0, "start": 0, "end": 100, "mean_return": 50.0, "values": {}},
        ...     {"segment": 1, "start": 100, "end": 200, "mean_return": None, "values": {}}]}
        >>> unscored = run_score(summary, refs)
        >>> unscored.score, unscored.segments, unscored.problem
        (None, [0.5, None], 'segment 1: no episode ended in it')
        >>> summary["segments"][1]["mean_return"] = 100.0
        >>> run_score(summary, refs)
        RunScore(score=0.75, final_score=1.0, segments=[0.5, 1.0], problem=None)
    """

    score: float | None
    final_score: float | None
    segments: list[float | None] = field(default_factory=list)
    problem: str | None = None


def run_score(summary: Mapping[str, Any], references: Mapping[str, Any]) -> RunScore:
    """Score a run from its ``summary.json`` and its setting's references.

    A segment in which no episode ended (no return) or whose task has no usable reference
    makes the whole score ``None``, with the reason in ``problem``: a partial score would
    favour runs that skip hard segments.
    """
    segments = summary.get("segments") or []
    if not segments:
        return RunScore(None, None, [], "the run has no segments")
    keys, tasks = references["task_keys"], references["tasks"]
    normalized: list[float | None] = []
    problem = None
    for seg in segments:
        task = match_task(seg.get("values"), keys, tasks)
        value = None
        if task is None:
            problem = problem or f"segment {seg.get('segment')}: no reference for its task"
        elif seg.get("mean_return") is None:
            problem = problem or f"segment {seg.get('segment')}: no episode ended in it"
        else:
            value = normalized_return(seg["mean_return"], task["floor"], task["ceiling"])
            if value is None:
                problem = problem or (f"task {task['values']}: its ceiling does not beat its floor")
        normalized.append(value)
    if problem is not None:
        return RunScore(None, normalized[-1], normalized, problem)
    weights = [seg["end"] - seg["start"] for seg in segments]
    total = sum(weights)
    score = sum(w * v for w, v in zip(weights, normalized, strict=True) if v is not None)
    return RunScore(score / total if total else None, normalized[-1], normalized)


def score_run(
    summary: Mapping[str, Any], config: Mapping[str, Any], references: Mapping[str, Any] | None
) -> RunScore:
    """:func:`run_score` once the references are known to belong to the run's env and budget."""
    if references is None:
        return RunScore(None, None, [], "its setting has no references")
    if references.get("digest") != env_digest(config):
        return RunScore(
            None, None, [], "the references belong to another environment or budget (digest)"
        )
    return run_score(summary, references)
