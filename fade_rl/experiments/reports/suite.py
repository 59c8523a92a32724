"""The suite report: held-out scores with rliable statistics, the protocol, FADE's lambda.

:func:`make_suite_report` reads a suite folder (:mod:`~fade_rl.experiments.suite.phases`) and
writes ``<folder>/report/``:

* ``runs.csv``: one row per held-out run: setting, method, seed, status, ``score``,
  ``final_score`` (:func:`~fade_rl.experiments.suite.score.run_score`), the chosen knob and
  value, wall_time_s, and ``problem`` (why a score is missing);
* ``segments.csv``: per run and segment: raw ``mean_return``, task values, floor,
  ceiling, ``normalized``;
* ``report.csv``: per setting (and ``all``) and method: IQM of the score and of the final
  score with 95% CIs, and FADE's probability of improvement over the method;
* ``report.md`` and PNG plots: per setting and aggregated over settings the IQM of the
  score (95% stratified bootstrap CIs), ``P(fade > method)``, performance profiles; the
  normalized return curves, the plain report's return and plasticity plots, FADE's lambda
  over time; the tuning table, seeds and grids, FADE's sensitivity table and heatmap, the
  spread of lambda, the wall-clock time per phase, and the references.

Raw returns appear only per segment: a run's mean of returns whose sign flips says nothing.
How settings are aggregated is :mod:`~fade_rl.experiments.reports.suite_stats`'s rule.

Example (a suite folder made by ``fade-rl suite``)::

    report = make_suite_report("runs/suite_smoke")
    print(report["table"])
"""

from __future__ import annotations

import json
import warnings
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from fade_rl.experiments.reports.load import (
    Problems,
    RunRecord,
    find_runs,
    read_scalars,
    write_report_files,
)
from fade_rl.experiments.reports.plots import plot_setting
from fade_rl.experiments.reports.suite_plots import (
    plot_lambda_time,
    plot_normalized,
    plot_sensitivity,
)
from fade_rl.experiments.reports.suite_stats import lambda_spread, phase_times
from fade_rl.experiments.reports.suite_summary import score_section
from fade_rl.experiments.reports.suite_tables import (
    lambda_table,
    protocol_tables,
    references_table,
    sensitivity_table,
    timing_table,
)
from fade_rl.experiments.runs.config import lookup
from fade_rl.experiments.runs.folder import SUMMARY
from fade_rl.experiments.runs.validate import (
    check_one_config,
    read_json,
    read_timing,
    summary_problem,
)
from fade_rl.experiments.suite.phases import HELD_OUT, PROTOCOL, SENSITIVITY, TIMING, TUNING
from fade_rl.experiments.suite.provenance import check_held_out, read_phase, read_protocol
from fade_rl.experiments.suite.references import REFERENCES, load_references
from fade_rl.experiments.suite.score import (
    RunScore,
    match_task,
    normalized_return,
    score_run,
)

__all__ = ["is_suite_folder", "make_suite_report", "score_run"]


def is_suite_folder(path: str | Path) -> bool:
    """Whether ``path`` is a suite folder: it holds ``protocol.json`` or ``references/``."""
    path = Path(path)
    return (path / PROTOCOL).is_file() or (path / REFERENCES).is_dir()


def _load(root: Path, problems: Problems) -> list[tuple[RunRecord, dict[str, Any]]]:
    if not root.is_dir():
        return []
    runs = [(r, r.config) for r in find_runs([root], problems)]
    check_one_config((r.path, r.setting, r.method, c) for r, c in runs)
    return runs


def _run_seconds(folder: Path) -> dict[str, tuple[int, float]]:
    """Per phase folder: (runs with a ``wall_time_s``, their summed seconds)."""
    out: dict[str, tuple[int, float]] = {}
    for phase in (REFERENCES, TUNING, HELD_OUT, SENSITIVITY):
        times = []
        for path in sorted((folder / phase).glob(f"**/{SUMMARY}")):
            summary, problem = read_json(path)
            if problem is not None or summary_problem(summary) is not None:
                continue  # a damaged summary is named by the run loaders
            seconds = summary.get("wall_time_s")
            if isinstance(seconds, (int, float)):
                times.append(float(seconds))
        if times:
            out[phase] = (len(times), sum(times))
    return out


def _lambda_finals(frame: Any) -> dict[str, float]:
    if not len(frame):
        return {}
    part = frame[frame["tag"].str.match(r"^fade/[^/]+/lambda_")]
    return {tag: float(g.sort_values("step")["value"].iloc[-1]) for tag, g in part.groupby("tag")}


def _lambda_series(frames: list[Any]) -> dict[str, dict[str, tuple[np.ndarray, np.ndarray]]]:
    import pandas as pd

    parts = [f[f["tag"].str.match(r"^fade/[^/]+/lambda_q(10|50|90)$")] for f in frames if len(f)]
    parts = [p for p in parts if len(p)]
    if not parts:
        return {}
    data = pd.concat(parts)
    data = data.assign(value=np.log10(np.clip(data["value"].to_numpy(dtype=float), 1e-30, None)))
    out: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = defaultdict(dict)
    for tag, group in data.groupby("tag"):
        _, net, stat = str(tag).split("/")
        median = group.groupby("step")["value"].median()
        out[net][stat.removeprefix("lambda_")] = (median.index.to_numpy(), median.to_numpy())
    return dict(out)


def _normalized_episodes(
    frame: Any, summary: Mapping[str, Any], refs: Mapping[str, Any]
) -> tuple[np.ndarray, np.ndarray]:
    """Each episode's return normalized with the references of its segment's task."""
    if not len(frame):
        return np.array([]), np.array([])
    part = frame[frame["tag"] == "episode/return"]
    segments = summary.get("segments") or []
    steps, values = [], []
    for step, ret in zip(part["step"].to_numpy(), part["value"].to_numpy(), strict=True):
        seg = next(
            (s for s in segments if s["start"] <= step < s["end"]),
            segments[-1] if segments else None,
        )
        task = (
            None if seg is None else match_task(seg.get("values"), refs["task_keys"], refs["tasks"])
        )
        value = (
            None if task is None else normalized_return(float(ret), task["floor"], task["ceiling"])
        )
        if value is not None:
            steps.append(step)
            values.append(value)
    return np.asarray(steps, dtype=float), np.asarray(values, dtype=float)


def _sensitivity(
    folder: Path,
    protocol: Mapping[str, Any],
    references: Mapping[str, Any],
    problems: Problems,
    out: Path,
    loaded: tuple[list[tuple[RunRecord, dict[str, Any]]], list[tuple[RunRecord, dict[str, Any]]]],
) -> tuple[list[str], list[str]]:
    runs, tuning = list(loaded[0]), loaded[1]
    if not runs:
        return [], []
    sens = protocol.get("sensitivity") or {}
    # The points the method's tuning grid shares with the sensitivity grid ran once, in tuning.
    runs += [(r, c) for r, c in tuning if r.method == sens.get("method")]
    axes = list((sens.get("axes") or {}).items())
    if len(axes) != 2:
        problems.add(
            f"{folder / SENSITIVITY}: protocol.json names no two sensitivity axes; not tabled"
        )
        return [], []
    (row_key, row_values), (col_key, col_values) = axes
    lines, files = ["## FADE's sensitivity", ""], []
    for setting in sorted({r.setting.split("__")[0] for r, _ in runs}):
        cells: dict[tuple[int, int], list[float]] = defaultdict(list)
        for record, config in runs:
            if record.setting.split("__")[0] != setting:
                continue
            a, b = lookup(config, row_key), lookup(config, col_key)
            i = next(
                (k for k, v in enumerate(row_values) if a is not None and float(v) == float(a)),
                None,
            )
            j = next(
                (k for k, v in enumerate(col_values) if b is not None and float(v) == float(b)),
                None,
            )
            score = score_run(record.summary, config, references.get(setting)).score
            if (
                i is not None
                and j is not None
                and record.status == "completed"
                and score is not None
            ):
                cells[(i, j)].append(score)
        table = np.full((len(row_values), len(col_values)), np.nan)
        for (i, j), scores in cells.items():
            table[i, j] = float(np.mean(scores))
        rows = (row_key.rsplit(".", 1)[-1], row_values)
        cols = (col_key.rsplit(".", 1)[-1], col_values)
        lines += sensitivity_table(setting, table, rows, cols)
        name = plot_sensitivity(setting, table, rows, cols, out)
        files.append(name)
        lines += [f"![{name}]({name})", ""]
    return lines, files


def make_suite_report(
    folder: str | Path, out: str | Path | None = None, reps: int = 2000
) -> dict[str, Any]:
    """Write the suite report of ``folder`` into ``out`` (default ``<folder>/report``).

    Returns:
        ``{"out": folder, "table": markdown of the score tables, "rows": report.csv's rows,
        "runs": held-out runs, "warnings": lines naming unreadable files,
        "unreferenced": settings without references}``.

    Raises:
        FileNotFoundError: ``folder`` is missing or holds no held-out runs.
        ReportInputError: references, ``protocol.json``, ``held_out.json`` or
            ``sensitivity.json`` damaged, stray or not matching their digests or runs,
            held-out runs that did not run the chosen value (or have none), runs of one
            setting and method with different configs (nothing is written).
        ValueError: ``reps < 1``.
    """
    folder = Path(folder)
    if reps < 1:
        raise ValueError(f"reps must be >= 1 bootstrap resample, got {reps}")
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder")
    problems = Problems()
    protocol = read_protocol(folder)
    references = load_references(folder)
    for phase in (HELD_OUT, SENSITIVITY):  # the runs only as their phase stamped them
        read_phase(folder, phase)
    held = _load(folder / HELD_OUT, problems)
    if not held:
        raise FileNotFoundError(
            f"{folder / HELD_OUT}: no held-out runs; run the held_out phase first"
        )
    check_held_out(protocol, [(r.path, r.setting, r.method, c) for r, c in held])
    sensitivity = _load(folder / SENSITIVITY, problems)
    tuning = _load(folder / TUNING, problems) if sensitivity else []
    out_dir = Path(out) if out is not None else folder / "report"
    out_dir.mkdir(parents=True, exist_ok=True)
    chosen = protocol.get("chosen", {})

    run_rows, segment_rows = [], []
    scored: dict[str, dict[str, dict[int, tuple[float, float | None]]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    for record, config in held:
        refs = references.get(record.setting)
        pick = chosen.get(record.setting, {}).get(record.method, {})
        if record.status == "completed":
            result = score_run(record.summary, config, refs)
        else:
            result = RunScore(
                None,
                None,
                [],
                f"the run is {record.status}" + (f": {record.error}" if record.error else ""),
            )
        run_rows.append(
            {
                "setting": record.setting,
                "method": record.method,
                "seed": record.seed,
                "status": record.status,
                "score": result.score,
                "final_score": result.final_score if result.score is not None else None,
                "knob": pick.get("key"),
                "knob_value": pick.get("value"),
                "wall_time_s": record.summary.get("wall_time_s"),
                "problem": result.problem,
                "path": str(record.path),
            }
        )
        if result.score is not None:
            scored[record.setting][record.method][record.seed] = (result.score, result.final_score)
        for k, seg in enumerate(record.summary.get("segments") or []):
            task = (
                None
                if refs is None
                else match_task(seg.get("values"), refs["task_keys"], refs["tasks"])
            )
            segment_rows.append(
                {
                    "setting": record.setting,
                    "method": record.method,
                    "seed": record.seed,
                    "segment": seg.get("segment", k),
                    "start": seg.get("start"),
                    "end": seg.get("end"),
                    "n_episodes": seg.get("n_episodes"),
                    "mean_return": seg.get("mean_return"),
                    "values": json.dumps(seg.get("values") or {}, sort_keys=True),
                    "floor": None if task is None else task["floor"],
                    "ceiling": None if task is None else task["ceiling"],
                    "normalized": result.segments[k] if k < len(result.segments) else None,
                }
            )

    settings = sorted({r.setting for r, _ in held})
    section, rows = score_section(
        scored, settings, references, run_rows, segment_rows, out_dir, reps
    )
    lines = ["# fade-rl suite report", "", f"Suite folder: `{folder}`.", ""]
    lines += section["lines"]

    completed = [(r, c) for r, c in held if r.status == "completed"]
    scalars = {r.path: read_scalars(r.path, problems) for r, _ in completed}
    spread: dict[str, dict[str, dict[str, float]]] = {}
    lines += ["## Curves per setting", ""]
    for setting in settings:
        runs = [(r, c) for r, c in completed if r.setting == setting]
        if not runs:
            continue
        lines += [f"### {setting}", ""]
        shifts = runs[0][0].summary.get("shifts", [])
        total = max(int(r.summary.get("n_timesteps", 0)) for r, _ in runs)
        files = []
        refs = references.get(setting)
        if refs is not None:
            curves: dict[str, list[tuple[np.ndarray, np.ndarray]]] = defaultdict(list)
            for r, _ in runs:
                curves[r.method].append(_normalized_episodes(scalars[r.path], r.summary, refs))
            if any(len(s) for pairs in curves.values() for s, _ in pairs):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    files.append(plot_normalized(setting, curves, shifts, total, out_dir))
        with warnings.catch_warnings():  # nan-means over bins no seed reached yet
            warnings.simplefilter("ignore", RuntimeWarning)
            files += plot_setting(setting, [r for r, _ in runs], scalars, out_dir)
        frames = [scalars[r.path] for r, _ in runs]  # only models with decay rates log them
        finals = [f for f in (_lambda_finals(x) for x in frames) if f]
        if finals:
            spread[setting] = lambda_spread(finals)
            series = _lambda_series(frames)
            if series:
                files.append(plot_lambda_time(setting, series, shifts, out_dir))
        lines += [f"![{name}]({name})" for name in files] + [""]

    lines += lambda_table(spread)
    sens_lines, _ = _sensitivity(
        folder, protocol, references, problems, out_dir, (sensitivity, tuning)
    )
    lines += sens_lines
    lines += protocol_tables(protocol)
    timing, damaged = read_timing(folder / TIMING)
    for line in damaged:
        problems.add(line)
    lines += timing_table(phase_times(timing), _run_seconds(folder))
    lines += references_table(references, settings)
    failed = [r for r in run_rows if r["status"] != "completed"]
    if failed:
        lines += ["## Runs not completed", ""]
        lines += [f"- `{r['path']}`: {r['problem']}" for r in failed] + [""]
    if problems.lines:
        lines += ["## Warnings", ""] + [f"- {line}" for line in problems.lines] + [""]

    write_report_files(out_dir, lines, rows, run_rows, segment_rows)
    return {
        "out": out_dir,
        "table": section["table"]
        or "No held-out run has a score; see the problem column of runs.csv.",
        "rows": rows,
        "runs": len(held),
        "warnings": problems.lines,
        "unreferenced": [s for s in settings if s not in references],
    }
