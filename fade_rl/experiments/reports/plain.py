"""Reports from run folders: aggregate over seeds, shift recovery, tables and plots.

:func:`make_report` finds the run folders under the given paths (any folder with a
``summary.json``; folders with only a ``failure.json`` are listed as failed), reads their
TensorBoard events with tbparse, and per setting and method computes

* the interquartile mean (IQM) over seeds of the final return (mean of the last 10
  episodes) and of the suite's primary score (:mod:`~fade_rl.experiments.suite.score`; only
  where ``references/<setting>.json`` lies under one of the paths), with 95% stratified
  bootstrap confidence intervals (rliable, 2,000 resamples). The mean return over the
  whole run is not reported: it averages segments whose rewards may change sign;
* shift recovery: for every shift, whether and how fast the return came back to the
  return last reached under the same environment values (see
  :func:`fade_rl.metrics.shifts.shift_statistics`), and the mean return per segment.

It writes ``report.md``, ``report.csv`` (one row per setting and method), ``runs.csv``
(one row per run), ``segments.csv`` (one row per run and segment) and PNG plots: return
curves with the shifts marked, plasticity metrics over time, FADE's decay-rate
distributions. A method with one completed seed shows its score with "n=1, no CI".
Unreadable files (a corrupt ``summary.json``, an empty or damaged events file) are named
on stderr and under "Warnings" in ``report.md``; a summary with a damaged value makes its
run ``invalid``, kept out of the statistics. Runs of one setting and method with different
configs, and references that do not match their digests, are refused
(:mod:`~fade_rl.experiments.runs.validate`, :mod:`~fade_rl.experiments.suite.provenance`).

Reading run folders lives in :mod:`~fade_rl.experiments.reports.load`, the statistics in
:mod:`~fade_rl.experiments.reports.stats`, the plots in
:mod:`~fade_rl.experiments.reports.plots`; this module writes the tables and files.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from fade_rl.experiments.reports.load import (
    Problems,
    RunRecord,
    find_runs,
    method_order,
    read_scalars,
    write_report_files,
)
from fade_rl.experiments.reports.plots import plasticity_tags, plot_setting
from fade_rl.experiments.reports.stats import (
    ci_columns,
    format_ci,
    format_number,
    iqm_with_ci,
    shift_stats,
)
from fade_rl.experiments.runs.folder import COMPLETED, CONFIG, FAILED
from fade_rl.experiments.runs.validate import check_one_config
from fade_rl.experiments.suite.references import load_references
from fade_rl.experiments.suite.score import score_run

__all__ = ["RunRecord", "find_runs", "make_report", "plasticity_tags"]


def make_report(
    paths: list[str | Path], out: str | Path | None = None, reps: int = 2000
) -> dict[str, Any]:
    """Write ``report.md``, CSVs and PNGs for the runs under ``paths`` into ``out``.

    Args:
        paths: run folders or folders above them (e.g. ``runs/cartpole_reward_flip``).
        out: output folder (default: ``<first path>/report``).
        reps: bootstrap resamples.

    Returns:
        ``{"out": folder, "table": markdown table, "rows": aggregate rows, "runs": n,
        "warnings": lines naming unreadable files}``.

    Raises:
        FileNotFoundError: a path does not exist, or holds no run folders.
        ReportInputError: runs of one setting and method with different configs, or
            references that are damaged, stray or do not match their digests (nothing
            is written).
        ValueError: ``reps < 1``.
    """
    if reps < 1:
        raise ValueError(f"reps must be >= 1 bootstrap resample, got {reps}")
    problems = Problems()
    records = find_runs(list(paths), problems)
    if not records:
        raise FileNotFoundError(
            f"no run folders (with {CONFIG}) under {', '.join(map(str, paths))}"
        )
    check_one_config((r.path, r.setting, r.method, r.config) for r in records)
    references: dict[str, dict[str, Any]] = {}
    for path in paths:
        for name, refs in load_references(path).items():
            references.setdefault(name, refs)
    out_dir = Path(out) if out is not None else Path(paths[0]) / "report"
    out_dir.mkdir(parents=True, exist_ok=True)

    completed = [r for r in records if r.status == COMPLETED]
    scalars = {r.path: read_scalars(r.path, problems) for r in completed}
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
            "score": None,
            "final_score": None,
            "steps": r.summary.get("n_timesteps"),
            "steps_per_second": r.summary.get("steps_per_second"),
            "error": r.error,
            "path": str(r.path),
        }
        if r.status == COMPLETED:
            result = score_run(r.summary, r.config, references.get(r.setting))
            if result.score is not None:
                row.update(score=result.score, final_score=result.final_score)
            row.update(shift_stats(r))
            for seg in r.summary.get("segments", []):
                segment_rows.append(
                    {"setting": r.setting, "method": r.method, "seed": r.seed, **seg}
                )
        run_rows.append(row)

    lines = ["# fade-rl report", ""]
    lines.append(
        "Final return: mean of the last 10 episodes. Score: the suite's primary score, each "
        "segment's return normalized between its task's references (random policy 0, a fresh "
        "agent on the task alone 1), averaged over the run; only for settings with references. "
        "IQM over seeds with 95% stratified bootstrap CIs (rliable, "
        f"{reps} resamples). Recovered: shifts after which the return came back to 90% of "
        "the return last reached under the same environment values; recovery steps: mean "
        "steps that took. Return change at shift: mean over 10 episodes after minus before."
    )
    table_md = ""
    settings = sorted({r.setting for r in records})
    for setting in settings:
        runs = [r for r in completed if r.setting == setting]
        methods = sorted({r.method for r in records if r.setting == setting}, key=method_order)
        finals = {
            m: np.array([r.summary["final_return"] for r in runs if r.method == m], dtype=float)
            for m in methods
        }
        scores = {
            m: np.array(
                [
                    x["score"]
                    for x in run_rows
                    if x["setting"] == setting and x["method"] == m and x["score"] is not None
                ],
                dtype=float,
            )
            for m in methods
        }
        ci_final, ci_mean = iqm_with_ci(finals, reps), iqm_with_ci(scores, reps)
        header = (
            "| method | runs | final return IQM [95% CI] | score IQM [95% CI] "
            "| recovered | recovery steps | return change at shift | steps/s |"
        )
        table = [header, "|" + "---|" * 8]
        for m in methods:
            mine = [x for x in run_rows if x["setting"] == setting and x["method"] == m]
            done = [x for x in mine if x["status"] == COMPLETED]
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
                "failed": sum(x["status"] == FAILED for x in mine),
                **ci_columns(f, "final_iqm", "final_ci_low", "final_ci_high"),
                **ci_columns(mn, "score_iqm", "score_ci_low", "score_ci_high"),
                "shifts_recovered": n_rec,
                "shifts_comparable": n_comp,
                "recovery_steps": float(np.mean(rec_steps)) if rec_steps else None,
                "return_change_at_shift": float(np.mean(changes)) if changes else None,
                "steps_per_second": float(np.mean(sps)) if sps else None,
            }
            rows.append(agg)

            runs_txt = str(len(done)) + (f" ({agg['failed']} failed)" if agg["failed"] else "")
            table.append(
                f"| {m} | {runs_txt} | {format_ci(f)} | {format_ci(mn, 3)} | {n_rec}/{n_comp} "
                f"| {format_number(agg['recovery_steps'], 0)} "
                f"| {format_number(agg['return_change_at_shift'])} "
                f"| {format_number(agg['steps_per_second'], 0)} |"
            )
        setting_md = "\n".join(table)
        table_md += (f"### {setting}\n\n" if len(settings) > 1 else "") + setting_md + "\n"
        lines += ["", f"## {setting}", "", setting_md, ""]
        if setting not in references:
            lines += [f"{setting} has no references (`references/{setting}.json`): no score.", ""]
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
                    cells.append(format_number(float(np.mean(vals))) if vals else "-")
                lines.append(f"| {m} | " + " | ".join(cells) + " |")
            lines.append("")
        if runs:
            with warnings.catch_warnings():  # nan-means over bins no seed reached yet
                warnings.simplefilter("ignore", RuntimeWarning)
                plots = plot_setting(setting, runs, scalars, out_dir)
            for name in plots:
                lines += [f"![{name}]({name})", ""]
    failed = [r for r in records if r.status != COMPLETED]
    if failed:
        lines += ["## Runs not completed", ""]
        lines += [
            f"- `{r.path}`: {r.status}" + (f" ({r.error})" if r.error else "") for r in failed
        ]
        lines.append("")
    if problems.lines:
        lines += ["## Warnings", ""] + [f"- {line}" for line in problems.lines] + [""]
    lines += ["Runs:", ""] + [f"- `{r.path}`" for r in completed]

    write_report_files(out_dir, lines, rows, run_rows, segment_rows)
    return {
        "out": out_dir,
        "table": table_md,
        "rows": rows,
        "runs": len(records),
        "warnings": problems.lines,
    }
