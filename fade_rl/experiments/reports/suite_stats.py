"""The suite report's statistics: score matrices, probability of improvement, profiles, timing.

Everything that resamples uses rliable (Agarwal et al. 2021): stratified bootstrap
confidence intervals (95%, percentile), ``P(X > Y)`` as its Mann-Whitney definition (ties
count one half, averaged over tasks), score distributions as performance profiles. The IQM
itself is :func:`~fade_rl.experiments.reports.stats.iqm_with_ci`.

**Aggregating over settings.** rliable wants one ``runs x tasks`` matrix per method with the
same number of runs in every task. :func:`aggregate_matrices` keeps the settings in which
every method has a scored run, takes ``n`` = the fewest scored runs of any (setting,
method) there, and uses each method's first ``n`` scored runs (by seed) of each setting. The
DQN settings (10 held-out seeds) and the SAC setting (5) then aggregate over seeds 0..4
of each, so every setting weighs the same.

Example:
    >>> import numpy as np
    >>> x, y = np.array([[1.0], [3.0]]), np.array([[2.0], [0.0]])
    >>> probability_of_improvement(x, y, reps=100)[0]  # 3 of the 4 pairs have x > y
    0.75
    >>> m, n, kept, dropped = aggregate_matrices(
    ...     {"a": {"fade": {0: 1.0, 1: 2.0}}, "b": {"fade": {0: 3.0}}})
    >>> m["fade"].tolist(), n, kept
    ([[1.0, 3.0]], 1, ['a', 'b'])
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "GROUP_SECONDS",
    "aggregate_matrices",
    "lambda_spread",
    "performance_profile",
    "phase_times",
    "probability_of_improvement",
]

#: Shard records of one phase that started within this many seconds are one invocation.
GROUP_SECONDS = 60.0


def aggregate_matrices(
    scores: Mapping[str, Mapping[str, Mapping[int, float]]],
) -> tuple[dict[str, np.ndarray], int, list[str], list[str]]:
    """Per method a ``n x settings`` score matrix (see the module's aggregation rule).

    Args:
        scores: ``setting -> method -> seed -> score`` (scored runs only).

    Returns:
        ``(matrices, n, kept settings, dropped settings)``; a setting is dropped when a
        method of the union has no scored run in it.
    """
    methods = sorted({m for by_method in scores.values() for m in by_method})
    kept = [s for s in sorted(scores) if all(scores[s].get(m) for m in methods)]
    dropped = [s for s in sorted(scores) if s not in kept]
    if not kept or not methods:
        return {}, 0, [], dropped
    n = min(len(scores[s][m]) for s in kept for m in methods)
    matrices = {
        m: np.array(
            [[scores[s][m][seed] for seed in sorted(scores[s][m])[:n]] for s in kept], dtype=float
        ).T
        for m in methods
    }
    return matrices, n, kept, dropped


def _seeded(seed: int) -> None:
    np.random.seed(seed)  # rliable draws its resamples from numpy's global generator


def probability_of_improvement(
    x: np.ndarray, y: np.ndarray, reps: int = 2000, seed: int = 0
) -> tuple[float, float | None, float | None]:
    """rliable's ``P(X > Y)`` of two ``runs x tasks`` matrices, with its 95% CI.

    The CI comes from rliable's stratified *independent* bootstrap (the runs of ``x`` and
    of ``y`` resampled apart, within each task); with one run on either side there is no
    interval (``None``).
    """
    from rliable import library as rly
    from rliable import metrics

    if reps < 1:
        raise ValueError(f"reps must be >= 1 bootstrap resample, got {reps}")
    point = float(metrics.probability_of_improvement(x, y))
    if len(x) < 2 or len(y) < 2:
        return point, None, None
    _seeded(seed)
    _, intervals = rly.get_interval_estimates(
        {"pair": [x, y]}, metrics.probability_of_improvement, reps=reps
    )
    low, high = np.ravel(intervals["pair"])[:2]
    return point, float(low), float(high)


def performance_profile(
    matrices: Mapping[str, np.ndarray], taus: np.ndarray, reps: int = 2000, seed: int = 0
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Per method the fraction of runs with score ``> tau`` and its ``2 x len(taus)`` 95% CI."""
    from rliable import library as rly

    if reps < 1:
        raise ValueError(f"reps must be >= 1 bootstrap resample, got {reps}")
    _seeded(seed)
    profiles, cis = rly.create_performance_profile(dict(matrices), taus, reps=reps)
    return dict(profiles), dict(cis)


def lambda_spread(finals: Sequence[Mapping[str, float]]) -> dict[str, dict[str, float]]:
    """The median over runs of each run's final log10 lambda statistics, per network.

    Args:
        finals: one mapping per run, ``tag -> value`` of its ``fade/<net>/lambda_<stat>``
            scalars at their last step (raw lambda, not log).

    Returns:
        ``net -> {stat: median log10 lambda, "n": runs}``, e.g. ``{"q_net": {"q50": -4.0}}``.

    Example:
        >>> lambda_spread([{"fade/q_net/lambda_q50": 1e-4}, {"fade/q_net/lambda_q50": 1e-2}])
        {'q_net': {'q50': -3.0, 'n': 2}}
    """
    values: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    runs: dict[str, set[int]] = defaultdict(set)
    for i, final in enumerate(finals):
        for tag, value in final.items():
            parts = tag.split("/")
            if len(parts) != 3 or parts[0] != "fade" or not parts[2].startswith("lambda_"):
                continue
            net, stat = parts[1], parts[2][len("lambda_") :]
            values[net][stat].append(math.log10(max(float(value), 1e-30)))
            runs[net].add(i)
    out: dict[str, dict[str, float]] = {}
    for net in sorted(values):
        out[net] = {stat: float(np.median(v)) for stat, v in values[net].items()}
        out[net]["n"] = len(runs[net])
    return out


def phase_times(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Wall-clock time per tier and phase from ``timing.jsonl``'s records.

    Rule: records of one tier and phase are sorted by start; a record joins the current
    *invocation* when it has a shard index not yet in it and started within
    :data:`GROUP_SECONDS` of the invocation's first record (shards run in parallel);
    otherwise it opens a new one (an unsharded record is always its own). An invocation
    took the longest of its records; a phase took the sum over its invocations (each rerun
    that resumed it adds its time).

    Returns:
        One row per tier and phase (in order of first start): ``tier, phase, invocations,
        shards, seconds, completed, skipped, failed``.

    Example:
        >>> rows = phase_times([
        ...     {"tier": "t", "phase": "p", "shard": [0, 2], "started": 0, "seconds": 10},
        ...     {"tier": "t", "phase": "p", "shard": [1, 2], "started": 5, "seconds": 30},
        ...     {"tier": "t", "phase": "p", "shard": None, "started": 900, "seconds": 4}])
        >>> rows[0]["seconds"], rows[0]["invocations"], rows[0]["shards"]
        (34.0, 2, 2)
    """
    by_phase: dict[tuple[str, str], list[Mapping[str, Any]]] = defaultdict(list)
    for r in sorted(records, key=lambda r: float(r.get("started", 0.0))):
        by_phase[(str(r.get("tier")), str(r.get("phase")))].append(r)
    rows = []
    for (tier, phase), recs in by_phase.items():
        groups: list[list[Mapping[str, Any]]] = []
        for r in recs:
            shard = r.get("shard")
            current = groups[-1] if groups else None
            if (
                current is not None
                and shard is not None
                and current[0].get("shard") is not None
                and shard[0] not in {c["shard"][0] for c in current}
                and float(r["started"]) - float(current[0]["started"]) <= GROUP_SECONDS
            ):
                current.append(r)
            else:
                groups.append([r])
        rows.append(
            {
                "tier": tier,
                "phase": phase,
                "invocations": len(groups),
                "shards": max(len(g) for g in groups),
                "seconds": float(sum(max(float(r["seconds"]) for r in g) for g in groups)),
                **{
                    k: sum(int(r.get(k, 0)) for r in recs)
                    for k in ("completed", "skipped", "failed")
                },
            }
        )
    return rows
