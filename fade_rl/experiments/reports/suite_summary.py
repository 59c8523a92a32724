"""The suite report's score section: per setting and over all settings, the IQM of the score
and of the final score (95% stratified bootstrap CIs), FADE's probability of improvement over
each method, performance profiles, and the raw and normalized return per segment.

:func:`score_section` turns the held-out scores into markdown, ``report.csv`` rows and the
``iqm.png``, ``poi.png`` and ``profiles.png`` plots.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fade_rl.experiments.reports.load import method_order
from fade_rl.experiments.reports.stats import ci_columns, format_ci, format_number, iqm_with_ci
from fade_rl.experiments.reports.suite_plots import plot_intervals, plot_profiles
from fade_rl.experiments.reports.suite_stats import (
    aggregate_matrices,
    performance_profile,
    probability_of_improvement,
)
from fade_rl.methods import PROPOSED

__all__ = ["ALL", "FINAL", "SecondScore", "score_section"]

#: The pseudo-setting of the aggregate over settings in ``report.csv``.
ALL = "all"

#: ``setting -> method -> seed -> (score, second score)``.
Scored = Mapping[str, Mapping[str, Mapping[int, tuple[float, float | None]]]]


@dataclass(frozen=True)
class SecondScore:
    """The score reported beside the main one: its name in tables and its CSV column prefix.

    Example:
        >>> FINAL.label, FINAL.column  # report.csv gets final_iqm, final_ci_low, ...
        ('final score', 'final')
    """

    label: str
    column: str


#: The single-change suite's second score: the last segment's.
FINAL = SecondScore("final score", "final")


def _finite(value: float | None) -> float:
    return float("nan") if value is None else value


def _matrices(scored: Scored, setting: str, which: int) -> dict[str, np.ndarray]:
    return {
        m: np.array([v[which] for _, v in sorted(by_seed.items())], dtype=float).reshape(-1, 1)
        for m, by_seed in scored[setting].items()
    }


def _table(
    title: str,
    score: Mapping[str, np.ndarray],
    final: Mapping[str, np.ndarray],
    counts: Mapping[str, str],
    reps: int,
    second: SecondScore = FINAL,
) -> tuple[list[str], list[dict[str, Any]], dict[str, tuple], dict[str, tuple]]:
    methods = sorted(score, key=method_order)
    iqm = iqm_with_ci(dict(score), reps)
    final_iqm = iqm_with_ci({m: x for m, x in final.items() if np.isfinite(x).all()}, reps)
    poi: dict[str, tuple] = {}
    if PROPOSED in score:
        for m in methods:
            if m != PROPOSED:
                poi[m] = probability_of_improvement(score[PROPOSED], score[m], reps)
    lines = [
        f"| method | scored runs | score IQM [95% CI] | {second.label} IQM [95% CI] "
        f"| P({PROPOSED} > method) [95% CI] |",
        "|---|---|---|---|---|",
    ]
    rows = []
    for m in methods:
        s, f, p = iqm.get(m), final_iqm.get(m), poi.get(m)
        lines.append(
            f"| {m} | {counts[m]} | {format_ci(s, 3)} | {format_ci(f, 3)} "
            f"| {format_ci(p, 2) if p else '-'} |"
        )
        rows.append(
            {
                "setting": title,
                "method": m,
                "scored_runs": counts[m],
                **ci_columns(s, "score_iqm", "score_ci_low", "score_ci_high"),
                **ci_columns(
                    f, f"{second.column}_iqm", f"{second.column}_ci_low", f"{second.column}_ci_high"
                ),
                **ci_columns(p, f"p_{PROPOSED}_better", "p_ci_low", "p_ci_high"),
            }
        )
    return [*lines, ""], rows, iqm, {f"{PROPOSED},{m}": v for m, v in poi.items()}


def _segments(setting: str, segment_rows: Sequence[Mapping[str, Any]]) -> list[str]:
    here = [s for s in segment_rows if s["setting"] == setting]
    if not here:
        return []
    n_seg = max(int(s["segment"]) for s in here) + 1
    methods = sorted({s["method"] for s in here}, key=method_order)
    lines = [
        "Per segment, mean over seeds: raw return (time-averaged) / normalized return. Raw "
        "returns of different tasks are not comparable; only normalized ones are.",
        "",
        "| method | " + " | ".join(f"seg {k}" for k in range(n_seg)) + " |",
        "|" + "---|" * (n_seg + 1),
    ]
    for m in methods:
        cells = []
        for k in range(n_seg):
            mine = [s for s in here if s["method"] == m and int(s["segment"]) == k]
            raw = [s["mean_return"] for s in mine if s["mean_return"] is not None]
            norm = [s["normalized"] for s in mine if s["normalized"] is not None]
            raw_txt = format_number(float(np.mean(raw))) if raw else "-"
            norm_txt = format_number(float(np.mean(norm)), 3) if norm else "-"
            cells.append(f"{raw_txt} / {norm_txt}")
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def _profile_panel(matrices: Mapping[str, np.ndarray], reps: int) -> tuple:
    values = np.concatenate([x.ravel() for x in matrices.values()])
    taus = np.linspace(min(0.0, float(values.min())), max(1.0, float(values.max())), 51)
    profiles, cis = performance_profile(matrices, taus, reps)
    return taus, profiles, cis


def score_section(
    scored: Scored,
    settings: Sequence[str],
    references: Mapping[str, Any],
    run_rows: Sequence[Mapping[str, Any]],
    segment_rows: Sequence[Mapping[str, Any]],
    out: Path,
    reps: int,
    explanation: str | None = None,
    second: SecondScore = FINAL,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The markdown, ``report.csv`` rows and plots of the held-out scores.

    ``explanation`` (what the scores are) defaults to the single-change suite's; ``second``
    names the score reported beside the main one.

    Returns:
        ``({"lines": report.md lines, "table": the score tables}, report.csv rows)``.
    """
    explanation = explanation or (
        "Score: each segment's time-averaged return normalized between its task's floor "
        "(random policy, 0) and ceiling (a fresh agent trained on that task alone, 1), "
        "step-weighted over the run (the area under the normalized curve). Final score: "
        "the last segment's. A run without a score (failed, no references, a segment "
        "without an episode) is counted in `runs.csv` with its problem, not here."
    )
    statistics = (
        f" IQM with 95% stratified bootstrap CIs (rliable, {reps} resamples); P({PROPOSED} > "
        "method): rliable's probability of improvement (Mann-Whitney, ties count one half), "
        "CI from its stratified independent bootstrap."
    )
    lines = ["## Scores", "", explanation + statistics, ""]
    rows: list[dict[str, Any]] = []
    table: list[str] = []
    iqm_panels: dict[str, dict[str, tuple]] = {}
    poi_panels: dict[str, dict[str, tuple]] = {}
    profile_panels: dict[str, tuple] = {}

    scores_only = {
        s: {m: {k: v[0] for k, v in d.items()} for m, d in scored[s].items()} for s in scored
    }
    matrices, n, kept, dropped = aggregate_matrices(scores_only)
    if matrices:
        finals = {
            s: {m: {k: _finite(v[1]) for k, v in d.items()} for m, d in scored[s].items()}
            for s in kept
        }
        final_m = aggregate_matrices(finals)[0]  # a scored run always has a final score
        counts = {m: f"{n} x {len(kept)} settings" for m in matrices}
        part, agg_rows, iqm, poi = _table(ALL, matrices, final_m, counts, reps, second)
        head = [
            "### All settings",
            "",
            f"Aggregated over {', '.join(kept)}: rliable needs the same number of runs per "
            f"setting, so each method's first {n} scored held-out seeds (by seed) of each "
            "setting form a runs x settings matrix; every setting weighs the same. The IQM "
            "pools the matrix; the bootstrap resamples runs within each setting.",
        ]
        if dropped:
            head.append(f"Left out (a method has no scored run there): {', '.join(dropped)}.")
        lines += [*head, "", *part]
        table += ["### All settings", "", *part]
        rows += agg_rows
        iqm_panels[ALL], poi_panels[ALL] = iqm, poi
        profile_panels[f"{ALL} ({n} x {len(kept)})"] = _profile_panel(matrices, reps)

    for setting in settings:
        lines += [f"### {setting}", ""]
        if setting not in references:
            lines += [f"{setting} has no references: its runs have no score.", ""]
        if scored.get(setting):
            score, final = _matrices(scored, setting, 0), _matrices(scored, setting, 1)
            counts = {}
            for m in score:
                total = sum(1 for r in run_rows if r["setting"] == setting and r["method"] == m)
                counts[m] = f"{len(score[m])} of {total}"
            part, set_rows, iqm, poi = _table(setting, score, final, counts, reps, second)
            lines += part
            table += [f"### {setting}", "", *part]
            rows += set_rows
            iqm_panels[setting], poi_panels[setting] = iqm, poi
            profile_panels[setting] = _profile_panel(score, reps)
        elif setting in references:
            lines += ["No held-out run of this setting has a score (see `runs.csv`).", ""]
        lines += _segments(setting, segment_rows)

    files = []
    if iqm_panels:
        files.append(plot_intervals(iqm_panels, "IQM of the score (95% CI)", out, "iqm.png"))
        files.append(plot_profiles(profile_panels, out))
    if any(poi_panels.values()):
        shown = {k: v for k, v in poi_panels.items() if v}
        files.append(plot_intervals(shown, "P(X > Y) (95% CI)", out, "poi.png", 0.5))
    lines += [f"![{name}]({name})" for name in files] + [""]
    return {"lines": lines, "table": "\n".join(table)}, rows
