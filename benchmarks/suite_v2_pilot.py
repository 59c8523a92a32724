"""Pilots of the suite's many-level settings: does the plain agent lose plasticity there?

Before a candidate setting enters the suite, a few seeds of the plain agent (``none``) and
of the oracle run over its whole lifetime, beside a uniformly random policy. The oracle is
the continual-RL literature's ceiling: fresh networks, a fresh optimizer and an empty
replay buffer at every level change (method ``reset`` with target ``all``, ``at_shift``
and ``fresh_buffer``; the buffer refills for ``learning_starts`` steps before training
resumes), at the plain agent's hyperparameters. A setting is kept only where the plain
agent falls behind the oracle as the levels accumulate.

Candidates: ``configs/suite_v2/<setting>.yaml``. Each finished run's compact result (its
per-level time-averaged returns, the suite's segment measure) is written to
``benchmarks/results/suite_v2_pilot/runs/<setting>_<row>_seed<k>.json`` as it lands;
``summarize`` writes ``levels.csv`` (per setting, row and level: mean and 95% t-interval
over seeds) and ``settings.csv`` (per setting: the plain agent's normalized return
``(none - random) / (oracle - random)`` per level against the seed means of the random
policy and the oracle, its mean over the levels, over the last half and its slope per
level, each with a 95% t-interval over seeds (:mod:`fade_rl.experiments.suite.levels`),
and the share of normalized level returns within [-3, 3]; or the problem that keeps the
setting from a score).

    python -m benchmarks.suite_v2_pilot run --setting dqn_cartpole_offsets --seeds 3
    python -m benchmarks.suite_v2_pilot summarize

Runs go through the run machinery (``runs/suite_v2_pilot/<setting>[_oracle]/...``): an
interrupted run resumes from its last checkpoint, a finished one is skipped.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.paper.continual_control import write_csv
from fade_rl.experiments.reports.stats import t_interval
from fade_rl.experiments.runs.config import load_config
from fade_rl.experiments.runs.folder import SUMMARY, RunFolder
from fade_rl.experiments.suite.levels import (
    level_means,
    level_score,
    normalize_levels,
    well_conditioned_share,
)
from fade_rl.experiments.suite.levels_manifest import load_levels_suite
from fade_rl.experiments.suite.references import random_level_returns
from fade_rl.experiments.sweeps import make_jobs, run_jobs

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs/suite_v2"
RESULTS = ROOT / "benchmarks/results/suite_v2_pilot"
#: The pilot's rows: row -> (method, config overrides); the oracle's are the manifest's.
ROWS: dict[str, tuple[str, tuple[str, ...]]] = {
    "none": ("none", ()),
    "oracle": ("reset", tuple(load_levels_suite(CONFIGS / "suite.yaml").oracle)),
}
RANDOM = "random"
LEVEL_COLUMNS = ("setting", "row", "level", "n_seeds", "mean", "ci_low", "ci_high")
SETTING_COLUMNS = (
    "setting",
    "levels",
    "n_seeds",
    "score",
    "score_ci",
    "last_half",
    "last_half_ci",
    "slope",
    "slope_ci",
    "normalized",
    "conditioned",
    "problem",
)


def settings() -> list[str]:
    """The candidate settings: the stems of ``configs/suite_v2/*.yaml`` but the manifest."""
    return sorted(p.stem for p in CONFIGS.glob("*.yaml") if p.stem != "suite")


def result_path(setting: str, row: str, seed: int) -> Path:
    """Where the compact result of one pilot run is kept."""
    return RESULTS / "runs" / f"{setting}_{row}_seed{seed}.json"


def compact(run_dir: Path, setting: str, row: str) -> dict[str, Any]:
    """A finished run's per-level returns (its summary's segments) and its speed."""
    summary = json.loads((run_dir / SUMMARY).read_text())
    return {
        "setting": setting,
        "row": row,
        "seed": summary["seed"],
        "level_returns": [s["mean_return"] for s in summary["segments"]],
        "n_timesteps": summary["n_timesteps"],
        "steps_per_second": summary.get("steps_per_second"),
    }


def _write(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1) + "\n")
    print(path, flush=True)


def run(setting: str, seeds: Sequence[int], rows: Sequence[str], log_folder: str) -> None:
    """The missing runs of one setting, seed by seed; each compacted as it finishes."""
    config = str(CONFIGS / f"{setting}.yaml")
    for seed in seeds:
        out = result_path(setting, RANDOM, seed)
        if not out.is_file():
            _write(
                out,
                {
                    "setting": setting,
                    "row": RANDOM,
                    "seed": seed,
                    "level_returns": random_level_returns(load_config(config), seed),
                },
            )
        for row in rows:
            out = result_path(setting, row, seed)
            if out.is_file():
                continue
            method, overrides = ROWS[row]
            name = setting if row == "none" else f"{setting}_{row}"
            [job] = make_jobs(
                [config],
                [method],
                [seed],
                log_folder=log_folder,
                overrides=[f"name={name}", *overrides],
            )
            [result] = run_jobs([job], workers=1, progress=False)
            if not RunFolder(job.run_dir).is_complete():
                print(f"{job.label}: {result.status} {result.error or ''}".rstrip(), flush=True)
                continue
            _write(out, compact(job.run_dir, setting, row))


def summarize(results: Path = RESULTS) -> list[dict[str, Any]]:
    """``levels.csv`` and ``settings.csv`` from the compact results."""
    runs = [json.loads(p.read_text()) for p in sorted((results / "runs").glob("*.json"))]
    level_rows, setting_rows = [], []
    for setting in sorted({r["setting"] for r in runs}):
        by_row = {
            row: sorted(
                (r for r in runs if r["setting"] == setting and r["row"] == row),
                key=lambda r: r["seed"],
            )
            for row in (RANDOM, *ROWS)
        }
        for row, mine in by_row.items():
            level_rows += _level_rows(setting, row, mine)
        if all(by_row.values()):
            setting_rows.append(_setting_row(setting, by_row))
    write_csv(results / "levels.csv", LEVEL_COLUMNS, level_rows)
    write_csv(results / "settings.csv", SETTING_COLUMNS, setting_rows)
    return setting_rows


def _level_rows(setting: str, row: str, runs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each level's mean return over the runs of one row, with its 95% t-interval."""
    out = []
    for level in range(min((len(r["level_returns"]) for r in runs), default=0)):
        values = [r["level_returns"][level] for r in runs if r["level_returns"][level] is not None]
        low, high = t_interval(values)
        out.append(
            {
                "setting": setting,
                "row": row,
                "level": level,
                "n_seeds": len(values),
                "mean": round(statistics.fmean(values), 2),
                "ci_low": "" if np.isnan(low) else round(low, 2),
                "ci_high": "" if np.isnan(high) else round(high, 2),
            }
        )
    return out


def _setting_row(setting: str, by_row: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """The plain agent's normalized levels against the seed means of the random policy and
    the oracle (:mod:`fade_rl.experiments.suite.levels`): per-seed scores, their mean and
    95% t-interval, and the per-level mean curve."""
    floors = level_means([r["level_returns"] for r in by_row[RANDOM]])
    ceilings = level_means([r["level_returns"] for r in by_row["oracle"]])
    n = min(len(floors), len(ceilings))
    row: dict[str, Any] = {"setting": setting, "levels": n, "n_seeds": len(by_row["none"])}
    try:
        curves = [
            normalize_levels(r["level_returns"][:n], floors[:n], ceilings[:n])
            for r in by_row["none"]
        ]
    except ValueError as exc:  # a level the oracle barely beats: redesign, not a score
        return {**row, "problem": str(exc)}
    scores = [level_score(curve) for curve in curves]
    for name in ("score", "last_half", "slope"):
        values = [getattr(s, name) for s in scores]
        low, high = t_interval(values)
        row[name] = round(statistics.fmean(values), 3)
        row[f"{name}_ci"] = "" if np.isnan(low) else f"{low:.3f} {high:.3f}"
    row["normalized"] = " ".join(f"{v:.2f}" for v in level_means(curves))
    row["conditioned"] = round(well_conditioned_share(curves), 3)
    return row


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="run the missing pilot runs of one setting")
    p.add_argument("--setting", choices=settings(), required=True)
    p.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 (default 3)")
    p.add_argument("--rows", default=",".join(ROWS), help="comma-separated (default: none,oracle)")
    p.add_argument("-f", "--log-folder", default="runs/suite_v2_pilot", help="root of the runs")
    sub.add_parser("summarize", help="write levels.csv and settings.csv")
    args = parser.parse_args(argv)
    if args.command == "run":
        rows = [r for r in args.rows.split(",") if r]
        unknown = sorted(set(rows) - set(ROWS))
        if unknown:
            parser.error(f"unknown row(s) {', '.join(unknown)}; use some of {', '.join(ROWS)}")
        run(args.setting, range(args.seeds), rows, args.log_folder)
    for row in summarize():
        print(row)


if __name__ == "__main__":
    main()
