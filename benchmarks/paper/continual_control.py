"""C-CHAIN's continual Gym control table (ICML 2025, Table 1), with fade_rl's PPO and FadePPO.

Rows: the oracle (fresh networks and a fresh Adam at every level: method ``reset`` with
target ``all`` at each level change), vanilla PPO (``none``), L2 Init (``l2init``), TRAC
(``trac``) and FADE (``fade``, FadePPO). Settings: ``configs/paper/continual_control_*.yaml``
(10 levels of 160k steps, C-CHAIN's PPO; docs/paper_reproduction.md says what differs).

The score of a run is C-CHAIN's: the mean over the run's 800-step iterations of the mean
return of the training episodes that ended in the iteration (raw returns, not the scaled
rewards the agent trains on). A finished run's compact result (its score, its per-level
means and its curve in 40-iteration bins) is written to
``benchmarks/results/continual_control/runs/<env>_<method>_seed<k>.json`` as it lands;
``summarize`` turns those into ``summary.csv`` (mean and 95% t-interval over seeds, beside
the published mean) and ``levels.csv`` (the mean over seeds of each level's mean).

    python -m benchmarks.paper.continual_control run --env cartpole --seeds 6
    python -m benchmarks.paper.continual_control run --env cartpole --methods none,reset --seeds 1
    python -m benchmarks.paper.continual_control summarize

Runs go through the run machinery (``runs/continual_control_<env>/<method>/seed_<k>``):
an interrupted run resumes from its last checkpoint (every 80k steps), a finished one is
skipped. One run is 1.6M steps.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import statistics
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from fade_rl.experiments.reports.stats import t_interval
from fade_rl.experiments.runs.config import load_config
from fade_rl.experiments.runs.folder import CONFIG, SUMMARY, RunFolder
from fade_rl.experiments.runs.logs import read_episodes
from fade_rl.experiments.sweeps import make_jobs, run_jobs

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = {
    "cartpole": ROOT / "configs/paper/continual_control_cartpole.yaml",
    "acrobot": ROOT / "configs/paper/continual_control_acrobot.yaml",
}
RESULTS = ROOT / "benchmarks/results/continual_control"
#: The table's rows: fade_rl method -> the row's name.
ROWS = {"reset": "oracle", "none": "vanilla", "l2init": "L2 Init", "trac": "TRAC", "fade": "FADE"}
#: C-CHAIN's Table 1, mean and standard error over 6 seeds (FADE is not in it).
PUBLISHED = {
    ("cartpole", "reset"): (299.9, 6.0),
    ("cartpole", "none"): (61.8, 6.9),
    ("cartpole", "trac"): (217.4, 26.3),
    ("cartpole", "l2init"): (266.1, 5.3),
    ("acrobot", "reset"): (-125.7, 8.3),
    ("acrobot", "none"): (-372.7, 3.3),
    ("acrobot", "trac"): (-166.6, 8.9),
    ("acrobot", "l2init"): (-134.0, 14.3),
}
ITERATION = 800  # environment steps per PPO iteration (n_steps)
LEVELS, LEVEL_STEPS = 10, 160_000  # the registered ids' defaults
CURVE_BIN = 40  # iterations per point of a run's stored curve
SUMMARY_COLUMNS = ("env", "method", "levels", "n_seeds", "mean", "ci_low", "ci_high", "published")
LEVEL_COLUMNS = ("env", "method", "level", "n_seeds", "mean")


def iteration_means(episodes: Iterable[dict[str, Any]], n_timesteps: int) -> list[float]:
    """Mean return of the episodes that ended in each 800-step iteration (NaN: none ended).

    Example:
        >>> eps = [{"step": 300, "return": 10.0}, {"step": 800, "return": 20.0},
        ...        {"step": 1200, "return": 5.0}]
        >>> iteration_means(eps, 1600)
        [15.0, 5.0]
    """
    sums = [0.0] * math.ceil(n_timesteps / ITERATION)
    counts = [0] * len(sums)
    for episode in episodes:
        index = (int(episode["step"]) - 1) // ITERATION
        if 0 <= index < len(sums):
            sums[index] += float(episode["return"])
            counts[index] += 1
    return [s / c if c else math.nan for s, c in zip(sums, counts, strict=True)]


def _nanmean(values: Sequence[float]) -> float:
    kept = [v for v in values if not math.isnan(v)]
    return statistics.fmean(kept) if kept else math.nan


def compact(run_dir: Path, setting: str) -> dict[str, Any]:
    """A finished run's compact result: score, per-level means, binned curve, speed."""
    summary = json.loads((run_dir / SUMMARY).read_text())
    episodes, _ = read_episodes(run_dir)
    config = load_config(run_dir / CONFIG)
    levels = int(config.env.kwargs.get("levels", LEVELS))
    per_level = int(config.env.kwargs.get("level_steps", LEVEL_STEPS)) // ITERATION
    means = iteration_means(episodes, summary["n_timesteps"])
    levels_run = range(min(levels, math.ceil(len(means) / per_level)))
    return {
        "setting": setting,
        "env": config.env.id,
        "method": summary["method"],
        "seed": summary["seed"],
        "levels": levels,
        "n_timesteps": summary["n_timesteps"],
        "n_episodes": len(episodes),
        "score": _nanmean(means),
        "level_means": [_nanmean(means[k * per_level : (k + 1) * per_level]) for k in levels_run],
        "curve_bin_iterations": CURVE_BIN,
        "curve": [_nanmean(means[i : i + CURVE_BIN]) for i in range(0, len(means), CURVE_BIN)],
        "steps_per_second": summary.get("steps_per_second"),
        "resumed_at": summary.get("resumed_at", []),
    }


def result_path(env: str, method: str, seed: int) -> Path:
    """Where the compact result of one run is kept."""
    return RESULTS / "runs" / f"{env}_{method}_seed{seed}.json"


def run(env: str, methods: Sequence[str], seeds: Sequence[int], log_folder: str) -> None:
    """Run the missing runs one at a time (seed by seed), compacting each as it finishes."""
    for seed in seeds:
        for method in methods:
            out = result_path(env, method, seed)
            if out.is_file():
                continue
            [job] = make_jobs([str(SETTINGS[env])], [method], [seed], log_folder=log_folder)
            [result] = run_jobs([job], workers=1, progress=False)
            if not RunFolder(job.run_dir).is_complete():
                print(f"{job.label}: {result.status} {result.error or ''}".rstrip(), flush=True)
                continue
            data = compact(job.run_dir, env)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(data, indent=1) + "\n")
            print(f"{job.label}: score {data['score']:.1f} -> {out.relative_to(ROOT)}", flush=True)


def summarize(results: Path = RESULTS) -> list[dict[str, Any]]:
    """``summary.csv`` from the compact results: one row per (env, method)."""
    runs = [json.loads(p.read_text()) for p in sorted((results / "runs").glob("*.json"))]
    rows = []
    for (env, method), mine in _by_row(runs).items():
        scores = [r["score"] for r in mine]
        low, high = t_interval(scores)
        published = PUBLISHED.get((env, method))
        rows.append(
            {
                "env": env,
                "method": method,
                "levels": mine[0]["levels"],
                "n_seeds": len(mine),
                "mean": round(statistics.fmean(scores), 1),
                "ci_low": "" if math.isnan(low) else round(low, 1),  # one seed: none
                "ci_high": "" if math.isnan(high) else round(high, 1),
                "published": "" if published is None else published[0],
            }
        )
    write_csv(results / "summary.csv", SUMMARY_COLUMNS, rows)
    write_csv(results / "levels.csv", LEVEL_COLUMNS, level_rows(runs))
    return rows


def level_rows(runs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The per-level curves: each (env, method, level)'s mean over seeds of the level means."""
    rows = []
    for (env, method), mine in _by_row(runs).items():
        for level in range(min(len(r["level_means"]) for r in mine)):
            values = [r["level_means"][level] for r in mine]
            row = {"env": env, "method": method, "level": level, "n_seeds": len(values)}
            rows.append({**row, "mean": round(statistics.fmean(values), 1)})
    return rows


def _by_row(runs: Sequence[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """The runs of each table row that has any, in the table's order (env, then method)."""
    rows = {(env, method): [] for env in SETTINGS for method in ROWS}
    for run in runs:
        rows[run["setting"], run["method"]].append(run)
    return {row: mine for row, mine in rows.items() if mine}


def write_csv(path: Path, columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> None:
    """``rows`` as a CSV file with the header ``columns``."""
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="run the missing runs of one environment")
    p.add_argument("--env", choices=sorted(SETTINGS), required=True)
    p.add_argument("--methods", default=",".join(ROWS), help="comma-separated (default: all rows)")
    p.add_argument("--seeds", type=int, default=6, help="seeds 0..N-1 (default 6)")
    p.add_argument("-f", "--log-folder", default="runs", help="root of the run folders")
    sub.add_parser("summarize", help="write summary.csv from the compact results")
    args = parser.parse_args(argv)
    if args.command == "run":
        methods = [m for m in args.methods.split(",") if m]
        unknown = sorted(set(methods) - set(ROWS))
        if unknown:
            parser.error(f"unknown method(s) {', '.join(unknown)}; use some of {', '.join(ROWS)}")
        run(args.env, methods, range(args.seeds), args.log_folder)
    for row in summarize():
        print(row)


if __name__ == "__main__":
    main()
