"""The suite report's protocol tables (markdown): seeds, grids and tuning, FADE's
sensitivity, the spread of lambda, wall-clock time per phase, and the references.

Each function returns markdown lines (a heading, a sentence, a table) from plain data, so
the report module only gathers the data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from fade_rl.experiments.reports.load import method_order
from fade_rl.experiments.reports.stats import format_number
from fade_rl.experiments.suite.score import normalized_return

__all__ = [
    "lambda_table",
    "protocol_tables",
    "references_table",
    "sensitivity_table",
    "timing_table",
]


def _num(value: Any, digits: int = 3) -> str:
    return format_number(None if value is None else float(value), digits)


def _row(cells: Sequence[Any]) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _paragraph(text: str) -> list[str]:
    """A paragraph of text and the blank line that ends it."""
    return [text, ""]


def _header(cells: Sequence[str]) -> list[str]:
    return [_row(cells), "|" + "---|" * len(cells)]


def protocol_tables(protocol: Mapping[str, Any]) -> list[str]:
    """The seeds, the selection rule and per setting and method the tuning table."""
    if not protocol:
        return [
            "## Protocol",
            "",
            "No `protocol.json`: this tier does not tune; every method ran with its config's "
            "values.",
            "",
        ]
    lines = ["## Protocol", ""]
    lines.append(f"Tier: {protocol.get('tier')}. Selection: {protocol.get('selection')}.")
    lines += ["", f"- tuning seeds: {protocol.get('tuning_seeds')}"]
    lines.append(f"- reference seeds: {protocol.get('reference_seeds')}")
    for setting, seeds in sorted(protocol.get("held_out_seeds", {}).items()):
        lines.append(f"- held-out seeds of {setting}: {seeds}")
    lines += ["", "### Tuning (mean score over the tuning seeds per value)", ""]
    lines += _header(["setting", "method", "knob", "grid: value = mean tuning score", "chosen"])
    grids = protocol.get("grids", {})
    for setting, by_method in sorted(protocol.get("chosen", {}).items()):
        for method in sorted(by_method, key=method_order):
            pick = by_method[method]
            means = {str(t["value"]): t["mean_score"] for t in pick.get("tuning_scores", [])}
            values = grids.get(setting, {}).get(method, {}).get("values", list(means))
            cells = ", ".join(f"{v} = {_num(means.get(str(v)))}" for v in values)
            lines.append(_row([setting, method, f"`{pick['key']}`", cells, pick["value"]]))
    sens = protocol.get("sensitivity")
    if sens:
        axes = ", ".join(f"`{k}` in {v}" for k, v in sens.get("axes", {}).items())
        lines += ["", f"Sensitivity (reported, not used for selection): {sens['method']}, {axes}."]
    return [*lines, ""]


def sensitivity_table(
    setting: str,
    table: np.ndarray,
    rows: tuple[str, Sequence[Any]],
    cols: tuple[str, Sequence[Any]],
) -> list[str]:
    """``rows x cols`` mean tuning scores as a markdown table (``-``: no scored run)."""
    lines = [f"{setting}: mean score over the tuning seeds ({rows[0]} down, {cols[0]} across)", ""]
    lines += _header([f"{rows[0]} \\ {cols[0]}"] + [str(v) for v in cols[1]])
    for i, value in enumerate(rows[1]):
        lines.append(_row([value] + [_num(x if np.isfinite(x) else None) for x in table[i]]))
    return [*lines, ""]


def lambda_table(spread: Mapping[str, Mapping[str, Mapping[str, float]]]) -> list[str]:
    """``setting -> net -> stat -> median final log10 lambda`` (and ``n`` runs)."""
    lines = ["## FADE's decay rates", ""]
    if not spread:
        return [*lines, "No FADE held-out run logged `fade/*/lambda_*` scalars.", ""]
    lines += _paragraph(
        "Final log10 lambda of each held-out FADE run (the `fade/<net>/lambda_*` scalars at "
        "their last step: min, quantiles over the net's elements, max), median over seeds."
    )
    stats = ["min", "q10", "q50", "q90", "max"]
    lines += _header(["setting", "net", "seeds", *stats])
    for setting, nets in sorted(spread.items()):
        for net, values in sorted(nets.items()):
            cells = [_num(values.get(s), 2) for s in stats]
            lines.append(_row([setting, net, int(values.get("n", 0)), *cells]))
    return [*lines, ""]


def timing_table(
    rows: Sequence[Mapping[str, Any]], run_seconds: Mapping[str, tuple[int, float]] | None = None
) -> list[str]:
    """Wall-clock time per tier and phase and in all, from :func:`phase_times` rows, and
    the runs' own time per phase (``run_seconds``: phase -> (runs, summed seconds)).

    Example:
        >>> print("\\n".join(timing_table([], {"tuning": (2, 300.0)})[-6:-3]))
        | phase | runs | summed run time | summed / 2 |
        |---|---|---|---|
        | tuning | 2 | 5.0 min | 2.5 min |
    """
    lines = ["## Wall-clock time", ""]
    if run_seconds:
        lines.append(
            "Each run's own wall-clock time (`wall_time_s` of its summary), summed per phase "
            "over the runs in the folder, whichever invocation made them; halved, it is what "
            "two parallel workers would take without process starts or idle tails."
        )
        lines += ["", *_header(["phase", "runs", "summed run time", "summed / 2"])]
        for phase, (n, seconds) in run_seconds.items():
            lines.append(_row([phase, n, _duration(seconds), _duration(seconds / 2)]))
        lines.append("")
    if not rows:
        return [*lines, "No `timing.jsonl`.", ""]
    lines += _paragraph(
        "From `timing.jsonl`: shard records of one phase that started within a minute of each "
        "other ran in parallel and count as their longest; reruns (resumes) add up."
    )
    lines += _header(
        ["tier", "phase", "invocations", "shards", "wall-clock", "runs done", "skipped", "failed"]
    )
    totals: dict[str, float] = {}
    for r in rows:
        totals[r["tier"]] = totals.get(r["tier"], 0.0) + r["seconds"]
        lines.append(
            _row(
                [
                    r["tier"],
                    r["phase"],
                    r["invocations"],
                    r["shards"],
                    _duration(r["seconds"]),
                    r["completed"],
                    r["skipped"],
                    r["failed"],
                ]
            )
        )
    for tier, seconds in totals.items():
        lines.append(_row([tier, "**all**", "", "", f"**{_duration(seconds)}**", "", "", ""]))
    return [*lines, ""]


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.2f} h"


def references_table(
    references: Mapping[str, Mapping[str, Any]], settings: Sequence[str]
) -> list[str]:
    """Floor and ceiling per task, and a line naming every setting without references."""
    lines = ["## References", ""]
    lines += _paragraph(
        "Floor: a uniformly random policy's time-averaged return; ceiling: a fresh agent "
        "(method none) trained on the task alone for one segment's budget; means over the "
        "reference seeds. A segment's normalized return is (return - floor) / (ceiling - floor)."
    )
    lines += _header(["setting", "task", "steps", "floor", "ceiling", "usable", "reference seeds"])
    for setting in sorted(references):
        for task in references[setting]["tasks"]:
            values = ", ".join(f"{k}={v}" for k, v in task["values"].items()) or "(one task)"
            usable = normalized_return(0.0, task["floor"], task["ceiling"]) is not None
            lines.append(
                _row(
                    [
                        setting,
                        values,
                        task.get("steps"),
                        _num(task["floor"]),
                        _num(task["ceiling"]),
                        "yes" if usable else "no: ceiling <= floor",
                        task.get("seeds"),
                    ]
                )
            )
    missing = [s for s in settings if s not in references]
    lines.append("")
    lines.append(
        "A task whose ceiling does not beat its floor gives no scale: runs with a segment of "
        "it have no score (their problem in `runs.csv` says so)."
    )
    if missing:
        lines.append(
            f"Settings with NO references (so no score): {', '.join(missing)}. "
            "Run `fade-rl suite ... --phase references` for them."
        )
    else:
        lines.append("Every setting has references.")
    return [*lines, ""]
