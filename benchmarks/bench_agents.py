"""Cost of one gradient step: FadeDQN against DQN, FadeSAC against SAC (default architectures, CPU).

Each pair is built with SB3's default hyperparameters and policy, the replay
buffer is filled with random transitions, and ``train(gradient_steps=n)`` is
timed in alternating rounds (vanilla, FADE, vanilla, ...) so that both see the
same machine load. On the CPU the time is the thread's CPU time (a step is not
charged for the time other processes hold the core); on a GPU, wall time after a
synchronize. Reported: the median time per gradient step over the rounds, the
median over rounds of FADE's time divided by vanilla's in the same round, its
quartiles (the spread), and PASS or FAIL against the target (:data:`TARGET`).

Run: ``python -m benchmarks.bench_agents`` (options: ``--steps``, ``--rounds``, ``--threads``).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Sequence
from typing import Any

import torch as th
from stable_baselines3 import DQN, SAC
from stable_baselines3.common.logger import configure

from fade_rl import FadeDQN, FadeSAC

PAIRS = (("DQN", DQN, FadeDQN, "CartPole-v1"), ("SAC", SAC, FadeSAC, "Pendulum-v1"))

#: Highest median ratio FADE/vanilla per gradient step on the CPU (issue 20).
TARGET = 1.05


def verdict(ratio: float, target: float) -> str:
    """``PASS`` when ``ratio`` is within ``target``, else ``FAIL``."""
    return "PASS" if ratio <= target else "FAIL"


def round_ratios(times: list[float], base: list[float]) -> tuple[float, float, float]:
    """Median and quartiles of the per-round ratios ``times[i] / base[i]``."""
    ratios = sorted(t / b for t, b in zip(times, base, strict=True))
    if len(ratios) < 2:
        return ratios[0], ratios[0], ratios[0]
    low, median, high = statistics.quantiles(ratios, n=4, method="inclusive")
    return median, low, high


def _ready(algorithm: type, env_id: str, seed: int, device: str = "cpu") -> Any:
    model = algorithm("MlpPolicy", env_id, seed=seed, device=device)
    model.learning_starts = 10**9  # collect only: every action random, no training
    model.learn(2_000)
    model.set_logger(configure(None, [""]))
    return model


def _time_train(model: Any, steps: int) -> float:
    cuda = model.device.type == "cuda"
    clock = time.perf_counter if cuda else time.thread_time
    if cuda:
        th.cuda.synchronize()
    start = clock()
    model.train(gradient_steps=steps, batch_size=model.batch_size)
    if cuda:
        th.cuda.synchronize()
    return (clock() - start) / steps


def interleaved_rounds(models: dict[str, Any], steps: int, rounds: int) -> dict[str, list[float]]:
    """Seconds per gradient step of each model, per round, the models alternating in each round
    (so load that comes and goes hits all of them), after a short warm-up."""
    for model in models.values():  # warm-up (allocations, lazy optimizer state)
        _time_train(model, max(steps // 4, 1))
    times: dict[str, list[float]] = {name: [] for name in models}
    for _ in range(rounds):
        for name, model in models.items():
            times[name].append(_time_train(model, steps))
    return times


def bench_pair(
    vanilla: type, fade: type, env_id: str, steps: int, rounds: int, device: str = "cpu"
) -> dict[str, float]:
    """Median seconds per gradient step of both algorithms on ``device``, and their ratio.

    ``ratio`` is the median over rounds of FADE's time over vanilla's in the same round,
    ``ratio_q1`` and ``ratio_q3`` its quartiles, ``ratio_best`` the ratio of the fastest
    rounds (the least disturbed by other load on the machine).
    """
    models = {
        "vanilla": _ready(vanilla, env_id, 0, device),
        "fade": _ready(fade, env_id, 0, device),
    }
    times = interleaved_rounds(models, steps, rounds)
    result = {name: statistics.median(values) for name, values in times.items()}
    ratio, q1, q3 = round_ratios(times["fade"], times["vanilla"])
    result.update(ratio=ratio, ratio_q1=q1, ratio_q3=q3)
    result["ratio_best"] = min(times["fade"]) / min(times["vanilla"])
    return result


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100, help="gradient steps per timed round")
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds per algorithm")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = parser.parse_args(argv)
    th.set_num_threads(args.threads)
    print(
        f"torch {th.__version__}, {platform.processor() or platform.machine()}, "
        f"{args.threads} thread(s), {args.rounds} rounds x {args.steps} gradient steps"
    )
    print(
        f"{'pair':<16}{'vanilla ms/step':>17}{'FADE ms/step':>15}{'ratio':>8}{'quartiles':>14}"
        f"{'best':>7}  target {TARGET:.2f}"
    )
    for name, vanilla, fade, env_id in PAIRS:
        r = bench_pair(vanilla, fade, env_id, args.steps, args.rounds)
        print(
            f"{'Fade' + name + ' / ' + name:<16}{1e3 * r['vanilla']:>17.3f}"
            f"{1e3 * r['fade']:>15.3f}{r['ratio']:>8.3f}"
            f"{r['ratio_q1']:>8.3f}-{r['ratio_q3']:.3f}{r['ratio_best']:>7.3f}"
            f"  {verdict(r['ratio'], TARGET)}",
            flush=True,
        )


if __name__ == "__main__":
    main()
