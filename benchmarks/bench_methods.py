"""Cost of one gradient step under each method, against ``none``, on DQN and SAC (CPU).

Every method is set up on its own model (SB3 defaults, ``MlpPolicy``) with the
replay buffer filled by random transitions; the per-step methods attach their
hooks exactly as their callbacks do at training start (``fade`` is FadeDQN /
FadeSAC). ``train(gradient_steps=n)`` is then timed in alternating rounds
(none, wd, l2init, ...) so that all see the same machine load (CPU time of the
thread, see :mod:`benchmarks.bench_agents`). Reported: the median time per
gradient step over the rounds; ``ratio``, the median over rounds of the
method's time divided by ``none``'s time in the same round (load that drifts
between rounds cancels), with its quartiles; ``best``, the ratio of the fastest
rounds (the least disturbed); and on DQN, PASS or FAIL against the targets of
:data:`TARGETS` (every method at most 1.10, TRAC at most 1.15).

Run: ``python -m benchmarks.bench_methods`` (options: ``--steps``, ``--rounds``, ``--threads``).
"""

from __future__ import annotations

import argparse
import platform
import statistics
from collections.abc import Callable, Sequence
from typing import Any

import torch as th
from stable_baselines3 import DQN, SAC

from benchmarks.bench_agents import _ready, interleaved_rounds, round_ratios, verdict
from fade_rl import FadeDQN, FadeSAC
from fade_rl.algos import optimizers_of
from fade_rl.methods import (
    TRAC,
    ContinualBackprop,
    add_l2_init,
    add_weight_decay,
    inject_plasticity,
)

# method -> (uses the FADE algorithm, what to do to a ready model)
METHODS: dict[str, tuple[bool, Callable[[Any], Any]]] = {
    "none": (False, lambda model: None),
    "wd": (False, lambda model: add_weight_decay(model, 1e-4, target="critic")),
    "l2init": (False, lambda model: add_l2_init(model, 1e-4, target="critic")),
    "cbp": (False, lambda model: ContinualBackprop(model)),
    "trac": (False, lambda model: TRAC(optimizers_of(model)[0])),
    "injection": (False, inject_plasticity),
    "fade": (True, lambda model: None),
}

ALGORITHMS = (("DQN", DQN, FadeDQN, "CartPole-v1"), ("SAC", SAC, FadeSAC, "Pendulum-v1"))

#: Highest median ratio to ``none`` per gradient step on DQN, by method (issue 20).
TARGETS = {method: 1.15 if method == "trac" else 1.10 for method in METHODS if method != "none"}


def bench_algorithm(
    vanilla: type, fade: type, env_id: str, steps: int, rounds: int
) -> dict[str, list[float]]:
    """Seconds per gradient step of each method, per round."""
    models = {}
    for name, (uses_fade, setup) in METHODS.items():
        model = _ready(fade if uses_fade else vanilla, env_id, 0)
        model._bench_keep = setup(model)  # keep hook owners alive
        models[name] = model
    return interleaved_rounds(models, steps, rounds)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100, help="gradient steps per timed round")
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds per method")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument(
        "--algos", default="DQN,SAC", help="comma-separated algorithms to run (DQN, SAC)"
    )
    args = parser.parse_args(argv)
    chosen = [a for a in ALGORITHMS if a[0] in args.algos.upper().split(",")]
    th.set_num_threads(args.threads)
    print(
        f"torch {th.__version__}, {platform.processor() or platform.machine()}, "
        f"{args.threads} thread(s), {args.rounds} rounds x {args.steps} gradient steps"
    )
    results = {
        name: bench_algorithm(vanilla, fade, env_id, args.steps, args.rounds)
        for name, vanilla, fade, env_id in chosen
    }
    header = f"{'method':<11}"
    for name, *_ in chosen:
        header += f"{name + ' ms/step':>14}{'ratio':>7}{'quartiles':>13}{'best':>7}"
    print(header + ("  DQN target" if "DQN" in results else ""))
    for method in METHODS:
        row = f"{method:<11}"
        for name, *_ in chosen:
            times, base = results[name][method], results[name]["none"]
            ratio, q1, q3 = round_ratios(times, base)
            row += (
                f"{1e3 * statistics.median(times):>14.3f}{ratio:>7.3f}"
                f"{q1:>7.3f}-{q3:.3f}{min(times) / min(base):>7.3f}"
            )
        if "DQN" in results and method in TARGETS:
            ratio = round_ratios(results["DQN"][method], results["DQN"]["none"])[0]
            row += f"  {TARGETS[method]:.2f} {verdict(ratio, TARGETS[method])}"
        print(row, flush=True)


if __name__ == "__main__":
    main()
