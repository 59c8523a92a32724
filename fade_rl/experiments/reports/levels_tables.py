"""The many-level report's markdown sections: the plain agent against the oracle per level,
the level-0 and conditioning checks, the slopes, FADE's lambda per level and its sensitivity.
(:mod:`~fade_rl.experiments.reports.levels` assembles them.)"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fade_rl.experiments.reports.load import Problems, find_runs, method_order
from fade_rl.experiments.reports.stats import format_ci, format_number, t_interval
from fade_rl.experiments.suite.execution import SENSITIVITY, TUNING
from fade_rl.experiments.suite.levels import WELL_CONDITIONED, prefix_return, well_conditioned_share
from fade_rl.experiments.suite.levels_phases import ORACLE
from fade_rl.methods import PLAIN, PROPOSED

__all__ = [
    "ANCHOR",
    "CONDITIONED",
    "checks_section",
    "lambda_section",
    "loss_section",
    "sensitivity_section",
    "slopes_section",
]

#: The level-0 check: the median over methods of the mean level-0 score lies in this range.
ANCHOR = (0.85, 1.15)
#: The share of normalized level returns a well-conditioned setting keeps in [-3, 3].
CONDITIONED = 0.98


def _methods(run_rows: Sequence[Mapping[str, Any]]) -> list[str]:
    return sorted({r["method"] for r in run_rows}, key=lambda m: (m == ORACLE, method_order(m)))


def loss_section(setting: str, level_rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """The plain agent against the oracle per level: raw returns and the mechanism."""
    rows = {(r["method"], r["segment"]): r for r in level_rows if r["setting"] == setting}
    levels = sorted({k for _, k in rows})
    if not all((m, k) in rows for m in (PLAIN, ORACLE) for k in levels):
        return []
    lines = [
        f"Plain agent (`{PLAIN}`) against the oracle per level: mean return over seeds "
        "(random policy in brackets), the plain agent's normalized return [95% t-interval], "
        "and its dormant share / feature rank / weight norm (oracle's in brackets).",
        "",
        "| level | oracle (random) | none | none normalized | dormant | feature rank | "
        "weight norm |",
        "|---|---|---|---|---|---|---|",
    ]
    for k in levels:
        p, o = rows[PLAIN, k], rows[ORACLE, k]
        ci = (p["normalized"], p["normalized_ci_low"], p["normalized_ci_high"], p["n_runs"])
        mech = [
            f"{format_number(p[n], 3)} ({format_number(o[n], 3)})"
            for n in ("dormant_share", "feature_rank", "weight_norm")
        ]
        lines.append(
            f"| {k} | {format_number(o['mean_return'])} ({format_number(p['floor'])}) "
            f"| {format_number(p['mean_return'])} | {format_ci(ci, 2)} | " + " | ".join(mech) + " |"
        )
    return [*lines, ""]


def checks_section(
    level_rows: Sequence[Mapping[str, Any]], normalized: Mapping[str, list]
) -> list[str]:
    """The level-0 anchor and the conditioning of each setting."""
    lines = [
        "## Checks",
        "",
        f"Level 0: every agent is still fresh there, so the median over methods of the mean "
        f"level-0 score should lie in [{ANCHOR[0]}, {ANCHOR[1]}]. Conditioning: at least "
        f"{CONDITIONED:.0%} of all normalized level returns lie in {list(WELL_CONDITIONED)}.",
        "",
        "| setting | level-0 median | anchored | share in [-3, 3] | conditioned |",
        "|---|---|---|---|---|",
    ]
    for setting in sorted(normalized):
        level0 = [
            r["normalized"]
            for r in level_rows
            if r["setting"] == setting and r["segment"] == 0 and r["normalized"] is not None
        ]
        median = float(np.median(level0)) if level0 else math.nan
        share = well_conditioned_share(normalized[setting])
        lines.append(
            f"| {setting} | {format_number(median, 3)} | "
            f"{'yes' if ANCHOR[0] <= median <= ANCHOR[1] else 'NO'} | {share:.3f} | "
            f"{'yes' if share >= CONDITIONED else 'NO'} |"
        )
    return [*lines, ""]


def slopes_section(run_rows: Sequence[Mapping[str, Any]], settings: Sequence[str]) -> list[str]:
    lines = [
        "## Plasticity lost per level",
        "",
        "The least-squares slope of each run's normalized return against the level index "
        "(negative: falling behind a fresh agent as levels accumulate), mean over seeds "
        "[95% t-interval].",
        "",
        "| setting | " + " | ".join(f"`{m}`" for m in _methods(run_rows)) + " |",
        "|---|" + "---|" * len(_methods(run_rows)),
    ]
    for setting in settings:
        cells = []
        for m in _methods(run_rows):
            values = [
                r["slope"]
                for r in run_rows
                if r["setting"] == setting and r["method"] == m and r["slope"] is not None
            ]
            low, high = t_interval(values)
            mean = float(np.mean(values)) if values else None
            cells.append(format_ci((mean, low, high, len(values)), 3) if values else "-")
        lines.append(f"| {setting} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def lambda_section(level_rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """FADE's log10 lambda per level, beside its normalized return and dormant share."""
    rows = [r for r in level_rows if r["method"] == PROPOSED and r["log10_lambda_q50"] is not None]
    if not rows:
        return []
    lines = [
        "## FADE's decay rates per level",
        "",
        "log10 lambda of FADE's head elements (10%, 50%, 90% quantiles, averaged over the "
        "level's measurements, mean over seeds), beside FADE's normalized return and dormant "
        "share on the level: does lambda move where the loss is?",
        "",
        "| setting | level | normalized | dormant | log10 lambda q10 | q50 | q90 |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in sorted(rows, key=lambda r: (r["setting"], r["segment"])):
        cells = [format_number(r[k], 3) for k in ("normalized", "dormant_share")]
        cells += [format_number(r[f"log10_lambda_q{q}"], 2) for q in (10, 50, 90)]
        lines.append(f"| {r['setting']} | {r['segment']} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def sensitivity_section(folder: Path, problems: Problems) -> list[str]:
    """FADE's runs on the first levels (its tuning grid and its sensitivity grid): the mean
    return over the tuning seeds per learning rate, meta_lr and init_decay."""
    by_point: dict[tuple, list[float]] = defaultdict(list)
    for phase in (TUNING, SENSITIVITY):
        if not (folder / phase).is_dir():
            continue
        for record in find_runs([folder / phase], problems):
            if record.method != PROPOSED or record.status != "completed":
                continue
            setting = record.setting.split("__", 1)[0]
            fade = record.config["methods"]["fade"]
            lr = record.config["algo"]["hyperparams"].get("learning_rate")
            value = prefix_return(record.summary)
            if value is not None:
                by_point[setting, lr, fade["meta_lr"], fade["init_decay"]].append(value)
    if not by_point:
        return []
    lines = [
        "## FADE's sensitivity",
        "",
        "FADE's runs on the first levels (its tuning grid, learning rate x meta_lr, and its "
        "sensitivity grid, meta_lr x init_decay at the setting's learning rate): mean return "
        "over the tuning seeds. Reported only: FADE is selected on its tuning grid, as every "
        "method is on its own.",
        "",
        "| setting | learning rate | meta_lr | init_decay | seeds | mean return |",
        "|---|---|---|---|---|---|",
    ]
    for (setting, lr, meta, decay), values in sorted(by_point.items(), key=str):
        lines.append(
            f"| {setting} | {lr:g} | {meta:g} | {decay:g} | {len(values)} "
            f"| {format_number(float(np.mean(values)))} |"
        )
    return [*lines, ""]
