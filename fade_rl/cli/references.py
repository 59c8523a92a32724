"""``fade-rl references``: a suite setting's reference returns (random floor, fresh ceiling)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from fade_rl.cli.options import add_no_progress, add_suite_options, add_workers
from fade_rl.cli.suite import suite_run
from fade_rl.experiments.runs.checks import ConfigError
from fade_rl.experiments.runs.folder import FAILED
from fade_rl.experiments.suite.levels_phases import LevelSuiteRun

__all__ = ["DESCRIPTION", "HELP", "add", "run"]


#: The one-line help and the description of ``fade-rl references``.
HELP = "make a suite setting's reference returns (random floor, fresh-agent ceiling)"
DESCRIPTION = (
    "Train the ceiling runs of each task of the settings (a fresh agent on "
    "the task alone), roll out the random floors, and write "
    "<log-folder>/references/<setting>.json with the config they belong to."
)


def add(p: argparse.ArgumentParser) -> None:
    """Add the options of ``fade-rl references``."""
    add_suite_options(p)
    add_workers(p)
    add_no_progress(p)


def run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    """Run the references phase; exit code 1 if a run failed."""
    suite = suite_run(args, argv)
    if isinstance(suite, LevelSuiteRun):
        raise ConfigError(
            f"{args.manifest} is a many-level manifest: its ceiling is the oracle's held-out "
            "runs and its floors a phase of `fade-rl suite` (--phase floors)"
        )
    results = suite.run(["references"])
    failed = [r for r in results["references"] if r.status == FAILED]
    for r in failed:
        print(f"  FAILED {r.label}: {r.error}")
    print(f"references: {suite.folder / 'references'}")
    return 1 if failed else 0
