"""The switching FrozenLake of "Primacy bias and why it helps to forget" (ICLR 2024 blog).

The blog (code: github.com/mkielo3/iclr-blog2024-primacy-bias, notebook
``FrozenLake-PrimacyBias-DQN.ipynb``) trains a greedy DQN for 1000 episodes
("crossings") on a 2x2 lake whose goal route flips from down-right to right-down after
200 crossings, and finds that resetting the network periodically makes the agent take
the new route sooner. Here the lake is ``fade_rl/FrozenLake-SwitchingGoal-v0`` and the
agent is SB3's DQN with the blog's hyperparameters:

- Q network 4 -> 256 -> 64 -> 4 (ReLU), Adam, lr 0.01, batch 16, buffer 2000,
  gamma 1, target network copied after every environment step (tau 1), no exploration
  (greedy actions, epsilon 0), learning from crossing 16 on (~32 steps), a time limit of
  2 steps that ends the episode (stored as done: ``handle_timeout_termination=False``),
  ``replay_ratio`` gradient steps per environment step (the blog's example run: 4).
- Resets: fade_rl's :class:`~fade_rl.methods.ResetCallback` on the whole critic
  (online and target network, optimizer state) every ``reset_every`` environment steps;
  the blog counts its reset period in crossings (10 to 500), and a crossing is 1 or 2
  steps, so 200 steps is roughly 100 to 200 crossings.

Differences from the blog that SB3 imposes: SB3's loss is Huber (the blog: MSE), its
gradients are clipped at norm 10, and its Q network has no softmax on the output (the
blog's has one).

A run is scored by the crossing on which the agent first reaches the new goal after the
switch ("crossings after the switch", censored at the end of the run when it never does)
and by the share of successful crossings over the last 100.

    python -m benchmarks.paper.primacy_bias                       # 25 seeds, none/reset/fade
    python -m benchmarks.paper.primacy_bias --seeds 3 --crossings 600   # a quick look
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import asdict, dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import DQN
from stable_baselines3.common.callbacks import BaseCallback, CallbackList

import fade_rl.envs  # noqa: F401 - registers fade_rl/FrozenLake-SwitchingGoal-v0
from fade_rl.algos import FadeDQN
from fade_rl.methods import ResetCallback

ENV_ID = "fade_rl/FrozenLake-SwitchingGoal-v0"
SWITCH = 200  # the registered id's switch: crossing 200 is the first on the new map
METHODS = ("none", "reset", "fade")
# The blog's "about 500 (resets) against 800 (no resets)" crossings at lr 0.01, 25 seeds.
BLOG = {"reset": 500, "none": 800}


def dqn_kwargs(lr: float, replay_ratio: int, seed: int) -> dict[str, Any]:
    """SB3 DQN arguments that match the blog's agent (see the module docstring)."""
    return {
        "learning_rate": lr,
        "buffer_size": 2000,
        "learning_starts": 32,
        "batch_size": 16,
        "gamma": 1.0,
        "tau": 1.0,
        "train_freq": 1,
        "gradient_steps": replay_ratio,
        "target_update_interval": 1,
        "exploration_fraction": 0.01,
        "exploration_initial_eps": 0.0,
        "exploration_final_eps": 0.0,
        "replay_buffer_kwargs": {"handle_timeout_termination": False},
        "policy_kwargs": {"net_arch": [256, 64]},
        "seed": seed,
        "device": "cpu",
        "verbose": 0,
    }


class CrossingLog(BaseCallback):
    """Record each finished crossing's reward and map; stop after ``crossings`` of them."""

    def __init__(self, crossings: int) -> None:
        super().__init__()
        self.crossings = crossings
        self.rewards: list[float] = []
        self.maps: list[int] = []

    def _on_step(self) -> bool:
        for done, reward, info in zip(
            self.locals["dones"], self.locals["rewards"], self.locals["infos"], strict=True
        ):
            if done:
                self.rewards.append(float(reward))
                self.maps.append(int(info["shift_values"]["lake.map"]))
        return len(self.rewards) < self.crossings


@dataclass
class Trial:
    """One run: per-crossing rewards and the scores read from them."""

    method: str
    seed: int
    crossings_to_new_route: int  # crossings after the switch up to the first success
    found_new_route: bool  # False: censored at the end of the run
    final_success: float  # share of successes over the last 100 crossings
    pre_switch_success: float  # share of successes over the 100 crossings before the switch
    n_resets: int
    seconds: float


def score(rewards: list[float], maps: list[int], method: str, seed: int) -> Trial:
    """Read a run's crossings: when it first reached the new goal, how it ended."""
    switch = maps.index(1) if 1 in maps else len(maps)
    after = rewards[switch:]
    hits = [k for k, r in enumerate(after) if r > 0]
    return Trial(
        method=method,
        seed=seed,
        crossings_to_new_route=hits[0] + 1 if hits else len(after),
        found_new_route=bool(hits),
        final_success=float(np.mean(rewards[-100:])),
        pre_switch_success=float(np.mean(rewards[max(0, switch - 100) : switch])),
        n_resets=0,
        seconds=0.0,
    )


def run(
    method: str,
    seed: int,
    crossings: int = 1000,
    lr: float = 0.01,
    replay_ratio: int = 4,
    reset_every: int = 200,
    fade_kwargs: dict[str, float] | None = None,
) -> Trial:
    """Train one agent for ``crossings`` crossings and score it."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; use one of {list(METHODS)}")
    if crossings <= SWITCH:
        raise ValueError(f"crossings must exceed the switch at crossing {SWITCH}, got {crossings}")
    torch.set_num_threads(1)
    start = time.perf_counter()
    env = gym.make(ENV_ID)
    kwargs = dqn_kwargs(lr, replay_ratio, seed)
    if method == "fade":
        model: DQN = FadeDQN(
            "MlpPolicy", env, fade_kwargs=fade_kwargs or {"meta_lr": 1.0}, **kwargs
        )
    else:
        model = DQN("MlpPolicy", env, **kwargs)
    log = CrossingLog(crossings)
    callbacks: list[BaseCallback] = [log]
    reset = ResetCallback(target="critic", every=reset_every) if method == "reset" else None
    if reset is not None:
        callbacks.append(reset)
    # Two steps per crossing at most: the log stops the run after ``crossings`` of them.
    model.learn(total_timesteps=2 * crossings, callback=CallbackList(callbacks))
    env.close()
    trial = score(log.rewards, log.maps, method, seed)
    trial.n_resets = reset.n_resets if reset is not None else 0
    trial.seconds = time.perf_counter() - start
    return trial


def summarize(trials: list[Trial]) -> list[dict[str, Any]]:
    """One row per method: mean, median and standard error of crossings to the new route."""
    rows = []
    for method in dict.fromkeys(t.method for t in trials):
        mine = [t for t in trials if t.method == method]
        counts = [t.crossings_to_new_route for t in mine]
        sem = statistics.stdev(counts) / len(counts) ** 0.5 if len(counts) > 1 else float("nan")
        rows.append(
            {
                "method": method,
                "seeds": len(mine),
                "mean": statistics.fmean(counts),
                "sem": sem,
                "median": statistics.median(counts),
                "never": sum(not t.found_new_route for t in mine),
                "final_success": statistics.fmean(t.final_success for t in mine),
                "pre_switch_success": statistics.fmean(t.pre_switch_success for t in mine),
                "seconds": statistics.fmean(t.seconds for t in mine),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=25)
    parser.add_argument("--first-seed", type=int, default=0, help="run seeds first..first+n-1")
    parser.add_argument("--crossings", type=int, default=1000)
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--replay-ratio", type=int, default=4)
    parser.add_argument("--reset-every", type=int, default=200, help="environment steps")
    parser.add_argument("--fade-meta-lr", type=float, default=1.0)
    parser.add_argument("--json", help="write every trial and the table to this file")
    args = parser.parse_args()
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    bad = sorted(set(methods) - set(METHODS))
    if bad or args.seeds < 1 or args.first_seed < 0:
        parser.error(
            f"--methods takes {list(METHODS)} (got {bad}), --seeds >= 1, --first-seed >= 0"
        )
    trials = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        for method in methods:
            trial = run(
                method,
                seed,
                crossings=args.crossings,
                lr=args.lr,
                replay_ratio=args.replay_ratio,
                reset_every=args.reset_every,
                fade_kwargs={"meta_lr": args.fade_meta_lr},
            )
            trials.append(trial)
            print(
                f"seed {seed:2d} {method:5s} new route after {trial.crossings_to_new_route:4d} "
                f"crossings{'' if trial.found_new_route else ' (never)'}, "
                f"final success {trial.final_success:.2f}, {trial.seconds:.1f}s",
                flush=True,
            )
    rows = summarize(trials)
    print(
        "\n| method | seeds | crossings after the switch to the new route: mean +- s.e. "
        "| median | never | success, last 100 | success, 100 before switch |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['method']} | {r['seeds']} | {r['mean']:.0f} +- {r['sem']:.0f} | "
            f"{r['median']:.0f} | {r['never']} | {r['final_success']:.2f} | "
            f"{r['pre_switch_success']:.2f} |"
        )
    if args.json:
        with open(args.json, "w") as f:
            out = {"args": vars(args), "table": rows, "trials": [asdict(t) for t in trials]}
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
