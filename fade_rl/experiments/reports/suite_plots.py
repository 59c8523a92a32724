"""The suite report's plots: normalized return curves, FADE's lambda over time, sensitivity,
performance profiles, IQM and probability-of-improvement intervals (matplotlib, Agg, PNG).

Each function writes one PNG into ``out`` and returns its file name. The return and
plasticity plots of the plain report are reused as they are
(:func:`~fade_rl.experiments.reports.plots.plot_setting`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fade_rl.experiments.reports.load import method_order
from fade_rl.experiments.reports.plots import pyplot, save_figure
from fade_rl.experiments.reports.stats import binned

__all__ = [
    "plot_intervals",
    "plot_lambda_time",
    "plot_normalized",
    "plot_profiles",
    "plot_sensitivity",
    "shared_order",
]

#: A ``(point, low, high, ...)`` estimate; ``low``/``high`` are ``None`` without a CI.
Estimate = tuple


def _shifts(ax: Any, shifts: Sequence[Mapping[str, Any]]) -> None:
    for i, s in enumerate(shifts):
        ax.axvline(s["step"], color="k", ls="--", lw=0.8, label="shift" if i == 0 else None)


def _save_over_steps(fig: Any, ax: Any, ylabel: str, title: str, path: Path) -> str:
    """Label a plot over environment steps, add its legend and save it to ``path``."""
    ax.set_xlabel("environment steps")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def plot_normalized(
    setting: str,
    curves: Mapping[str, Sequence[tuple[np.ndarray, np.ndarray]]],
    shifts: Sequence[Mapping[str, Any]],
    total: int,
    out: Path,
) -> str:
    """Per method the mean over seeds of each episode's normalized return, in 50 step bins.

    Args:
        curves: ``method -> [(episode end steps, normalized returns)]``, one pair per run.
    """
    plt = pyplot()
    grid = np.linspace(max(total, 1) / 50, max(total, 1), 50)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for i, method in enumerate(sorted(curves, key=method_order)):
        runs = [binned(s, v, grid) for s, v in curves[method] if len(s)]
        if not runs:
            continue
        stack = np.vstack(runs)
        with np.errstate(all="ignore"):
            mean = np.nanmean(stack, axis=0)
        label = f"{method} (mean of n={len(runs)})"
        ax.plot(grid, mean, color=f"C{i}", label=label)
        if len(runs) > 1:
            ax.fill_between(
                grid, np.nanmin(stack, axis=0), np.nanmax(stack, axis=0), color=f"C{i}", alpha=0.12
            )
    _shifts(ax, shifts)
    ax.axhline(0, color="grey", lw=0.6)
    ax.axhline(1, color="grey", lw=0.6, ls=":")
    return _save_over_steps(
        fig,
        ax,
        "normalized return (0 random, 1 fresh agent; band min-max)",
        f"{setting}: normalized episode return",
        out / f"normalized_{setting}.png",
    )


def plot_lambda_time(
    setting: str,
    series: Mapping[str, Mapping[str, tuple[np.ndarray, np.ndarray]]],
    shifts: Sequence[Mapping[str, Any]],
    out: Path,
) -> str:
    """FADE's log10 lambda over time per network: the q50 line in a q10..q90 band.

    Args:
        series: ``net -> stat (q10, q50, q90) -> (steps, median over runs of log10 lambda)``.
    """
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for i, (net, stats) in enumerate(sorted(series.items())):
        if "q50" in stats:
            ax.plot(*stats["q50"], color=f"C{i}", label=f"{net} q50")
        if "q10" in stats and "q90" in stats:
            (s10, v10), (s90, v90) = stats["q10"], stats["q90"]
            steps = np.intersect1d(s10, s90)
            ax.fill_between(
                steps,
                np.interp(steps, s10, v10),
                np.interp(steps, s90, v90),
                color=f"C{i}",
                alpha=0.2,
                label=f"{net} q10..q90",
            )
    _shifts(ax, shifts)
    return _save_over_steps(
        fig,
        ax,
        "log10 lambda (median over seeds)",
        f"{setting}: FADE's decay rates",
        out / f"lambda_time_{setting}.png",
    )


def plot_sensitivity(
    setting: str,
    table: np.ndarray,
    rows: tuple[str, Sequence[Any]],
    cols: tuple[str, Sequence[Any]],
    out: Path,
) -> str:
    """A heatmap of the mean tuning score over ``rows x cols`` (NaN: no scored run)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5, 4))
    image = ax.imshow(np.ma.masked_invalid(table), cmap="viridis", origin="lower")
    ax.set_xticks(range(len(cols[1])), [str(v) for v in cols[1]])
    ax.set_yticks(range(len(rows[1])), [str(v) for v in rows[1]])
    ax.set_xlabel(cols[0])
    ax.set_ylabel(rows[0])
    for (i, j), value in np.ndenumerate(table):
        text = "-" if not np.isfinite(value) else f"{value:.2f}"
        ax.text(j, i, text, ha="center", va="center", color="w", fontsize=9)
    fig.colorbar(image, ax=ax, label="mean score (tuning seeds)")
    ax.set_title(f"{setting}: FADE sensitivity")
    return save_figure(fig, out / f"sensitivity_{setting}.png")


def plot_profiles(
    panels: Mapping[str, tuple[np.ndarray, Mapping[str, np.ndarray], Mapping[str, np.ndarray]]],
    out: Path,
    name: str = "profiles.png",
) -> str:
    """Performance profiles, a panel each: ``title -> (taus, profiles, 2 x taus CIs)``."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 3.8), squeeze=False)
    for ax, (title, (taus, profiles, cis)) in zip(axes.flat, panels.items(), strict=True):
        for i, method in enumerate(sorted(profiles, key=method_order)):
            ax.plot(taus, profiles[method], color=f"C{i}", label=method)
            ci = cis.get(method)
            if ci is not None:
                ax.fill_between(taus, ci[0], ci[1], color=f"C{i}", alpha=0.15)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("normalized score tau")
        ax.set_ylabel("fraction of runs with score > tau")
        ax.set_ylim(-0.02, 1.02)
    axes.flat[0].legend(fontsize=8)
    return save_figure(fig, out / name)


def shared_order(panels: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Every panel's labels in the methods' shared order (unknown labels last, by name); a
    pair label ``"fade,none"`` (a probability of improvement) goes by its second method.

    Example:
        >>> shared_order({"all": {"wd": 1, "none": 2}, "a": {"fade": 3, "none": 4}})
        ['none', 'wd', 'fade']
        >>> shared_order({"all": {"fade,wd": 1, "fade,none": 2}})
        ['fade,none', 'fade,wd']
    """
    labels = {label for estimates in panels.values() for label in estimates}
    return sorted(labels, key=lambda label: (method_order(label.split(",")[-1]), label))


def plot_intervals(
    panels: Mapping[str, Mapping[str, Estimate]],
    xlabel: str,
    out: Path,
    name: str,
    reference: float | None = None,
) -> str:
    """Point estimates with their 95% CIs, one row per label, a panel per title.

    ``reference`` draws a dotted vertical line (0.5 for a probability of improvement).
    """
    plt = pyplot()
    order = shared_order(panels)
    height = 0.6 + 0.35 * max((len(p) for p in panels.values()), default=1)
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), height + 0.8), squeeze=False)
    for ax, (title, estimates) in zip(axes.flat, panels.items(), strict=True):
        labels = [label for label in order if label in estimates]
        for y, label in enumerate(labels):
            point, low, high = estimates[label][:3]
            if low is not None:  # one colour per method in every panel
                ax.hlines(y, low, high, color=f"C{order.index(label) % 10}", lw=6, alpha=0.5)
            ax.plot([point], [y], "k|", ms=14)
        if reference is not None:
            ax.axvline(reference, color="grey", ls=":", lw=1)
        ax.set_yticks(range(len(labels)), labels, fontsize=8)
        ax.invert_yaxis()  # the first method on top
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(xlabel)
    return save_figure(fig, out / name)
