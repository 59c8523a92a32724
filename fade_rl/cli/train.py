"""``fade-rl train``: one run (one method, one seed) into its resumable run folder."""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Sequence

from fade_rl.cli.options import (
    METHODS_HELP,
    add_no_progress,
    add_restart,
    add_setting_options,
    setting_flags,
)

__all__ = ["DESCRIPTION", "HELP", "add", "run"]


#: The one-line help and the description of ``fade-rl train``.
HELP = "train one run (one method, one seed) into its run folder"
DESCRIPTION = (
    "Train one run into <log-folder>/<setting>/<method>/seed_<seed>. "
    "Rerunning the same command resumes from the last checkpoint; a finished run is "
    "not repeated."
)


def add(p: argparse.ArgumentParser) -> None:
    """Add the options of ``fade-rl train``."""
    add_setting_options(p)
    g = p.add_argument_group("run")
    g.add_argument("--method", "-m", metavar="M", help=f"method: {METHODS_HELP}")
    g.add_argument("--seed", type=int, metavar="S", help="random seed (default 0)")
    add_restart(g)
    add_no_progress(g)


def run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    """Train (or resume) the run; print where it is and how it ended."""
    from fade_rl.experiments.runs.config import load_config
    from fade_rl.experiments.runs.folder import run_dir_for
    from fade_rl.experiments.runs.run import train_run

    config = load_config(
        args.config, args.params, method=args.method, seed=args.seed, **setting_flags(args)
    )
    run_dir = run_dir_for(args.log_folder, config)
    print(f"run folder: {run_dir}")
    summary = train_run(
        config,
        args.log_folder,
        resume=not args.restart,
        progress=False if args.no_progress else None,
        command=["fade-rl", *argv],
    )
    final = summary.get("final_return")
    print(
        f"done: {summary['n_timesteps']} steps, {summary['n_episodes']} episodes, "
        f"final return {final if final is None else round(final, 2)}, "
        f"{summary['steps_per_second']} steps/s"
    )
    print(f"tensorboard --logdir {shlex.quote(str(run_dir))}")
    return 0
