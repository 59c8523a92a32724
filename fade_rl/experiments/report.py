"""Reports from run folders: aggregate over seeds, shift recovery, tables and plots.

:func:`make_report` finds the run folders under the given paths (any folder with a
``summary.json``; folders with only a ``failure.json`` are listed as failed), reads their
TensorBoard events with tbparse, and per setting and method computes

* the interquartile mean (IQM) over seeds of the final return (mean of the last 10
  episodes) and of the mean return over the run, with 95% stratified bootstrap confidence
  intervals (rliable, 2,000 resamples);
* shift recovery: for every shift, whether and how fast the return came back to the
  return last reached under the same environment values (see
  :func:`fade_rl.metrics.shifts.shift_statistics`), and the mean return per segment.

It writes ``report.md``, ``report.csv`` (one row per setting and method), ``runs.csv``
(one row per run), ``segments.csv`` (one row per run and segment) and PNG plots: return
curves with the shifts marked, plasticity metrics over time, FADE's decay-rate
distributions.
"""

from __future__ import annotations

import json
import math
import warnings
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fade_rl.experiments.config import METHODS

__all__ = ["RunRecord", "find_runs", "make_report"]


@dataclass
class RunRecord:
    """One run folder as the report sees it."""

    path: Path
    setting: str
    method: str
    seed: int
    status: str
    summary: dict[str, Any]
    error: str | None = None


def _order(method: str) -> int:
    return METHODS.index(method) if method in METHODS else len(METHODS)


def find_runs(paths: list[str | Path]) -> list[RunRecord]:
    """Every run folder under ``paths`` (completed, unfinished and failed)."""
    import yaml

    seen: set[Path] = set()
    records = []
    for root in map(Path, paths):
        if not root.exists():
            raise FileNotFoundError(f"{root}: no such folder")
        for config_path in sorted(root.rglob("config.yaml")):
            run_dir = config_path.parent
            if run_dir in seen or not (run_dir / "versions.json").is_file():
                continue
            seen.add(run_dir)
            config = yaml.safe_load(config_path.read_text())
            summary_path, failure = run_dir / "summary.json", run_dir / "failure.json"
            summary = json.loads(summary_path.read_text()) if summary_path.is_file() else {}
            error = None
            if summary.get("status") == "completed":
                status = "completed"
            elif failure.is_file():
                status, error = "failed", json.loads(failure.read_text()).get("error")
            else:
                status = "unfinished"
            records.append(
                RunRecord(
                    run_dir,
                    config["name"],
                    config["method"],
                    config["seed"],
                    status,
                    summary,
                    error,
                )
            )
    records.sort(key=lambda r: (r.setting, _order(r.method), r.method, r.seed))
    return records


# ---------------------------------------------------------------------------- scalars
def read_scalars(run_dir: Path) -> Any:
    """The run's TensorBoard scalars as a long pandas frame (``step``, ``tag``, ``value``)."""
    from tbparse import SummaryReader

    frame = SummaryReader(str(run_dir), pivot=False).scalars
    if len(frame) == 0:
        return frame
    return frame.sort_values(["tag", "step"]).reset_index(drop=True)


def _binned(steps: np.ndarray, values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Mean of the values falling in each grid bin, the last mean carried through empty bins."""
    out = np.full(len(grid), np.nan)
    edges = np.concatenate([[-np.inf], grid])
    last = np.nan
    for i in range(len(grid)):
        mask = (steps > edges[i]) & (steps <= edges[i + 1])
        if mask.any():
            last = float(values[mask].mean())
        out[i] = last
    return out


# ------------------------------------------------------------------------ aggregation
def _iqm_with_ci(scores: dict[str, np.ndarray], reps: int, seed: int = 0) -> dict[str, tuple]:
    """``method -> (iqm, low, high)`` with rliable's stratified bootstrap (one task)."""
    from rliable import library as rly
    from rliable import metrics

    valid = {m: s.reshape(-1, 1) for m, s in scores.items() if len(s) and np.isfinite(s).all()}
    if not valid:
        return {}
    np.random.seed(seed)  # rliable draws its resamples from numpy's global generator

    def aggregate(x: np.ndarray) -> np.ndarray:
        return np.array([metrics.aggregate_iqm(x)])

    points, intervals = rly.get_interval_estimates(valid, aggregate, reps=reps)
    return {
        m: (float(points[m][0]), float(intervals[m][0, 0]), float(intervals[m][1, 0]))
        for m in valid
    }


def _fmt(value: float | None, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{value:,.{digits}f}"


def _shift_stats(record: RunRecord) -> dict[str, Any]:
    segments = record.summary.get("segments", [])[1:]
    recovered = [s["recovery_steps"] for s in segments if s["recovery_steps"] is not None]
    comparable = [s for s in segments if s["reference_return"] is not None]
    drops = [
        s["return_after"] - s["return_before"]
        for s in segments
        if s["return_after"] is not None and s["return_before"] is not None
    ]
    return {
        "n_shifts": len(segments),
        "n_comparable": len(comparable),
        "n_recovered": len(recovered),
        "recovery_steps": float(np.mean(recovered)) if recovered else None,
        "return_change_at_shift": float(np.mean(drops)) if drops else None,
    }


_LAYER_METRICS = (
    "dormant_ratio_tau0",
    "dormant_ratio_tau0.025",
    "dormant_ratio_tau0.1",
    "active_units",
    "srank",
    "effective_rank",
    "feature_norm",
)
_NET_METRICS = (
    "net/weight_norm",
    "net/dist_from_init",
    "probe/fit_ratio",
    "memory/probe_r2",
)


def plasticity_tags(tags: set[str]) -> list[str]:
    """The plasticity panels of a report, from the tags PlasticityCallback writes.

    For the first critic network (``q_net`` or ``qf0``): the last hidden layer's dormant
    ratios, active units, srank, effective rank and feature norm, then the whole network's
    weight norm and distance from initialization, the plasticity probe's fit ratio and the
    memory probe's R^2 (those present).
    """
    parts = [t.split("/") for t in tags if t.startswith("plasticity/") and t.count("/") >= 3]
    nets = sorted({p[1] for p in parts})
    if not nets:
        return []
    net = nets[0]
    hidden = sorted(
        {p[2] for p in parts if p[1] == net and p[2].startswith("hidden") and p[2][6:].isdigit()},
        key=lambda name: int(name[6:]),
    )
    wanted = [f"plasticity/{net}/{hidden[-1]}/{m}" for m in _LAYER_METRICS] if hidden else []
    wanted += [f"plasticity/{net}/{m}" for m in _NET_METRICS]
    return [t for t in wanted if t in tags]


def _save_figure(fig: Any, path: Path) -> str:
    """Lay out, write as PNG and close a matplotlib figure; return the file's name."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path.name


def _plot_setting(
    setting: str, runs: list[RunRecord], scalars: dict[Path, Any], out: Path
) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    files = []
    by_method: dict[str, list[RunRecord]] = defaultdict(list)
    for r in runs:
        by_method[r.method].append(r)
    total = max(int(r.summary.get("n_timesteps", 0)) for r in runs) or 1
    grid = np.linspace(total / 50, total, 50)
    colors = {m: f"C{i}" for i, m in enumerate(sorted(by_method, key=_order))}
    shifts = runs[0].summary.get("shifts", [])

    # Return curves with shift markers.
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for method in sorted(by_method, key=_order):
        curves = []
        for r in by_method[method]:
            frame = scalars[r.path]
            part = frame[frame["tag"] == "episode/return"] if len(frame) else frame
            if len(part):
                curves.append(_binned(part["step"].to_numpy(), part["value"].to_numpy(), grid))
        if not curves:
            continue
        stack = np.vstack(curves)
        mean = np.nanmean(stack, axis=0)
        ax.plot(grid, mean, color=colors[method], label=f"{method} (n={len(curves)})")
        if len(curves) > 1:
            lo, hi = np.nanmin(stack, axis=0), np.nanmax(stack, axis=0)
            ax.fill_between(grid, lo, hi, color=colors[method], alpha=0.15)
    for i, s in enumerate(shifts):
        ax.axvline(s["step"], color="k", ls="--", lw=0.8, label="shift" if i == 0 else None)
    ax.set_xlabel("environment steps")
    ax.set_ylabel("episode return (mean over seeds; band: min-max)")
    ax.set_title(f"{setting}: returns")
    ax.legend(fontsize=8)
    files.append(_save_figure(fig, out / f"returns_{setting}.png"))

    # Plasticity metrics over time.
    tags = plasticity_tags(
        {t for r in runs if len(scalars[r.path]) for t in scalars[r.path]["tag"].unique()}
    )
    if tags:
        cols = 3
        rows = math.ceil(len(tags) / cols)
        fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3 * rows), squeeze=False)
        for ax, tag in zip(axes.flat, tags, strict=False):
            for method in sorted(by_method, key=_order):
                parts = [
                    scalars[r.path][scalars[r.path]["tag"] == tag]
                    for r in by_method[method]
                    if len(scalars[r.path])
                ]
                parts = [p for p in parts if len(p)]
                if parts:
                    mean = pd.concat(parts).groupby("step")["value"].mean()
                    ax.plot(
                        mean.index,
                        mean.to_numpy(),
                        color=colors[method],
                        label=method,
                        marker=".",
                        ms=3,
                    )
            for s in shifts:
                ax.axvline(s["step"], color="k", ls="--", lw=0.6)
            ax.set_title(tag.split("/", 2)[2], fontsize=9)
            ax.tick_params(labelsize=7)
        for ax in list(axes.flat)[len(tags) :]:
            ax.axis("off")
        axes.flat[0].legend(fontsize=7)
        fig.suptitle(f"{setting}: plasticity (critic head features, mean over seeds)")
        files.append(_save_figure(fig, out / f"plasticity_{setting}.png"))

    # FADE's decay rates.
    rates: dict[str, list[np.ndarray]] = defaultdict(list)
    for r in by_method.get("fade", []):
        path = r.path / "lambda.npz"
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
        files.append(_save_figure(fig, out / f"lambda_{setting}.png"))
    return files


def make_report(
    paths: list[str | Path], out: str | Path | None = None, reps: int = 2000
) -> dict[str, Any]:
    """Write ``report.md``, CSVs and PNGs for the runs under ``paths`` into ``out``.

    Args:
        paths: run folders or folders above them (e.g. ``runs/cartpole_reward_flip``).
        out: output folder (default: ``<first path>/report``).
        reps: bootstrap resamples.

    Returns:
        ``{"out": folder, "table": markdown table, "rows": aggregate rows, "runs": n}``.

    Raises:
        FileNotFoundError: a path does not exist, or holds no run folders.
    """
    import pandas as pd

    records = find_runs(list(paths))
    if not records:
        raise FileNotFoundError(
            f"no run folders (with config.yaml) under {', '.join(map(str, paths))}"
        )
    out_dir = Path(out) if out is not None else Path(paths[0]) / "report"
    out_dir.mkdir(parents=True, exist_ok=True)

    completed = [r for r in records if r.status == "completed"]
    scalars = {r.path: read_scalars(r.path) for r in completed}
    run_rows: list[dict[str, Any]] = []
    segment_rows: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    for r in records:
        row = {
            "setting": r.setting,
            "method": r.method,
            "seed": r.seed,
            "status": r.status,
            "final_return": r.summary.get("final_return"),
            "mean_return": r.summary.get("mean_return"),
            "steps": r.summary.get("n_timesteps"),
            "steps_per_second": r.summary.get("steps_per_second"),
            "error": r.error,
            "path": str(r.path),
        }
        if r.status == "completed":
            row.update(_shift_stats(r))
            for seg in r.summary.get("segments", []):
                segment_rows.append(
                    {"setting": r.setting, "method": r.method, "seed": r.seed, **seg}
                )
        run_rows.append(row)

    lines = ["# fade-rl report", ""]
    lines.append(
        "Final return: mean of the last 10 episodes; mean return: over the whole run. "
        "IQM over seeds with 95% stratified bootstrap CIs (rliable, "
        f"{reps} resamples). Recovered: shifts after which the return came back to 90% of "
        "the return last reached under the same environment values; recovery steps: mean "
        "steps that took. Return change at shift: mean over 10 episodes after minus before."
    )
    table_md = ""
    settings = sorted({r.setting for r in records})
    for setting in settings:
        runs = [r for r in completed if r.setting == setting]
        methods = sorted({r.method for r in records if r.setting == setting}, key=_order)
        finals = {
            m: np.array([r.summary["final_return"] for r in runs if r.method == m], dtype=float)
            for m in methods
        }
        means = {
            m: np.array([r.summary["mean_return"] for r in runs if r.method == m], dtype=float)
            for m in methods
        }
        ci_final, ci_mean = _iqm_with_ci(finals, reps), _iqm_with_ci(means, reps)
        header = (
            "| method | runs | final return IQM [95% CI] | mean return IQM [95% CI] "
            "| recovered | recovery steps | return change at shift | steps/s |"
        )
        table = [header, "|" + "---|" * 8]
        for m in methods:
            mine = [x for x in run_rows if x["setting"] == setting and x["method"] == m]
            done = [x for x in mine if x["status"] == "completed"]
            rec_steps = [x["recovery_steps"] for x in done if x.get("recovery_steps") is not None]
            changes = [
                x["return_change_at_shift"]
                for x in done
                if x.get("return_change_at_shift") is not None
            ]
            n_comp = sum(x.get("n_comparable", 0) for x in done)
            n_rec = sum(x.get("n_recovered", 0) for x in done)
            sps = [x["steps_per_second"] for x in done if x["steps_per_second"]]
            f, mn = ci_final.get(m), ci_mean.get(m)
            agg = {
                "setting": setting,
                "method": m,
                "runs": len(done),
                "failed": sum(x["status"] == "failed" for x in mine),
                "final_iqm": f[0] if f else None,
                "final_ci_low": f[1] if f else None,
                "final_ci_high": f[2] if f else None,
                "mean_iqm": mn[0] if mn else None,
                "mean_ci_low": mn[1] if mn else None,
                "mean_ci_high": mn[2] if mn else None,
                "shifts_recovered": n_rec,
                "shifts_comparable": n_comp,
                "recovery_steps": float(np.mean(rec_steps)) if rec_steps else None,
                "return_change_at_shift": float(np.mean(changes)) if changes else None,
                "steps_per_second": float(np.mean(sps)) if sps else None,
            }
            rows.append(agg)

            def ci(v: tuple | None) -> str:
                return f"{_fmt(v[0])} [{_fmt(v[1])}, {_fmt(v[2])}]" if v else "-"

            runs_txt = str(len(done)) + (f" ({agg['failed']} failed)" if agg["failed"] else "")
            table.append(
                f"| {m} | {runs_txt} | {ci(f)} | {ci(mn)} | {n_rec}/{n_comp} "
                f"| {_fmt(agg['recovery_steps'], 0)} | {_fmt(agg['return_change_at_shift'])} "
                f"| {_fmt(agg['steps_per_second'], 0)} |"
            )
        setting_md = "\n".join(table)
        table_md += (f"### {setting}\n\n" if len(settings) > 1 else "") + setting_md + "\n"
        lines += ["", f"## {setting}", "", setting_md, ""]
        seg_here = [s for s in segment_rows if s["setting"] == setting]
        if seg_here:
            n_seg = max(s["segment"] for s in seg_here) + 1
            lines += ["Mean return per segment (mean over seeds):", ""]
            lines.append("| method | " + " | ".join(f"seg {k}" for k in range(n_seg)) + " |")
            lines.append("|" + "---|" * (n_seg + 1))
            for m in methods:
                cells = []
                for k in range(n_seg):
                    vals = [
                        s["mean_return"]
                        for s in seg_here
                        if s["method"] == m and s["segment"] == k and s["mean_return"] is not None
                    ]
                    cells.append(_fmt(float(np.mean(vals))) if vals else "-")
                lines.append(f"| {m} | " + " | ".join(cells) + " |")
            lines.append("")
        if runs:
            with warnings.catch_warnings():  # nan-means over bins no seed reached yet
                warnings.simplefilter("ignore", RuntimeWarning)
                plots = _plot_setting(setting, runs, scalars, out_dir)
            for name in plots:
                lines += [f"![{name}]({name})", ""]
    failed = [r for r in records if r.status != "completed"]
    if failed:
        lines += ["## Runs not completed", ""]
        lines += [
            f"- `{r.path}`: {r.status}" + (f" ({r.error})" if r.error else "") for r in failed
        ]
        lines.append("")
    lines += ["Runs:", ""] + [f"- `{r.path}`" for r in completed]

    (out_dir / "report.md").write_text("\n".join(lines) + "\n")
    pd.DataFrame(rows).to_csv(out_dir / "report.csv", index=False)
    pd.DataFrame(run_rows).to_csv(out_dir / "runs.csv", index=False)
    pd.DataFrame(segment_rows).to_csv(out_dir / "segments.csv", index=False)
    return {"out": out_dir, "table": table_md, "rows": rows, "runs": len(records)}
