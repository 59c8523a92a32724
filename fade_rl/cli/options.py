"""The options that several ``fade-rl`` commands share, each defined once, and their parsing.

Choices come from where the names live: ``--algo`` from the config's algorithm table
(:data:`~fade_rl.experiments.runs.config.ALGOS`), ``--methods`` from the method registry,
``--backend`` from the sweeps wing (:data:`~fade_rl.experiments.sweeps.BACKENDS`) and
``--tier`` from the suite manifest (:data:`~fade_rl.experiments.suite.manifest.TIERS`).

Example:
    >>> import argparse
    >>> parser = argparse.ArgumentParser()
    >>> add_run_options(parser.add_argument_group("runs"), methods="fade,none")
    >>> args = parser.parse_args(["--workers", "2", "--seeds", "2", "--seed", "5"])
    >>> args.workers, parse_methods(args.methods), seeds(args)
    (2, ['fade', 'none'], [5, 6])
"""

from __future__ import annotations

import argparse
from typing import Any

from fade_rl.experiments.runs.config import ALGOS, METHOD_HELP, METHODS, ConfigError
from fade_rl.experiments.suite.manifest import TIERS
from fade_rl.experiments.sweeps import BACKENDS
from fade_rl.methods import DEFAULT_COMPARISON

__all__ = [
    "METHODS_HELP",
    "add_backend",
    "add_log_folder",
    "add_methods",
    "add_no_progress",
    "add_restart",
    "add_run_options",
    "add_setting_options",
    "add_suite_options",
    "add_workers",
    "parse_methods",
    "parse_shard",
    "seeds",
    "setting_flags",
]

#: Every method with its one-line help, for the help texts.
METHODS_HELP = ", ".join(f"{m} ({text})" for m, text in METHOD_HELP.items())

Group = argparse.ArgumentParser | argparse._ArgumentGroup


# ---------------------------------------------------------------------------- one option each
def add_workers(g: Group) -> None:
    """``--workers W``: runs at once."""
    g.add_argument("--workers", type=int, default=1, metavar="W", help="runs at once (default 1)")


def add_restart(g: Group) -> None:
    """``--restart``: discard what the run folders hold."""
    g.add_argument(
        "--restart",
        action="store_true",
        help="discard what every run folder holds (a finished run, another config, "
        "checkpoints) and start afresh; without it nothing is ever deleted",
    )


def add_no_progress(g: Group) -> None:
    """``--no-progress``."""
    g.add_argument("--no-progress", action="store_true", help="no progress bar")


def add_backend(g: Group) -> None:
    """``--backend`` and ``--address``: where a sweep's runs go (one of :data:`BACKENDS`)."""
    g.add_argument(
        "--backend",
        choices=list(BACKENDS),
        default=BACKENDS[0],
        help="local: a process per run; ray: a Ray task per run (default local)",
    )
    g.add_argument(
        "--address",
        metavar="ADDR",
        help="Ray cluster address (auto, host:port, ray://host:10001; with --backend ray); "
        "default: start a local Ray",
    )


def add_log_folder(g: Group, suite: bool = False) -> None:
    """``-f/--log-folder DIR``: the root of the run folders, or the suite folder."""
    g.add_argument(
        "-f",
        "--log-folder",
        default=None if suite else "runs",
        metavar="DIR",
        help="the suite folder (default: runs/suite_<tier>)"
        if suite
        else "root of the run folders (default: runs/)",
    )


def add_methods(g: Group, default: str | None) -> None:
    """``--methods A,B``: comma-separated methods of the registry."""
    shown = default if default is not None else "every method"
    g.add_argument(
        "--methods",
        default=default,
        metavar="A,B",
        help=f"comma-separated methods (default: {shown}); {METHODS_HELP}",
    )


# ---------------------------------------------------------------------------- option sets
def add_setting_options(p: argparse.ArgumentParser, many_configs: bool = False) -> None:
    """What a setting is made of: ``--config``, ``--env``, ``--algo``, ``-n``, ``-p``, ``-f``..."""
    g = p.add_argument_group("setting")
    g.add_argument(
        "--config",
        "-c",
        action="append" if many_configs else "store",
        metavar="FILE",
        help="YAML config (repeat for several settings)"
        if many_configs
        else "YAML config (see configs/)",
    )
    g.add_argument(
        "--env", metavar="ID", help="environment id (overrides env.id); see `fade-rl envs`"
    )
    g.add_argument("--algo", choices=list(ALGOS), help="algorithm (overrides algo.name)")
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
    add_log_folder(g)


def add_run_options(g: Group, methods: str | None = ",".join(DEFAULT_COMPARISON)) -> None:
    """Many runs: ``--methods``, ``--seeds``, ``--seed``, and how they run."""
    add_methods(g, methods)
    g.add_argument("--seeds", type=int, default=3, metavar="N", help="seeds per method (default 3)")
    g.add_argument("--seed", type=int, default=0, metavar="S", help="first seed (default 0)")
    add_workers(g)
    add_backend(g)
    add_restart(g)
    add_no_progress(g)


def add_suite_options(p: argparse.ArgumentParser) -> None:
    """Which part of the suite, and where: ``--tier``, ``--settings``, ``--manifest``, ``-f``."""
    p.add_argument("--tier", choices=list(TIERS), default="standard", help="suite tier")
    p.add_argument("--settings", metavar="A,B", help="settings of the tier (default: all)")
    p.add_argument(
        "--manifest",
        default="configs/suite/suite.yaml",
        metavar="FILE",
        help="the suite manifest (default: configs/suite/suite.yaml)",
    )
    add_log_folder(p, suite=True)


# ---------------------------------------------------------------------------- parsing
def parse_methods(text: str) -> list[str]:
    """``"fade, none"`` -> ``["fade", "none"]``; :class:`ConfigError` on an unknown method."""
    methods = [m.strip() for m in text.split(",") if m.strip()]
    for m in methods:
        if m not in METHODS:
            raise ConfigError(f"--methods: unknown method {m!r}; use {', '.join(METHODS)}")
    if not methods:
        raise ConfigError("--methods: give at least one method")
    repeated = sorted({m for m in methods if methods.count(m) > 1})
    if repeated:
        raise ConfigError(f"--methods: {', '.join(repeated)} given twice; name each method once")
    return methods


#: Every number a user passes on the command line, with the range it must lie in: an
#: absurd count would make millions of jobs or crash a library instead of a clear error.
BOUNDS: dict[str, tuple[int, int]] = {
    "workers": (1, 1024),
    "seeds": (1, 10_000),
    "seed": (0, 2**31 - 1),
    "n_timesteps": (1, 10**12),
    "reps": (1, 1_000_000),
}


def check_bounds(args: argparse.Namespace) -> None:
    """:class:`ConfigError` for any option of :data:`BOUNDS` outside its range.

    Example:
        >>> check_bounds(argparse.Namespace(seeds=10**9, workers=1))
        Traceback (most recent call last):
        ...
        fade_rl.experiments.runs.checks.ConfigError: --seeds: must be in [1, 10000], got 1000000000
    """
    for name, (low, high) in BOUNDS.items():
        value = getattr(args, name, None)
        if value is not None and not low <= value <= high:
            flag = "--" + name.replace("_", "-")
            raise ConfigError(f"{flag}: must be in [{low}, {high}], got {value}")


def seeds(args: argparse.Namespace) -> list[int]:
    """``--seeds N`` seeds from ``--seed S``: ``[S, ..., S + N - 1]`` (both already in their
    :data:`BOUNDS`: ``main`` checks every bounded option before a command runs)."""
    return list(range(args.seed, args.seed + args.seeds))


def setting_flags(args: argparse.Namespace) -> dict[str, Any]:
    """The setting flags as :func:`~fade_rl.experiments.runs.config.load_config` takes them."""
    return {
        "env": args.env,
        "algo": args.algo,
        "n_timesteps": args.n_timesteps,
        "device": args.device,
        "name": args.name,
    }


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """``"0/2"`` -> ``(0, 2)``; ``None`` stays ``None``."""
    if text is None:
        return None
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise ConfigError(f"--shard: expected K/N (e.g. 0/2), got {text!r}") from None
    if not 0 <= k < n <= BOUNDS["workers"][1]:
        raise ConfigError(f"--shard: expected 0 <= K < N <= {BOUNDS['workers'][1]}, got {text!r}")
    return k, n
