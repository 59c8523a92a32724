"""The plots of a report: return curves with shifts, plasticity metrics, FADE's decay rates.

Every curve that averages over seeds says how many it averages (``n=...`` in its label).
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from fade_rl.experiments.reports.load import RunRecord, method_order
from fade_rl.experiments.reports.stats import binned
from fade_rl.experiments.runs.atomic import atomic_path
from fade_rl.experiments.runs.folder import LAMBDA
from fade_rl.metrics.summaries import report_tags

__all__ = ["plasticity_tags", "plot_setting", "pyplot", "save_figure"]


def plasticity_tags(tags: set[str]) -> list[str]:
    """The plasticity panels of a report, from the tags PlasticityCallback writes: those the
    metric registry marks for the report (:func:`fade_rl.metrics.summaries.report_tags`).

    For the first critic network (``q_net`` or ``qf0``): the last hidden layer's dormant
    ratios, active units, srank, effective rank and feature norm, then the whole network's
    weight norm and distance from initialization, the plasticity probe's fit ratio and the
    memory probe's R^2 (those present).
    """
    return report_tags(tags)


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend (files only, no display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: Path) -> str:
    """Lay out, write as PNG and close a matplotlib figure; return the file's name."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path.name


def _returns(ax: Any, by_method: dict, scalars: dict, grid: np.ndarray, colors: dict) -> None:
    for method in sorted(by_method, key=method_order):
        curves = []
        for r in by_method[method]:
            frame = scalars[r.path]
            part = frame[frame["tag"] == "episode/return"] if len(frame) else frame
            if len(part):
                curves.append(binned(part["step"].to_numpy(), part["value"].to_numpy(), grid))
        if not curves:
            continue
        stack = np.vstack(curves)
        label = f"{method} (mean of n={len(curves)} seed{'s' if len(curves) > 1 else ''})"
        ax.plot(grid, np.nanmean(stack, axis=0), color=colors[method], label=label)
        if len(curves) > 1:
            lo, hi = np.nanmin(stack, axis=0), np.nanmax(stack, axis=0)
            ax.fill_between(grid, lo, hi, color=colors[method], alpha=0.15)


def _plasticity(axes: Any, tags: list[str], by_method: dict, scalars: dict, colors: dict) -> None:
    import pandas as pd

    for ax, tag in zip(axes.flat, tags, strict=False):
        for method in sorted(by_method, key=method_order):
            parts = [
                scalars[r.path][scalars[r.path]["tag"] == tag]
                for r in by_method[method]
                if len(scalars[r.path])
            ]
            parts = [p for p in parts if len(p)]
            if parts:
                mean = pd.concat(parts).groupby("step")["value"].mean()
                label = f"{method} (n={len(parts)})"
                ax.plot(
                    mean.index, mean.to_numpy(), color=colors[method], label=label, marker=".", ms=3
                )
        ax.set_title(tag.split("/", 2)[2], fontsize=9)
        ax.tick_params(labelsize=7)


def plot_setting(
    setting: str, runs: list[RunRecord], scalars: dict[Path, Any], out: Path
) -> list[str]:
    """Write the setting's PNGs into ``out``; return their file names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = []
    by_method: dict[str, list[RunRecord]] = defaultdict(list)
    for r in runs:
        by_method[r.method].append(r)
    total = max(int(r.summary.get("n_timesteps", 0)) for r in runs) or 1
    grid = np.linspace(total / 50, total, 50)
    colors = {m: f"C{i}" for i, m in enumerate(sorted(by_method, key=method_order))}
    shifts = runs[0].summary.get("shifts", [])

    fig, ax = plt.subplots(figsize=(8, 4.5))
    _returns(ax, by_method, scalars, grid, colors)
    for i, s in enumerate(shifts):
        ax.axvline(s["step"], color="k", ls="--", lw=0.8, label="shift" if i == 0 else None)
    ax.set_xlabel("environment steps")
    ax.set_ylabel("episode return (mean over n seeds; band: min-max)")
    ax.set_title(f"{setting}: returns")
    ax.legend(fontsize=8)
    files.append(save_figure(fig, out / f"returns_{setting}.png"))

    tags = plasticity_tags(
        {t for r in runs if len(scalars[r.path]) for t in scalars[r.path]["tag"].unique()}
    )
    if tags:
        cols = 3
        rows = math.ceil(len(tags) / cols)
        fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3 * rows), squeeze=False)
        _plasticity(axes, tags, by_method, scalars, colors)
        for ax in axes.flat[: len(tags)]:
            for s in shifts:
                ax.axvline(s["step"], color="k", ls="--", lw=0.6)
        for ax in list(axes.flat)[len(tags) :]:
            ax.axis("off")
        axes.flat[0].legend(fontsize=7)
        fig.suptitle(f"{setting}: plasticity (critic head features, mean over n seeds)")
        files.append(save_figure(fig, out / f"plasticity_{setting}.png"))

    rates: dict[str, list[np.ndarray]] = defaultdict(list)
    for r in runs:  # the runs whose method learns decay rates saved them
        path = r.path / LAMBDA
        if path.is_file():
            with np.load(path) as data:
                for head in data.files:
                    rates[head].append(data[head])
    if rates:
        fig, ax = plt.subplots(figsize=(6, 4))
        for head, arrays in sorted(rates.items()):
            values = np.log10(np.clip(np.concatenate(arrays), 1e-12, None))
            ax.hist(values, bins=40, alpha=0.6, label=f"{head} ({len(arrays)} runs)")
        ax.set_xlabel("log10 lambda (final, per head element)")
        ax.set_ylabel("count")
        ax.set_title(f"{setting}: FADE decay rates")
        ax.legend(fontsize=8)
        files.append(save_figure(fig, out / f"lambda_{setting}.png"))
    return files
