"""``fade-rl report``: run folders (or a suite folder) into report.md, CSVs and plots."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["DESCRIPTION", "HELP", "add", "run"]


#: The one-line help and the description of ``fade-rl report``.
HELP = "aggregate run folders into report.md, CSVs and plots"
DESCRIPTION = (
    "Read run folders (TensorBoard events, summaries), aggregate over seeds "
    "(IQM, 95%% stratified bootstrap CIs), add shift-recovery statistics, write "
    "report.md, report.csv, runs.csv, segments.csv and PNG plots."
)


def add(p: argparse.ArgumentParser) -> None:
    """Add the options of ``fade-rl report``."""
    p.add_argument("paths", nargs="+", metavar="PATH", help="run folders or folders above them")
    p.add_argument(
        "--out", "-o", metavar="DIR", help="output folder (default: <first PATH>/report)"
    )
    p.add_argument(
        "--reps", type=int, default=2000, metavar="R", help="bootstrap resamples (default 2000)"
    )


def run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    """Write the report (the suite report for a suite folder); print its table."""
    from fade_rl.experiments.reports.levels import is_levels_folder, make_levels_report
    from fade_rl.experiments.reports.plain import make_report
    from fade_rl.experiments.reports.suite import is_suite_folder, make_suite_report

    if len(args.paths) == 1 and is_levels_folder(args.paths[0]):
        report = make_levels_report(args.paths[0], args.out, reps=args.reps)
    elif len(args.paths) == 1 and is_suite_folder(args.paths[0]):
        report = make_suite_report(args.paths[0], args.out, reps=args.reps)
        for setting in report["unreferenced"]:
            print(f"{setting}: no references, so no score", file=sys.stderr)
    else:
        report = make_report(args.paths, args.out, reps=args.reps)
    print(report["table"])
    print(f"report: {report['out'] / 'report.md'} ({report['runs']} runs)")
    return 0
