"""``fade-rl suite``: the plasticity benchmark's phases in order, then the suite report."""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fade_rl.cli.options import (
    add_backend,
    add_methods,
    add_no_progress,
    add_restart,
    add_suite_options,
    add_workers,
    parse_methods,
    parse_shard,
)
from fade_rl.cli.sweep import run_counts
from fade_rl.experiments.runs.checks import ConfigError
from fade_rl.experiments.runs.folder import FAILED
from fade_rl.experiments.suite.levels_phases import LEVEL_PHASES, LEVEL_RUN_PHASES, LevelSuiteRun
from fade_rl.experiments.suite.phases import PHASES, REPORT, RUN_PHASES

__all__ = ["DESCRIPTION", "HELP", "add", "run", "suite_run"]


#: The one-line help and the description of ``fade-rl suite``.
HELP = "run the plasticity benchmark: references, tuning, held-out seeds, report"
DESCRIPTION = (
    f"Run the suite's phases in order ({', '.join(PHASES)}) for a tier of "
    "configs/suite/suite.yaml, or those of the many-level suite "
    f"({', '.join(LEVEL_PHASES)}) with --manifest configs/suite_v2/suite.yaml; finished "
    "runs are skipped, so rerunning resumes. The report lands in <log-folder>/report."
)
#: Every phase ``--phase`` accepts: both suites', in order.
ALL_PHASES = tuple(dict.fromkeys((*LEVEL_PHASES[:1], *PHASES, *LEVEL_PHASES)))


def add(p: argparse.ArgumentParser) -> None:
    """Add the options of ``fade-rl suite``."""
    add_suite_options(p)
    p.add_argument(
        "--phase",
        action="append",
        choices=list(ALL_PHASES),
        help="run only this phase (repeat for several; default: all, in order)",
    )
    p.add_argument(
        "--shard",
        metavar="K/N",
        help="run jobs K, K+N, ... of each phase in this process, one at a time (N such "
        "processes share a machine without a process per run)",
    )
    g = p.add_argument_group("runs")
    add_methods(g, None)
    add_workers(g)
    add_backend(g)
    add_restart(g)
    add_no_progress(g)


def run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    """Run the chosen phases, then the report; exit code 1 if a run failed."""
    from fade_rl.experiments.reports.levels import make_levels_report
    from fade_rl.experiments.reports.suite import make_suite_report

    suite = suite_run(
        args,
        argv,
        methods=parse_methods(args.methods) if args.methods else None,
        backend=args.backend,
        address=args.address,
        restart=args.restart,
        shard=parse_shard(args.shard),
    )
    levels = isinstance(suite, LevelSuiteRun)
    phases, run_phases = (LEVEL_PHASES, LEVEL_RUN_PHASES) if levels else (PHASES, RUN_PHASES)
    wrong = [p for p in args.phase or () if p not in phases]
    if wrong:
        kind = "many-level" if levels else "single-change"
        raise ConfigError(
            f"--phase {wrong[0]}: {args.manifest} is a {kind} manifest, whose phases are "
            f"{', '.join(phases)}"
        )
    results = suite.run([p for p in run_phases if not args.phase or p in args.phase])
    if not args.phase or REPORT in args.phase:
        started = time.time()
        if levels:  # the headline first: the plain agent against a fresh one, per level
            report = make_levels_report(suite.folder)
            print(report["loss"])
            print(report["table"])
        else:
            make_suite_report(suite.folder)
        suite.record_time(REPORT, started, [])
    for phase, phase_results in results.items():
        print(f"{phase}: {run_counts(phase_results)}")
    failed = [r for rs in results.values() for r in rs if r.status == FAILED]
    for r in failed:
        print(f"  FAILED {r.label}: {r.error}")
    if not args.phase or REPORT in args.phase:
        print(f"report: {suite.folder / 'report' / 'report.md'}")
        print(f"curves: tensorboard --logdir {suite.folder}")
    return 1 if failed else 0


def suite_run(args: argparse.Namespace, argv: Sequence[str], **extra: Any) -> Any:
    """The runner the suite options describe: a
    :class:`~fade_rl.experiments.suite.phases.SuiteRun`, or a
    :class:`~fade_rl.experiments.suite.levels_phases.LevelSuiteRun` for a manifest of
    ``kind: levels``."""
    from fade_rl.experiments.runs.config import read_yaml
    from fade_rl.experiments.runs.run import check_log_folder
    from fade_rl.experiments.suite.levels_manifest import load_levels_suite
    from fade_rl.experiments.suite.manifest import load_suite
    from fade_rl.experiments.suite.phases import SuiteRun

    folder = args.log_folder or f"runs/suite_{args.tier}"
    check_log_folder(folder)
    settings = [s for s in (args.settings or "").split(",") if s]
    common: dict[str, Any] = dict(
        settings=settings or None,
        workers=args.workers,
        progress=not args.no_progress,
        command=["fade-rl", *argv],
        **extra,
    )
    if read_yaml(Path(args.manifest)).get("kind") == "levels":
        return LevelSuiteRun(load_levels_suite(args.manifest), args.tier, Path(folder), **common)
    return SuiteRun(load_suite(args.manifest), args.tier, Path(folder), **common)
