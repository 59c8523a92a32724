"""The ``fade-rl`` parser (one module per command, in :data:`COMMANDS`) and its exit codes.

Flags follow rl-baselines3-zoo where they fit (``--algo``, ``--env``, ``-n``, ``--seed``,
``-f``, ``-p``). A bad config or flag is one line on stderr and exit code 2; a failed run
is exit code 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from fade_rl.cli import compare, envs, references, report, suite, sweep, train

__all__ = ["COMMANDS", "build_parser", "main"]

#: The command modules, in the order of the help text. Each is named after its command and
#: has ``HELP`` and ``DESCRIPTION`` (its texts), ``add(parser)`` (its options) and ``run``.
COMMANDS = (train, compare, sweep, report, suite, references, envs)

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
    for command in COMMANDS:
        name = command.__name__.rpartition(".")[2]
        p = sub.add_parser(name, help=command.HELP, description=command.DESCRIPTION)
        command.add(p)
        p.set_defaults(run=command.run)
    return parser


def _fail(message: str, code: int = 2) -> int:
    print(f"fade-rl: error: {message}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code.

    0 ok; 1 a run failed or could not start (its folder is in use, holds another config or
    only unusable checkpoints, training went NaN); 2 bad config or usage (nothing written);
    130 interrupted.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    from fade_rl.cli.options import check_bounds
    from fade_rl.experiments.runs.config import ConfigError
    from fade_rl.experiments.runs.folder import RunError

    try:
        check_bounds(args)
        code: int = args.run(args, argv)
        return code
    except ConfigError as exc:
        return _fail(str(exc))
    except FileNotFoundError as exc:
        return _fail(str(exc).splitlines()[0] if str(exc) else repr(exc))
    except RunError as exc:
        return _fail(str(exc), 1)
    except KeyboardInterrupt:
        return _fail("interrupted; rerun the same command to resume", 130)
