"""The many-level suite's report: plasticity loss shown per level, then every method's place.

:func:`make_levels_report` reads a many-level suite folder
(:mod:`~fade_rl.experiments.suite.levels_phases`) and writes ``<folder>/report/``:

* ``runs.csv``: one row per held-out run: setting, method (the oracle as ``oracle``), seed,
  status, ``score``, ``last_half``, ``slope`` (:mod:`~fade_rl.experiments.suite.levels`),
  ``level0`` (its normalized return on level 0) and ``problem``;
* ``segments.csv``: per setting, method and level: the mean over seeds of the raw and of the
  normalized return (95% t-interval), the floor and the ceiling, and the mechanism: the
  dormant share (ReLU units with a normalized activation below 0.025, mean over hidden
  layers), the feature rank (srank of each network's last hidden layer), the weight norm
  of the whole network and, for FADE, the 10%, 50% and 90% quantiles of log10 lambda over
  its heads' elements, each averaged over the measurements inside the level;
* ``report.csv`` and ``report.md``: the plain agent against the oracle per level, the
  level-0 anchor and the conditioning checks, then per setting and over all settings the
  IQM of the score and of the last-half score with rliable's CIs, FADE's probability of
  improvement, performance profiles (:func:`~fade_rl.experiments.reports.suite_summary.
  score_section`), the mean slope per level with t-intervals, FADE's lambda per level
  beside its normalized return, FADE's sensitivity (its runs on the first levels), and
  per-level plots.

Example (a suite folder made by ``fade-rl suite --manifest configs/suite_v2/suite.yaml``)::

    report = make_levels_report("runs/suite_v2_smoke")
    print(report["table"])
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fade_rl.experiments.reports.levels_plots import plot_levels
from fade_rl.experiments.reports.levels_tables import (
    checks_section,
    lambda_section,
    loss_section,
    sensitivity_section,
    slopes_section,
)
from fade_rl.experiments.reports.load import (
    Problems,
    RunRecord,
    find_runs,
    method_order,
    read_scalars,
    write_report_files,
)
from fade_rl.experiments.reports.stats import t_interval
from fade_rl.experiments.reports.suite_summary import SecondScore, score_section
from fade_rl.experiments.suite.execution import SENSITIVITY
from fade_rl.experiments.suite.levels import (
    level_means,
    level_score,
    normalize_levels,
)
from fade_rl.experiments.suite.levels_phases import FLOORS, HELD_OUT, ORACLE, split_oracle
from fade_rl.experiments.suite.provenance import (
    check_held_out,
    read_floors,
    read_phase,
    read_protocol,
)
from fade_rl.methods import PLAIN

__all__ = ["LAST_HALF", "MECHANISM", "is_levels_folder", "make_levels_report"]

#: The second score of this report.
LAST_HALF = SecondScore("last-half score", "last_half")
#: The mechanism columns of ``segments.csv``: name -> the scalar tags averaged into it.
MECHANISM = {
    "dormant_share": re.compile(r"^plasticity/.+/hidden\d+/dormant_ratio_tau0\.025$"),
    "feature_rank": re.compile(r"^plasticity/.+/hidden\d+/srank$"),
    "weight_norm": re.compile(r"^plasticity/[^/]+/net/weight_norm$"),
    # FADE's decay rates: quantiles over each head's elements, averaged in log10
    "log10_lambda_q10": re.compile(r"^fade/[^/]+/lambda_q10$"),
    "log10_lambda_q50": re.compile(r"^fade/[^/]+/lambda_q50$"),
    "log10_lambda_q90": re.compile(r"^fade/[^/]+/lambda_q90$"),
}
_HIDDEN = re.compile(r"^(plasticity/.+)/hidden(\d+)/srank$")


def _returns(record: RunRecord) -> list[float | None]:
    return [s["mean_return"] for s in record.summary.get("segments") or []]


def _floors(folder: Path, setting: str) -> tuple[list[float] | None, str | None]:
    """The floor of each scored level (mean over seeds), or why there is none."""
    path = folder / FLOORS / f"{setting}.json"
    if not path.is_file():
        return None, "its random floors are missing (run the floors phase)"
    data = read_floors(path, folder)  # refuses an edited file, naming the fix
    try:
        floors = level_means(list(data["seeds"].values()))
    except ValueError as exc:  # a level where no random episode ended
        return None, f"its random floors: {exc}"
    if len(floors) < data["levels"]:
        return None, (
            f"the random policy reached {len(floors)} of its {data['levels']} levels; give "
            "the setting more steps"
        )
    return floors[: data["levels"]], None


def _ceilings(oracle: Sequence[RunRecord], levels: int) -> tuple[list[float], str | None]:
    """The ceiling of each scored level (the oracle's mean over seeds), or why there is none."""
    done = [r for r in oracle if r.status == "completed"]
    if not done:
        return [], "no oracle run has finished"
    short = [r.seed for r in done if len(_returns(r)) < levels]
    if short:
        return [], f"oracle seed {short[0]} did not reach the {levels} scored levels"
    try:
        return level_means([_returns(r)[:levels] for r in done]), None
    except ValueError as exc:  # a level where no oracle episode ended
        return [], f"the oracle's runs: {exc}"


def _mechanism(record: RunRecord, problems: Problems) -> dict[str, list[float]]:
    """Per level, the mean of each :data:`MECHANISM` column over the level's measurements."""
    frame = read_scalars(record.path, problems)
    segments = record.summary.get("segments") or []
    if len(frame) == 0 or not segments:
        return {}
    last: dict[str, tuple[int, str]] = {}  # each network's last hidden layer (its head's input)
    for tag in frame["tag"].unique():
        match = _HIDDEN.match(tag)
        if match and int(match.group(2)) >= last.get(match.group(1), (-1, ""))[0]:
            last[match.group(1)] = (int(match.group(2)), tag)
    out: dict[str, list[float]] = {}
    for name, pattern in MECHANISM.items():
        tags = [t for t in frame["tag"].unique() if pattern.match(t)]
        if name == "feature_rank":
            tags = [tag for _, tag in last.values()]
        rows = frame[frame["tag"].isin(tags)]
        if name.startswith("log10_"):
            rows = rows.assign(value=np.log10(rows["value"].clip(lower=1e-30)))
        out[name] = []
        for seg in segments:
            inside = rows[(rows["step"] > seg["start"]) & (rows["step"] <= seg["end"])]
            out[name].append(float(inside["value"].mean()) if len(inside) else math.nan)
    return out


def _level_rows(
    setting: str,
    method: str,
    runs: Sequence[tuple[list[float | None], list[float | None], dict[str, list[float]]]],
    floors: Sequence[float],
    ceilings: Sequence[float],
) -> list[dict[str, Any]]:
    """``segments.csv`` rows of one setting and method: per level, means over seeds."""
    rows = []
    for k in range(len(floors)):
        raw = [v for r, _, _ in runs if k < len(r) and (v := r[k]) is not None]
        norm = [v for _, n, _ in runs if k < len(n) and (v := n[k]) is not None]
        low, high = t_interval(norm)
        row: dict[str, Any] = {
            "setting": setting,
            "method": method,
            "segment": k,
            "n_runs": len(norm),
            "mean_return": float(np.mean(raw)) if raw else None,
            "floor": floors[k],
            "ceiling": ceilings[k],
            "normalized": float(np.mean(norm)) if norm else None,
            "normalized_ci_low": None if math.isnan(low) else low,
            "normalized_ci_high": None if math.isnan(high) else high,
        }
        for name in MECHANISM:
            values = [m[name][k] for _, _, m in runs if name in m and k < len(m[name])]
            values = [v for v in values if not math.isnan(v)]
            row[name] = float(np.mean(values)) if values else None
        rows.append(row)
    return rows


def is_levels_folder(path: str | Path) -> bool:
    """Whether ``path`` is a many-level suite folder: it holds ``floors/``."""
    return (Path(path) / FLOORS).is_dir()


def make_levels_report(
    folder: str | Path, out: str | Path | None = None, reps: int = 2000
) -> dict[str, Any]:
    """Write the report of ``folder`` into ``out`` (default ``<folder>/report``; see the
    module); return ``{"table", "loss", "problems", "out", "runs"}`` (``loss``: the plain
    agent against the oracle per level, markdown)."""
    folder = Path(folder)
    out = Path(out) if out is not None else folder / "report"
    out.mkdir(parents=True, exist_ok=True)
    problems = Problems()
    protocol = read_protocol(folder)  # each of these refuses edited or stray data, in one line
    for phase in (HELD_OUT, SENSITIVITY):
        read_phase(folder, phase)
    by_setting: dict[str, dict[str, list[RunRecord]]] = defaultdict(lambda: defaultdict(list))
    held: list[tuple[Path, str, str, Any]] = []
    for record in find_runs([folder / HELD_OUT], problems):
        setting, oracle = split_oracle(record.setting)
        by_setting[setting][ORACLE if oracle else record.method].append(record)
        # the oracle runs at the plain agent's chosen point
        held.append((record.path, setting, PLAIN if oracle else record.method, record.config))
    check_held_out(protocol, held)
    run_rows: list[dict[str, Any]] = []
    level_rows: list[dict[str, Any]] = []
    scored: dict[str, dict[str, dict[int, tuple[float, float | None]]]] = {}
    normalized: dict[str, list] = {}
    lines = ["# The plasticity suite (many levels)", ""]
    for setting in sorted(by_setting):
        rows_of = by_setting[setting]
        floors, why = _floors(folder, setting)
        ceilings: list[float] = []
        if floors is not None:
            ceilings, why = _ceilings(rows_of.get(ORACLE, []), len(floors))
        scored[setting], normalized[setting] = {}, []
        for method, records in sorted(rows_of.items(), key=lambda kv: method_order(kv[0])):
            per_run = []
            for record in records:
                row, entry = _run_row(setting, method, record, floors, ceilings, why)
                run_rows.append(row)
                if entry is not None:
                    norm, score = entry
                    scored[setting].setdefault(method, {})[record.seed] = score
                    normalized[setting].append(norm)
                    per_run.append((_returns(record), norm, _mechanism(record, problems)))
            if per_run:
                level_rows += _level_rows(setting, method, per_run, floors or [], ceilings)
        if why is not None:
            lines += [f"{setting}: not scored, {why}.", ""]
    settings = sorted(scored)
    loss = []
    for setting in settings:
        loss += [f"### {setting}", "", *loss_section(setting, level_rows)]
    lines += ["## Plasticity loss", "", *loss]
    lines += checks_section(level_rows, normalized)
    plain_scores = {s: {m: v for m, v in d.items() if m != ORACLE} for s, d in scored.items()}
    explanation = (
        "Score: each level's time-averaged return normalized between a random policy's (0) "
        "and the oracle's (1: fresh networks, optimizer and replay buffer at every level "
        "change, at the plain agent's chosen hyperparameters, mean over the held-out seeds), "
        "averaged over the levels (the area under the normalized curve). Last-half score: "
        "that average over the last half of the levels. A run without a score is counted in "
        "`runs.csv` with its problem, not here."
    )
    section, rows = score_section(
        plain_scores, settings, scored, run_rows, [], out, reps, explanation, LAST_HALF
    )
    lines += section["lines"]
    lines += slopes_section(run_rows, settings)
    lines += lambda_section(level_rows)
    lines += sensitivity_section(folder, problems)
    plotted = sorted({r["setting"] for r in level_rows})  # the settings with a scored run
    plots = [plot_levels(setting, level_rows, out) for setting in plotted]
    lines += ["## Per level", "", *[f"![{p}]({p})" for p in plots], ""]
    if problems.lines:
        lines += ["## Problems", "", *[f"- {p}" for p in problems.lines], ""]
    write_report_files(out, lines, rows, run_rows, level_rows)
    return {
        "table": section["table"],
        "loss": "\n".join(loss),
        "problems": problems.lines,
        "out": out,
        "runs": len(run_rows),
    }


def _run_row(
    setting: str,
    method: str,
    record: RunRecord,
    floors: Sequence[float] | None,
    ceilings: Sequence[float],
    why: str | None,
) -> tuple[dict[str, Any], tuple[list, tuple[float, float | None]] | None]:
    """A run's ``runs.csv`` row and, if it is scored, its normalized levels and scores."""
    row: dict[str, Any] = {
        "setting": setting,
        "method": method,
        "seed": record.seed,
        "status": record.status,
        "score": None,
        "last_half": None,
        "slope": None,
        "level0": None,
        "problem": why or record.error,
    }
    if why is not None or record.status != "completed" or floors is None:
        row["problem"] = row["problem"] or f"the run is {record.status}"
        return row, None
    returns = _returns(record)
    if len(returns) < len(floors):
        row["problem"] = f"{len(returns)} levels, the setting has {len(floors)}"
        return row, None
    try:
        norm = normalize_levels(returns[: len(floors)], floors, ceilings)
    except ValueError as exc:
        row["problem"] = str(exc)
        return row, None
    score = level_score(norm)
    row.update(score=score.score, last_half=score.last_half, slope=score.slope, level0=norm[0])
    return row, (norm, (score.score, score.last_half))
