"""What the report and the final summary take from a run's metrics, derived from the registry.

:func:`report_tags` picks the tags the report plots for a setting (the ``report`` suffixes of
the entries of :data:`fade_rl.metrics.registry.METRICS`); :func:`final_means` turns the
latest values into the ``final/...`` numbers of the summary (their ``final`` suffixes).

Example:
    >>> report_tags({"plasticity/q_net/hidden0/srank", "plasticity/q_net/hidden1/srank",
    ...              "plasticity/q_net/head/q_mean", "plasticity/q_net/net/weight_norm"})
    ['plasticity/q_net/hidden1/srank', 'plasticity/q_net/net/weight_norm']
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from fade_rl.metrics import registry
from fade_rl.metrics.registry import SCOPES, TAU

__all__ = ["final_means", "report_tags"]


def _present(suffix: str, prefix: str, tags: set[str]) -> list[str]:
    """The tags ``prefix + suffix`` among ``tags`` (``{tau}``: each threshold, ascending)."""
    if TAU not in suffix:
        return [prefix + suffix] if prefix + suffix in tags else []
    head, tail = suffix.split(TAU, 1)
    rx = re.compile(f"{re.escape(prefix + head)}([0-9.e+-]+){re.escape(tail)}")
    found = [(float(m.group(1)), t) for t in tags if (m := rx.fullmatch(t))]
    return [t for _, t in sorted(found)]


def report_tags(tags: set[str]) -> list[str]:
    """The tags the report plots for a setting, of those among ``tags``: the report suffixes
    of the first critic network (``q_net`` or ``qf0``), per-layer ones of its last hidden
    layer, in registry order."""
    parts = [t.split("/") for t in tags if t.startswith("plasticity/") and t.count("/") >= 3]
    nets = sorted({p[1] for p in parts})
    if not nets:
        return []
    net = nets[0]
    hidden = sorted(
        {p[2] for p in parts if p[1] == net and p[2].startswith("hidden") and p[2][6:].isdigit()},
        key=lambda name: int(name[6:]),
    )
    out: list[str] = []
    for metric in registry.METRICS:
        template = SCOPES[metric.scope].report
        if template is None or ("{layer}" in template and not hidden):
            continue
        prefix = template.format(network=net, layer=hidden[-1] if hidden else "")
        for suffix in metric.report:
            out += _present(suffix, prefix, tags)
    return out


def final_means(latest: Mapping[str, float], taus: Sequence[float]) -> dict[str, float]:
    """The final summary's means: for each entry's ``final`` suffix, the mean of its latest
    values over networks (and hidden layers), as ``final/<scope stem><suffix>``; a
    per-threshold suffix at the largest of ``taus``.

    Example:
        >>> final_means({"plasticity/q_net/hidden0/srank": 3.0,
        ...              "plasticity/q_net/hidden1/srank": 5.0}, taus=(0.1,))
        {'final/srank': 4.0}
    """
    out = {}
    for metric in registry.METRICS:
        scope = SCOPES[metric.scope]
        for suffix in metric.final:
            name = suffix.replace(TAU, f"{max(taus):g}")
            rx = re.compile(scope.pattern + re.escape(name) + "$")
            values = [v for k, v in latest.items() if rx.match(k)]
            if values:
                out[f"final/{scope.final}{name}"] = sum(values) / len(values)
    return out
