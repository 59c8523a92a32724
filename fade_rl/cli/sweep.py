"""``fade-rl sweep``: every combination of configs, ``--grid`` values, methods and seeds."""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fade_rl.cli.options import (
    add_run_options,
    add_setting_options,
    parse_methods,
    seeds,
    setting_flags,
)
from fade_rl.experiments.runs.folder import COMPLETED, FAILED
from fade_rl.experiments.sweeps.jobs import SKIPPED

__all__ = ["DESCRIPTION", "HELP", "add", "run", "run_counts", "run_many"]


#: The one-line help and the description of ``fade-rl sweep``.
HELP = "run a grid: configs x hyperparameters x methods x seeds"
DESCRIPTION = (
    "Run every combination of configs, --grid values, methods and seeds. "
    "Finished runs are skipped; a failing run is recorded (failure.json) and the others go "
    "on. Results are written to <log-folder>/sweep_results.json."
)


def add(p: argparse.ArgumentParser) -> None:
    """Add the options of ``fade-rl sweep``."""
    add_setting_options(p, many_configs=True)
    add_run_options(p.add_argument_group("runs"))
    p.add_argument(
        "--grid",
        nargs="+",
        action="extend",
        default=[],
        metavar="KEY=V1,V2",
        help="values to sweep, e.g. --grid learning_rate=1e-3,3e-4 methods.fade.meta_lr=0.5,1",
    )


def run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    """Run the sweep; exit code 1 if a run failed."""
    _, results = run_many(args, argv, args.config or [None], args.grid)
    print(f"report: fade-rl report {shlex.quote(args.log_folder)}")
    return 1 if any(r.status == FAILED for r in results) else 0


def run_many(
    args: argparse.Namespace, argv: Sequence[str], configs: list[Any], grid: list[str]
) -> tuple[list[Any], list[Any]]:
    """Make and run the jobs of ``configs`` x ``grid`` x ``--methods`` x seeds; print counts."""
    from fade_rl.experiments.sweeps import make_jobs, run_jobs

    run_seeds = seeds(args)
    jobs = make_jobs(
        configs,
        parse_methods(args.methods),
        run_seeds,
        log_folder=args.log_folder,
        overrides=args.params,
        grid=grid,
        command=["fade-rl", *argv],
        **setting_flags(args),
    )
    results = run_jobs(
        jobs,
        backend=args.backend,
        workers=args.workers,
        address=args.address,
        progress=not args.no_progress,
        results_file=Path(args.log_folder) / "sweep_results.json",
        restart=args.restart,
    )
    print(run_counts(results))
    for r in results:
        if r.status == FAILED:
            print(f"  FAILED {r.label}: {r.error}")
    return jobs, results


def run_counts(results: Sequence[Any]) -> str:
    """``N runs: C completed, S skipped (already complete), F failed``."""
    counts = {s: sum(r.status == s for r in results) for s in (COMPLETED, SKIPPED, FAILED)}
    return (
        f"{len(results)} runs: {counts['completed']} completed, {counts['skipped']} skipped "
        f"(already complete), {counts['failed']} failed"
    )
