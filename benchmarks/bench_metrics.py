"""PlasticityCallback's cost at its default settings, as a share of training time, side by side.

Two copies of the same agent (same seed, same environment) are trained in alternating
chunks in one process: one with ``PlasticityCallback()`` (default interval, histograms,
probes and memory probe; TensorBoard output to a temporary directory), one without any
callback (TensorBoard output too). The callback leaves training bit-identical, so both do
the same training work; the difference in time is the callback's. Alternating chunks
means a load that comes and goes on a shared machine hits both alike. Times are wall clock
and process CPU time (one torch thread); the callback's own measured time
(``callback.time_spent``) is reported beside them.

    python -m benchmarks.bench_metrics                         # DQN and SAC, default sizes
    python -m benchmarks.bench_metrics --algos dqn --steps 50000 --chunk 5000
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import DQN, SAC
from stable_baselines3.common.logger import configure

import fade_rl.envs  # noqa: F401  (registers the fade_rl/... ids)
from fade_rl.metrics import PlasticityCallback

#: algorithm -> (env id, SB3 class, constructor keywords, default steps, default chunk)
SETUPS: dict[str, tuple[str, Any, dict[str, Any], int, int]] = {
    "dqn": (
        "fade_rl/CartPole-RewardFlip-v0",
        DQN,
        dict(learning_starts=1000, exploration_fraction=0.2),
        50_000,
        5_000,
    ),
    "sac": ("fade_rl/Pendulum-Dynamics-v0", SAC, dict(learning_starts=1000), 26_000, 2_000),
}


@dataclass
class Totals:
    wall: float = 0.0
    cpu: float = 0.0
    chunks: list[float] = field(default_factory=list)
    rng: Any = None


def _model(algo: str, log_dir: str, seed: int) -> Any:
    env_id, cls, kwargs, _, _ = SETUPS[algo]
    model = cls("MlpPolicy", gym.make(env_id), seed=seed, verbose=0, **kwargs)
    model.set_logger(configure(log_dir, ["tensorboard"]))
    return model


def _rng_state() -> tuple[Any, Any, Any]:
    return random.getstate(), np.random.get_state(), torch.get_rng_state()


def _set_rng_state(state: tuple[Any, Any, Any]) -> None:
    random.setstate(state[0])
    np.random.set_state(state[1])
    torch.set_rng_state(state[2])


def _learn(model: Any, steps: int, callback: Any, totals: Totals) -> None:
    # each copy keeps its own global random streams, as if it trained alone
    _set_rng_state(totals.rng)
    wall, cpu = time.perf_counter(), time.process_time()
    model.learn(steps, callback=callback, reset_num_timesteps=False)
    totals.chunks.append(time.perf_counter() - wall)
    totals.wall += time.perf_counter() - wall
    totals.cpu += time.process_time() - cpu
    totals.rng = _rng_state()


def run(algo: str, steps: int, chunk: int, seed: int = 0) -> dict[str, float]:
    """Train with and without the callback in alternating chunks; return the timings."""
    with tempfile.TemporaryDirectory() as tmp:
        t_plain, t_measured = Totals(), Totals()
        plain = _model(algo, f"{tmp}/plain", seed)
        t_plain.rng = _rng_state()
        measured = _model(algo, f"{tmp}/measured", seed)
        t_measured.rng = _rng_state()
        callback = PlasticityCallback()
        done = 0
        while done < steps:
            n = min(chunk, steps - done)
            # alternate which goes first, so neither always runs on a warmer cache
            order = [(plain, None, t_plain), (measured, callback, t_measured)]
            if (done // chunk) % 2:
                order.reverse()
            for model, cb, totals in order:
                _learn(model, n, cb, totals)
            done += n
        same = all(
            torch.equal(a, b)
            for a, b in zip(plain.policy.parameters(), measured.policy.parameters(), strict=True)
        )
        counts = {
            "measurements": sum(1 for _, v in callback.history if "plasticity/critic_loss" in v),
            "probes": sum(
                1 for _, v in callback.history if any(k.endswith("/probe/fit_ratio") for k in v)
            ),
        }
    return {
        "steps": steps,
        "plain_wall": t_plain.wall,
        "measured_wall": t_measured.wall,
        "plain_cpu": t_plain.cpu,
        "measured_cpu": t_measured.cpu,
        "callback_time": callback.time_spent,
        "identical": float(same),
        **counts,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--algos", default="dqn,sac", help="comma-separated: dqn, sac")
    parser.add_argument("--steps", type=int, default=None, help="steps per agent")
    parser.add_argument("--chunk", type=int, default=None, help="steps per alternating chunk")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    defaults = PlasticityCallback()
    print(
        f"torch {torch.__version__}, 1 thread, CPU; PlasticityCallback defaults: interval "
        f"{defaults.interval}, batch {defaults.batch_size}, histograms every "
        f"{defaults.histogram_interval}, probe every {defaults.probe_interval} "
        f"({defaults.probe_steps} steps on {defaults.probe_batch_size} states), memory probe on"
    )
    header = (
        f"{'agent':<26} {'steps':>6} {'plain s':>8} {'with cb s':>9} {'wall +%':>8} "
        f"{'cpu +%':>7} {'cb own %':>8} {'meas.':>5} {'probes':>6} {'same':>5}"
    )
    print(header)
    for algo in args.algos.split(","):
        algo = algo.strip()
        if algo not in SETUPS:
            raise SystemExit(f"unknown algo {algo!r}; choose from {', '.join(SETUPS)}")
        env_id, cls, _, steps, chunk = SETUPS[algo]
        r = run(algo, args.steps or steps, args.chunk or chunk)
        wall = 100 * (r["measured_wall"] / r["plain_wall"] - 1)
        cpu = 100 * (r["measured_cpu"] / r["plain_cpu"] - 1)
        own = 100 * r["callback_time"] / r["measured_wall"]
        name = f"{cls.__name__} {env_id.split('/')[-1]}"
        print(
            f"{name:<26} {r['steps']:>6} {r['plain_wall']:>8.1f} {r['measured_wall']:>9.1f} "
            f"{wall:>+7.1f}% {cpu:>+6.1f}% {own:>7.1f}% {r['measurements']:>5} "
            f"{r['probes']:>6} {'yes' if r['identical'] else 'NO':>5}",
            flush=True,
        )


if __name__ == "__main__":
    main()
