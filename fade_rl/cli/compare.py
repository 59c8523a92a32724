"""``fade-rl compare``: methods x seeds on one setting, then its report."""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Sequence
from pathlib import Path

from fade_rl.cli.options import add_run_options, add_setting_options
from fade_rl.cli.sweep import run_many
from fade_rl.experiments.runs.folder import FAILED

__all__ = ["DESCRIPTION", "HELP", "add", "run"]


#: The one-line help and the description of ``fade-rl compare``.
HELP = "run methods x seeds on one setting, then report"
DESCRIPTION = (
    "Run every method with every seed on one setting (skipping finished "
    "runs), then write the report into <log-folder>/<setting>/report and print its table."
)


def add(p: argparse.ArgumentParser) -> None:
    """Add the options of ``fade-rl compare``."""
    add_setting_options(p)
    add_run_options(p.add_argument_group("runs"))


def run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    """Run the comparison, then report it; exit code 1 if a run failed."""
    from fade_rl.experiments.reports.plain import make_report

    jobs, results = run_many(args, argv, [args.config], [])
    setting_dir = Path(args.log_folder) / jobs[0].config["name"]
    report = make_report([setting_dir])
    print()
    print(report["table"])
    print(f"report: {report['out'] / 'report.md'}")
    print(f"tensorboard --logdir {shlex.quote(str(setting_dir))}")
    return 1 if any(r.status == FAILED for r in results) else 0
