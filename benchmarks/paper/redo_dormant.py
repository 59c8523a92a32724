"""ReDo lowers the dormant fraction of a DQN critic (Sokar et al. 2023, "The Dormant Neuron
Phenomenon in Deep Reinforcement Learning").

Plain SB3 DQN against the same DQN with fade_rl's
:class:`~fade_rl.methods.ReDoCallback` (tau 0.1, every ``redo_every`` steps), on
CartPole-v1 with rl-baselines3-zoo's DQN hyperparameters (Q network 4 -> 256 -> 256 -> 2,
lr 2.3e-3, batch 64, 128 gradient steps every 256 environment steps). Every ``every``
steps both runs measure the tau-dormant share of the Q network's hidden units on 512
replay samples with :func:`fade_rl.metrics.functional.dormant_ratio` (pooled over the
two hidden layers), before ReDo acts on that step, so a ReDo run is measured
``redo_every`` steps after its last recycling, never right after it.

    python -m benchmarks.paper.redo_dormant                      # 3 seeds, 30k steps
    python -m benchmarks.paper.redo_dormant --seeds 1 --steps 6000   # a quick look
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from stable_baselines3 import DQN
from stable_baselines3.common.callbacks import BaseCallback, CallbackList

from fade_rl.algos import critic_networks, run_critics
from fade_rl.methods import ReDoCallback
from fade_rl.metrics.functional import dormant_ratio

ENV_ID = "CartPole-v1"
METHODS = ("none", "redo")
TAUS = (0.0, 0.1)

# rl-baselines3-zoo's CartPole-v1 DQN (hyperparams/dqn.yml), without its 50k-step budget.
ZOO_CARTPOLE: dict[str, Any] = {
    "learning_rate": 2.3e-3,
    "batch_size": 64,
    "buffer_size": 100_000,
    "learning_starts": 1000,
    "gamma": 0.99,
    "target_update_interval": 10,
    "train_freq": 256,
    "gradient_steps": 128,
    "exploration_fraction": 0.16,
    "exploration_final_eps": 0.04,
    "policy_kwargs": {"net_arch": [256, 256]},
}


def dormant_fraction(model: DQN, tau: float, batch_size: int = 512) -> float:
    """Share of the Q network's hidden units that are tau-dormant on a replay batch.

    Units are pooled over the hidden layers (each layer's scores are relative to its own
    mean, as in Sokar et al.).
    """
    assert model.replay_buffer is not None
    data = model.replay_buffer.sample(batch_size)
    with torch.no_grad():
        passes = run_critics(critic_networks(model), data.observations, None)
    dormant = total = 0.0
    for record in passes.values():
        for acts in record.activations.values():
            units = acts.shape[1]
            dormant += float(dormant_ratio(acts, tau)) * units
            total += units
    return dormant / total


class DormantLog(BaseCallback):
    """Every ``every`` steps: the dormant fraction at each tau and the mean recent return."""

    def __init__(self, every: int, taus: tuple[float, ...] = TAUS) -> None:
        super().__init__()
        self.every = every
        self.taus = taus
        self.rows: list[dict[str, float]] = []

    def _on_step(self) -> bool:
        if self.num_timesteps % self.every == 0 and self.num_timesteps > 0:
            model: Any = self.model
            row = {"step": float(self.num_timesteps)}
            for tau in self.taus:
                row[f"tau{tau:g}"] = dormant_fraction(model, tau)
            episodes = list(model.ep_info_buffer)
            row["return"] = statistics.fmean(e["r"] for e in episodes) if episodes else 0.0
            self.rows.append(row)
        return True


@dataclass
class Trial:
    """One run: the dormant-fraction curve and its mean over the second half of training."""

    method: str
    seed: int
    curve: list[dict[str, float]] = field(default_factory=list)
    late: dict[str, float] = field(default_factory=dict)  # mean over the second half
    recycled: int = 0
    seconds: float = 0.0


def run(
    method: str,
    seed: int,
    steps: int = 30_000,
    every: int = 2000,
    tau: float = 0.1,
    redo_every: int = 1000,
) -> Trial:
    """Train one DQN (plain or with ReDo) and log its dormant fraction every ``every`` steps."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; use one of {list(METHODS)}")
    torch.set_num_threads(1)
    start = time.perf_counter()
    model = DQN("MlpPolicy", ENV_ID, seed=seed, device="cpu", verbose=0, **ZOO_CARTPOLE)
    log = DormantLog(every)
    callbacks: list[BaseCallback] = [log]  # first: it measures before ReDo acts
    redo = ReDoCallback(tau=tau, every=redo_every) if method == "redo" else None
    if redo is not None:
        callbacks.append(redo)
    model.learn(total_timesteps=steps, callback=CallbackList(callbacks))
    late_rows = [r for r in log.rows if r["step"] > steps / 2]
    late = {k: statistics.fmean(r[k] for r in late_rows) for k in late_rows[0] if k != "step"}
    return Trial(
        method=method,
        seed=seed,
        curve=log.rows,
        late=late,
        recycled=redo.n_recycled if redo is not None else 0,
        seconds=time.perf_counter() - start,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=30_000)
    parser.add_argument("--every", type=int, default=2000, help="measure every N steps")
    parser.add_argument("--tau", type=float, default=0.1, help="ReDo's threshold")
    parser.add_argument("--redo-every", type=int, default=1000)
    parser.add_argument("--json", help="write every trial to this file")
    args = parser.parse_args()
    if args.seeds < 1 or args.steps < 2 * args.every or args.every % args.redo_every:
        parser.error(
            "need --seeds >= 1, --steps >= 2 * --every, and --every a multiple of "
            "--redo-every (so measurements fall redo_every steps after ReDo)"
        )
    trials = []
    for seed in range(args.seeds):
        for method in METHODS:
            trial = run(method, seed, args.steps, args.every, args.tau, args.redo_every)
            trials.append(trial)
            curve = " ".join(f"{r['tau0.1']:.3f}" for r in trial.curve)
            print(
                f"seed {seed} {method:4s} dormant(tau 0.1) every {args.every} steps: {curve}; "
                f"late return {trial.late['return']:.0f}, recycled {trial.recycled}, "
                f"{trial.seconds:.0f}s",
                flush=True,
            )
    print(
        "\n| method | seeds | dormant, tau 0.1 (2nd half) | dormant, tau 0 (2nd half) "
        "| return (2nd half) |"
    )
    print("|---|---|---|---|---|")
    for method in METHODS:
        mine = [t for t in trials if t.method == method]
        cells = [statistics.fmean(t.late[k] for t in mine) for k in ("tau0.1", "tau0", "return")]
        print(f"| {method} | {len(mine)} | {cells[0]:.3f} | {cells[1]:.3f} | {cells[2]:.0f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "trials": [asdict(t) for t in trials]}, f, indent=1)


if __name__ == "__main__":
    main()
