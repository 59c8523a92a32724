"""Steps per second of CartPole under each fade_rl shift wrapper against the bare env.

Every variant is ``gym.make("CartPole-v1")`` (TimeLimit, order and passive checkers
included, as users get it) with one shift wrapper on top whose schedule changes every
1,000 steps, so the cost of shifting is measured too. Variants are timed in interleaved
rounds in one process on the same pre-drawn actions; the ratio is the median time per step
of the variant over the bare env timed next to it (target: at most 1.15); see ``run``.

    python -m benchmarks.bench_envs [--steps 10000] [--rounds 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable

import gymnasium as gym
import numpy as np

from fade_rl.envs import ActionShift, DynamicsShift, ObservationShift, RewardShift

TARGET = 1.15
PERIOD = 1_000
BARE = "bare CartPole-v1"


def _periodic(values: list[float]) -> dict:
    return {"type": "periodic", "values": values, "period": PERIOD}


VARIANTS: dict[str, Callable[[], gym.Env]] = {
    BARE: lambda: gym.make("CartPole-v1"),
    "RewardShift(sign)": lambda: RewardShift(gym.make("CartPole-v1"), sign=_periodic([1, -1])),
    "DynamicsShift(length, masspole)": lambda: DynamicsShift(
        gym.make("CartPole-v1"),
        {"length": _periodic([0.5, 1.5]), "masspole": _periodic([0.1, 0.5])},
    ),
    "ObservationShift(permute)": lambda: ObservationShift(
        gym.make("CartPole-v1"), permute_every=PERIOD
    ),
    "ActionShift(permute)": lambda: ActionShift(gym.make("CartPole-v1"), permute_every=PERIOD),
}


def _time_per_step(env: gym.Env, actions: list[int]) -> float:
    step, reset = env.step, env.reset
    start = time.process_time()
    for a in actions:
        _, _, terminated, truncated, _ = step(a)
        if terminated or truncated:
            reset()
    return (time.process_time() - start) / len(actions)


def run(steps: int, rounds: int) -> tuple[dict[str, float], dict[str, list[float]]]:
    """Median seconds per step of every variant, and its time ratios to the bare env.

    Each round times the bare env before and after every variant (bare, A, bare, B, bare,
    ...); a variant's ratio in a round is its time over the mean of its two neighbouring
    bare timings, so slow drifts in machine load cancel. Returns the median time per
    step over rounds and every round's ratio.
    """
    actions = np.random.default_rng(0).integers(0, 2, steps).tolist()
    envs = {name: make() for name, make in VARIANTS.items()}
    for env in envs.values():
        env.reset(seed=0)
        _time_per_step(env, actions[:2000])  # warm up
    bare_env = envs.pop(BARE)
    times: dict[str, list[float]] = {name: [] for name in [BARE, *envs]}
    ratios: dict[str, list[float]] = {name: [] for name in envs}
    for _ in range(rounds):
        before = _time_per_step(bare_env, actions)
        times[BARE].append(before)
        for name, env in envs.items():
            seconds = _time_per_step(env, actions)
            after = _time_per_step(bare_env, actions)
            times[name].append(seconds)
            times[BARE].append(after)
            ratios[name].append(seconds / (0.5 * (before + after)))
            before = after
    medians = {name: statistics.median(t) for name, t in times.items()}
    return medians, {BARE: [1.0] * rounds, **ratios}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10_000, help="steps per round and variant")
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds")
    args = parser.parse_args(argv)
    medians, ratios = run(args.steps, args.rounds)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{os.cpu_count()} CPUs, load average {load} (CPU time per step is measured)")
    print(
        f"python {sys.version.split()[0]}, gymnasium {gym.__version__}, "
        f"{args.steps} steps x {args.rounds} rounds, medians over rounds"
    )
    print(f"{'variant':34s} {'steps/s':>10s} {'us/step':>8s} {'time ratio':>10s}  quartiles")
    worst = 0.0
    for name, seconds in medians.items():
        q1, ratio, q3 = statistics.quantiles(ratios[name], n=4)
        worst = max(worst, ratio)
        print(
            f"{name:34s} {1 / seconds:10,.0f} {seconds * 1e6:8.2f} {ratio:10.3f}  {q1:.3f}-{q3:.3f}"
        )
    verdict = "within" if worst <= TARGET else "ABOVE"
    print(f"worst median ratio {worst:.3f}: {verdict} the {TARGET:.2f}x target")


if __name__ == "__main__":
    main(sys.argv[1:])
