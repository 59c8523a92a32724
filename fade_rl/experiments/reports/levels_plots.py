"""The many-level report's plot: each method's normalized return per level, with the
plain agent's mechanism (dormant share, feature rank) beside the oracle's."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fade_rl.experiments.reports.load import method_order
from fade_rl.experiments.reports.plots import pyplot, save_figure
from fade_rl.methods import PLAIN

__all__ = ["plot_levels"]

_ORACLE = "oracle"


def _series(rows: Sequence[Mapping[str, Any]], method: str, column: str) -> tuple[list, list]:
    mine = sorted((r for r in rows if r["method"] == method), key=lambda r: r["segment"])
    kept = [r for r in mine if r[column] is not None]
    return [r["segment"] for r in kept], [r[column] for r in kept]


def plot_levels(setting: str, level_rows: Sequence[Mapping[str, Any]], out: Path) -> str:
    """``levels_<setting>.png``: per method the mean normalized return per level (95%
    t-interval band), and the plain agent's and the oracle's dormant share and feature rank."""
    rows = [r for r in level_rows if r["setting"] == setting]
    methods = sorted({r["method"] for r in rows}, key=lambda m: (m == _ORACLE, method_order(m)))
    plt = pyplot()
    fig, (ax, mech) = plt.subplots(1, 2, figsize=(12, 4.5), width_ratios=[2, 1])
    for i, method in enumerate(methods):
        x, y = _series(rows, method, "normalized")
        style = {"lw": 2.2} if method in (PLAIN, _ORACLE) else {"lw": 1.0, "alpha": 0.8}
        ax.plot(x, y, marker="o", ms=3, color=f"C{i}", label=method, **style)
        bands = [r for r in rows if r["method"] == method and r["normalized_ci_low"] is not None]
        if bands:
            bands.sort(key=lambda r: r["segment"])
            ax.fill_between(
                [r["segment"] for r in bands],
                [r["normalized_ci_low"] for r in bands],
                [r["normalized_ci_high"] for r in bands],
                color=f"C{i}",
                alpha=0.1,
            )
    ax.axhline(0, color="grey", lw=0.6)
    ax.axhline(1, color="grey", lw=0.6, ls=":")
    ax.set_xlabel("level")
    ax.set_ylabel("normalized return (0 random, 1 oracle)")
    ax.set_title(f"{setting}: normalized return per level (95% t-interval)")
    ax.legend(fontsize=7, ncol=2)
    for method, color in ((PLAIN, "C0"), (_ORACLE, "k")):
        for column, ls in (("dormant_share", "-"), ("feature_rank", "--")):
            x, y = _series(rows, method, column)
            if column == "feature_rank" and y:
                top = max(y) or 1.0
                y = [v / top for v in y]
            mech.plot(x, y, ls=ls, color=color, label=f"{method} {column.replace('_', ' ')}")
    mech.set_xlabel("level")
    mech.set_title("dormant share; feature rank / its max")
    mech.legend(fontsize=7)
    return save_figure(fig, out / f"levels_{setting}.png")
