"""The ``fade-rl`` command line: train, compare, sweep, report, envs.

Flags follow rl-baselines3-zoo where they fit (``--algo``, ``--env``, ``-n``, ``--seed``,
``-f``, ``-p``). A bad config or flag is one line on stderr and exit code 2; a failed run
is exit code 1.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fade_rl.experiments.runs.config import METHOD_HELP

__all__ = ["build_parser", "main"]

_METHODS_HELP = ", ".join(f"{m} ({text})" for m, text in METHOD_HELP.items())

_EPILOG = """\
examples:
  fade-rl envs
  fade-rl train --config configs/cartpole_reward_flip.yaml --method fade --seed 0
  fade-rl train --env fade_rl/CartPole-RewardFlip-v0 --algo dqn -n 20000 -p learning_rate=1e-3
  fade-rl compare --config configs/cartpole_reward_flip.yaml --methods fade,wd,reset,none --seeds 5
  fade-rl compare --config configs/cartpole_reward_flip.yaml --methods fade,l2init,cbp,trac,none \\
      -p algo.critic.layer_norm=true
  fade-rl sweep --config configs/cartpole_reward_flip.yaml --methods fade,none --seeds 3 \\
      --grid methods.fade.meta_lr=0.3,1,3 --workers 2
  fade-rl sweep --config configs/cartpole_reward_flip.yaml --backend ray --address auto
  fade-rl suite --tier smoke --workers 2 -f runs/suite_smoke
  fade-rl references --tier standard --settings dqn_reward_flip -f runs/suite_standard
  fade-rl report runs/cartpole_reward_flip
  tensorboard --logdir runs/
"""


def _add_setting_flags(p: argparse.ArgumentParser, many_configs: bool = False) -> None:
    g = p.add_argument_group("setting")
    if many_configs:
        g.add_argument(
            "--config",
            "-c",
            action="append",
            metavar="FILE",
            help="YAML config (repeat for several settings)",
        )
    else:
        g.add_argument("--config", "-c", metavar="FILE", help="YAML config (see configs/)")
    g.add_argument(
        "--env", metavar="ID", help="environment id (overrides env.id); see `fade-rl envs`"
    )
    g.add_argument("--algo", choices=["dqn", "sac", "td3"], help="algorithm (overrides algo.name)")
    g.add_argument(
        "-n", "--n-timesteps", type=int, metavar="N", help="environment steps per run (budget)"
    )
    g.add_argument("--device", metavar="DEV", help="torch device: cpu, cuda, auto")
    g.add_argument("--name", metavar="NAME", help="setting name (default: config file stem)")
    g.add_argument(
        "-p",
        "--params",
        nargs="+",
        action="extend",
        default=[],
        metavar="KEY=VALUE",
        help="config overrides, dotted keys (budget.n_timesteps=1000, methods.fade.meta_lr=0.5); "
        "a key that is not a config section is an SB3 hyperparameter (learning_rate=3e-4)",
    )
    g.add_argument(
        "-f",
        "--log-folder",
        default="runs",
        metavar="DIR",
        help="root of the run folders (default: runs/)",
    )


def _add_many_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("runs")
    g.add_argument(
        "--methods",
        default="fade,wd,reset,none",
        metavar="A,B",
        help=f"comma-separated methods (default: fade,wd,reset,none); {_METHODS_HELP}",
    )
    g.add_argument("--seeds", type=int, default=3, metavar="N", help="seeds per method (default 3)")
    g.add_argument("--seed", type=int, default=0, metavar="S", help="first seed (default 0)")
    g.add_argument("--workers", type=int, default=1, metavar="W", help="runs at once (default 1)")
    g.add_argument(
        "--backend",
        choices=["local", "ray"],
        default="local",
        help="local: a process per run; ray: a Ray task per run (default local)",
    )
    g.add_argument(
        "--address",
        metavar="ADDR",
        help="Ray cluster address (auto, host:port, ray://host:10001); default: start a local Ray",
    )
    g.add_argument(
        "--restart",
        action="store_true",
        help="discard what every run folder holds (finished runs, a changed config) and run "
        "every job afresh",
    )
    g.add_argument("--no-progress", action="store_true", help="no progress bar")


def _add_suite_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--tier", choices=["smoke", "standard", "full"], default="standard", help="suite tier"
    )
    p.add_argument("--settings", metavar="A,B", help="settings of the tier (default: all)")
    p.add_argument(
        "--manifest",
        default="configs/suite/suite.yaml",
        metavar="FILE",
        help="the suite manifest (default: configs/suite/suite.yaml)",
    )
    p.add_argument(
        "-f", "--log-folder", metavar="DIR", help="the suite folder (default: runs/suite_<tier>)"
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``fade-rl``."""
    parser = argparse.ArgumentParser(
        prog="fade-rl",
        description="Continual RL with FADE and Stable-Baselines3: train, compare methods "
        "over seeds, sweep grids (locally or on Ray), and report with IQM and bootstrap CIs.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser(
        "train",
        help="train one run (one method, one seed) into its run folder",
        description="Train one run into <log-folder>/<setting>/<method>/seed_<seed>. "
        "Rerunning the same command resumes from the last checkpoint; a finished run is "
        "not repeated.",
    )
    _add_setting_flags(p)
    g = p.add_argument_group("run")
    g.add_argument("--method", "-m", metavar="M", help=f"method: {_METHODS_HELP}")
    g.add_argument("--seed", type=int, metavar="S", help="random seed (default 0)")
    g.add_argument(
        "--restart",
        action="store_true",
        help="discard the run folder's content (a finished run, another config, checkpoints) "
        "and start afresh; without it nothing is ever deleted",
    )
    g.add_argument("--no-progress", action="store_true", help="no progress bar")

    p = sub.add_parser(
        "compare",
        help="run methods x seeds on one setting, then report",
        description="Run every method with every seed on one setting (skipping finished "
        "runs), then write the report into <log-folder>/<setting>/report and print its table.",
    )
    _add_setting_flags(p)
    _add_many_flags(p)

    p = sub.add_parser(
        "sweep",
        help="run a grid: configs x hyperparameters x methods x seeds",
        description="Run every combination of configs, --grid values, methods and seeds. "
        "Finished runs are skipped; a failing run is recorded (failure.json) and the others go "
        "on. Results are written to <log-folder>/sweep_results.json.",
    )
    _add_setting_flags(p, many_configs=True)
    _add_many_flags(p)
    p.add_argument(
        "--grid",
        nargs="+",
        action="extend",
        default=[],
        metavar="KEY=V1,V2",
        help="values to sweep, e.g. --grid learning_rate=1e-3,3e-4 methods.fade.meta_lr=0.5,1",
    )

    p = sub.add_parser(
        "report",
        help="aggregate run folders into report.md, CSVs and plots",
        description="Read run folders (TensorBoard events, summaries), aggregate over seeds "
        "(IQM, 95%% stratified bootstrap CIs), add shift-recovery statistics, write "
        "report.md, report.csv, runs.csv, segments.csv and PNG plots.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="run folders or folders above them")
    p.add_argument(
        "--out", "-o", metavar="DIR", help="output folder (default: <first PATH>/report)"
    )
    p.add_argument(
        "--reps", type=int, default=2000, metavar="R", help="bootstrap resamples (default 2000)"
    )

    p = sub.add_parser(
        "suite",
        help="run the plasticity benchmark: references, tuning, held-out seeds, report",
        description="Run the suite's phases in order (references, tuning, held_out, "
        "sensitivity, report) for a tier of configs/suite/suite.yaml; finished runs are "
        "skipped, so rerunning resumes. The report lands in <log-folder>/report.",
    )
    _add_suite_flags(p)
    p.add_argument(
        "--phase",
        action="append",
        choices=["references", "tuning", "held_out", "sensitivity", "report"],
        help="run only this phase (repeat for several; default: all, in order)",
    )
    p.add_argument(
        "--shard",
        metavar="K/N",
        help="run jobs K, K+N, ... of each phase in this process, one at a time (N such "
        "processes share a machine without a process per run)",
    )
    g = p.add_argument_group("runs")
    g.add_argument("--methods", metavar="A,B", help="methods (default: every method)")
    g.add_argument("--workers", type=int, default=1, metavar="W", help="runs at once (default 1)")
    g.add_argument("--backend", choices=["local", "ray"], default="local", help="local or ray")
    g.add_argument("--address", metavar="ADDR", help="Ray cluster address (with --backend ray)")
    g.add_argument(
        "--restart", action="store_true", help="discard every run folder's content and rerun"
    )
    g.add_argument("--no-progress", action="store_true", help="no progress bar")

    p = sub.add_parser(
        "references",
        help="make a suite setting's reference returns (random floor, fresh-agent ceiling)",
        description="Train the ceiling runs of each task of the settings (a fresh agent on "
        "the task alone), roll out the random floors, and write "
        "<log-folder>/references/<setting>.json with the config they belong to.",
    )
    _add_suite_flags(p)
    p.add_argument("--workers", type=int, default=1, metavar="W", help="runs at once (default 1)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")

    sub.add_parser(
        "envs",
        help="list the registered non-stationary environment ids",
        description="List the fade_rl/... environment ids with what changes in each.",
    )
    return parser


def _fail(message: str, code: int = 2) -> int:
    print(f"fade-rl: error: {message}", file=sys.stderr)
    return code


def _methods(text: str) -> list[str]:
    from fade_rl.experiments.runs.config import METHODS, ConfigError

    methods = [m.strip() for m in text.split(",") if m.strip()]
    for m in methods:
        if m not in METHODS:
            raise ConfigError(f"--methods: unknown method {m!r}; use {', '.join(METHODS)}")
    if not methods:
        raise ConfigError("--methods: give at least one method")
    return methods


def _flags(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "env": args.env,
        "algo": args.algo,
        "n_timesteps": args.n_timesteps,
        "device": args.device,
        "name": args.name,
    }


def _cmd_envs(args: argparse.Namespace) -> int:
    from fade_rl.envs import list_envs

    rows = list_envs()
    width = max(len(env_id) for env_id, _ in rows)
    for env_id, description in rows:
        print(f"{env_id:<{width}}  {description}")
    return 0


def _cmd_train(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from fade_rl.experiments.runs.config import load_config
    from fade_rl.experiments.runs.run import run_dir_for, train_run

    config = load_config(
        args.config, args.params, method=args.method, seed=args.seed, **_flags(args)
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


def _run_many(args: argparse.Namespace, argv: Sequence[str], configs: list[Any], grid: list[str]):
    from fade_rl.experiments.sweeps import make_jobs, run_jobs

    if args.seeds < 1:
        from fade_rl.experiments.runs.config import ConfigError

        raise ConfigError(f"--seeds: must be >= 1, got {args.seeds}")
    if args.workers < 1:
        from fade_rl.experiments.runs.config import ConfigError

        raise ConfigError(f"--workers: must be >= 1, got {args.workers}")
    jobs = make_jobs(
        configs,
        _methods(args.methods),
        list(range(args.seed, args.seed + args.seeds)),
        log_folder=args.log_folder,
        overrides=args.params,
        grid=grid,
        command=["fade-rl", *argv],
        **_flags(args),
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
    print(_run_counts(results))
    for r in results:
        if r.status == "failed":
            print(f"  FAILED {r.label}: {r.error}")
    return jobs, results


def _cmd_compare(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from fade_rl.experiments.reports.plain import make_report

    jobs, results = _run_many(args, argv, [args.config], [])
    setting_dir = Path(args.log_folder) / jobs[0].config["name"]
    report = make_report([setting_dir])
    print()
    print(report["table"])
    print(f"report: {report['out'] / 'report.md'}")
    print(f"tensorboard --logdir {shlex.quote(str(setting_dir))}")
    return 1 if any(r.status == "failed" for r in results) else 0


def _cmd_sweep(args: argparse.Namespace, argv: Sequence[str]) -> int:
    configs = args.config or [None]
    _, results = _run_many(args, argv, configs, args.grid)
    print(f"report: fade-rl report {shlex.quote(args.log_folder)}")
    return 1 if any(r.status == "failed" for r in results) else 0


def _cmd_report(args: argparse.Namespace) -> int:
    from fade_rl.experiments.reports.plain import make_report
    from fade_rl.experiments.reports.suite import is_suite_folder, make_suite_report
    from fade_rl.experiments.runs.config import ConfigError

    if args.reps < 1:
        raise ConfigError(f"--reps: must be >= 1 bootstrap resample, got {args.reps}")
    if len(args.paths) == 1 and is_suite_folder(args.paths[0]):
        report = make_suite_report(args.paths[0], args.out, reps=args.reps)
        for setting in report["unreferenced"]:
            print(f"{setting}: no references, so no score", file=sys.stderr)
    else:
        report = make_report(args.paths, args.out, reps=args.reps)
    print(report["table"])
    print(f"report: {report['out'] / 'report.md'} ({report['runs']} runs)")
    return 0


def _suite_run(args: argparse.Namespace, argv: Sequence[str], **extra: Any) -> Any:
    from fade_rl.experiments.runs.config import ConfigError
    from fade_rl.experiments.runs.run import check_log_folder
    from fade_rl.experiments.suite.manifest import load_suite
    from fade_rl.experiments.suite.phases import SuiteRun

    if args.workers < 1:
        raise ConfigError(f"--workers: must be >= 1, got {args.workers}")
    folder = args.log_folder or f"runs/suite_{args.tier}"
    check_log_folder(folder)
    settings = [s for s in (args.settings or "").split(",") if s]
    return SuiteRun(
        load_suite(args.manifest),
        args.tier,
        Path(folder),
        settings=settings or None,
        workers=args.workers,
        progress=not args.no_progress,
        command=["fade-rl", *argv],
        **extra,
    )


def _run_counts(results: Sequence[Any]) -> str:
    """``N runs: C completed, S skipped (already complete), F failed``."""
    counts = {s: sum(r.status == s for r in results) for s in ("completed", "skipped", "failed")}
    return (
        f"{len(results)} runs: {counts['completed']} completed, {counts['skipped']} skipped "
        f"(already complete), {counts['failed']} failed"
    )


def _shard(text: str | None) -> tuple[int, int] | None:
    from fade_rl.experiments.runs.config import ConfigError

    if text is None:
        return None
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise ConfigError(f"--shard: expected K/N (e.g. 0/2), got {text!r}") from None
    return k, n


def _cmd_suite(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from fade_rl.experiments.suite.phases import REPORT, RUN_PHASES

    run = _suite_run(
        args,
        argv,
        methods=_methods(args.methods) if args.methods else None,
        backend=args.backend,
        address=args.address,
        restart=args.restart,
        shard=_shard(args.shard),
    )
    results = run.run([p for p in RUN_PHASES if not args.phase or p in args.phase])
    if not args.phase or REPORT in args.phase:
        import time

        from fade_rl.experiments.reports.suite import make_suite_report

        started = time.time()
        make_suite_report(run.folder)
        results[REPORT] = []
        run.record_time(REPORT, started, [])
    for phase, phase_results in results.items():
        if phase != "report":
            print(f"{phase}: {_run_counts(phase_results)}")
    failed = [r for rs in results.values() for r in rs if r.status == "failed"]
    for r in failed:
        print(f"  FAILED {r.label}: {r.error}")
    if "report" in results:
        print(f"report: {run.folder / 'report' / 'report.md'}")
    return 1 if failed else 0


def _cmd_references(args: argparse.Namespace, argv: Sequence[str]) -> int:
    run = _suite_run(args, argv)
    results = run.run(["references"])
    failed = [r for r in results["references"] if r.status == "failed"]
    for r in failed:
        print(f"  FAILED {r.label}: {r.error}")
    print(f"references: {run.folder / 'references'}")
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code.

    0 ok; 1 a run failed or could not start (its folder is in use, holds another config or
    only unusable checkpoints, training went NaN); 2 bad config or usage (nothing written);
    130 interrupted.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    from fade_rl.experiments.runs.config import ConfigError
    from fade_rl.experiments.runs.folder import RunError

    try:
        if args.command == "envs":
            return _cmd_envs(args)
        if args.command == "train":
            return _cmd_train(args, argv)
        if args.command == "compare":
            return _cmd_compare(args, argv)
        if args.command == "sweep":
            return _cmd_sweep(args, argv)
        if args.command == "suite":
            return _cmd_suite(args, argv)
        if args.command == "references":
            return _cmd_references(args, argv)
        return _cmd_report(args)
    except ConfigError as exc:
        return _fail(str(exc))
    except FileNotFoundError as exc:
        return _fail(str(exc).splitlines()[0] if str(exc) else repr(exc))
    except RunError as exc:
        return _fail(str(exc), 1)
    except KeyboardInterrupt:
        return _fail("interrupted; rerun the same command to resume", 130)


if __name__ == "__main__":
    sys.exit(main())
