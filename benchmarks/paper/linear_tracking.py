"""Linear tracking (docs/paper_reproduction.md), run with fade_rl's optimizer.

d = 20 inputs x ~ N(0, I); 5 relevant target weights of +-1 and 15 zero ones;
every 20 steps one random relevant weight flips sign; y* = <w*, x> + sigma * N(0, 1);
weights start at 0.1 * N(0, 1); the metric is the online (pre-update) squared
error averaged over all steps. Seeds run side by side as rows of one parameter
tensor: FADE is element-wise, so each row is an independent run.

Every method is a configuration of `fade_rl.optim.FADE` (SGD base) except plain
SGD (`torch.optim.SGD`):

- SGD+WD (raw per-step decay): FADE with ``meta_lr=0`` (the decay stays at
  ``init_decay``).
- IDBD: FADE+IDBD with ``meta_lr=0`` and the decay frozen at ``exp(-60)``,
  which rounds ``1 - lambda`` to exactly 1 in float32.
- IDBD+WD: FADE+IDBD with ``meta_lr=0`` and a fixed decay.

    python -m benchmarks.paper.linear_tracking                 # the paper's setting
    python -m benchmarks.paper.linear_tracking --steps 5000    # a quick look
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import dataclass

import torch

from fade_rl.optim import FADE

D, RELEVANT, FLIP_EVERY = 20, 5, 20

# The paper's numbers (mean +- s.e. over 10 seeds), as docs/paper_reproduction.md lists them.
PAPER = {
    ("SGD", 0.0): (3.628, 0.021),
    ("SGD", 1.0): (5.119, 0.026),
    ("SGD+WD", 0.0): (2.726, 0.008),
    ("SGD+WD", 1.0): (4.087, 0.012),
    ("IDBD", 0.0): (1.486, 0.007),
    ("IDBD", 1.0): (2.937, 0.011),
    ("IDBD+WD", 0.0): (1.301, 0.006),
    ("IDBD+WD", 1.0): (2.718, 0.010),
    ("FADE", 0.0): (1.653, 0.009),
    ("FADE", 1.0): (3.044, 0.011),
    ("FADE+IDBD", 0.0): (1.246, 0.006),
    ("FADE+IDBD", 1.0): (2.646, 0.009),
}


@dataclass(frozen=True)
class Method:
    """One row of the paper's table: how to build the optimizer for a given sigma."""

    name: str
    hyper: dict[float, dict[str, float]]

    def optimizer(self, weights: torch.Tensor, sigma: float) -> torch.optim.Optimizer:
        h = self.hyper[sigma]
        if self.name == "SGD":
            return torch.optim.SGD([weights], lr=h["alpha"])
        group = {"params": [weights], "fade": True}
        frozen = dict(meta_lr=0.0, log_decay_bounds=(-60.0, 0.0))
        if self.name == "SGD+WD":
            return FADE([group], base="sgd", lr=h["alpha"], init_decay=h["decay"], **frozen)
        if self.name == "IDBD":
            return FADE(
                [group], base="sgd", idbd=True, lr=math.exp(h["beta0"]),
                idbd_meta_lr=h["theta"], init_decay=math.exp(-60.0), **frozen,
            )  # fmt: skip
        if self.name == "IDBD+WD":
            return FADE(
                [group], base="sgd", idbd=True, lr=math.exp(h["beta0"]),
                idbd_meta_lr=h["theta"], init_decay=h["decay"], **frozen,
            )  # fmt: skip
        if self.name == "FADE":
            return FADE(
                [group], base="sgd", lr=h["alpha"], meta_lr=h["theta"],
                init_decay=math.exp(h["gamma0"]),
            )  # fmt: skip
        if self.name == "FADE+IDBD":  # the paper ties the two meta step sizes
            return FADE(
                [group], base="sgd", idbd=True, lr=math.exp(h["beta0"]), meta_lr=h["theta"],
                init_decay=math.exp(h["gamma0"]),
            )  # fmt: skip
        raise ValueError(f"unknown method {self.name!r}")


METHODS = {
    m.name: m
    for m in (
        Method("SGD", {0.0: {"alpha": 0.05}, 1.0: {"alpha": 0.01}}),
        Method("SGD+WD", {s: {"alpha": 0.05, "decay": 0.05} for s in (0.0, 1.0)}),
        Method("IDBD", {0.0: {"theta": 0.005, "beta0": -4.6}, 1.0: {"theta": 0.01, "beta0": -5.3}}),
        Method("IDBD+WD", {s: {"theta": 0.01, "beta0": -4.6, "decay": 0.01} for s in (0.0, 1.0)}),
        Method(
            "FADE",
            {
                0.0: {"alpha": 0.1, "theta": 0.01, "gamma0": -1.2},
                1.0: {"alpha": 0.05, "theta": 0.01, "gamma0": -1.2},
            },
        ),
        Method(
            "FADE+IDBD", {s: {"theta": 0.01, "beta0": -4.6, "gamma0": -2.3} for s in (0.0, 1.0)}
        ),
    )
}


@dataclass
class Result:
    mse: torch.Tensor  # per seed
    weights_relevant_decay: float | None = None  # mean lambda of relevant weights (FADE only)
    weights_irrelevant_decay: float | None = None


@torch.no_grad()
def run(method: str, sigma: float, steps: int, seeds: int, first_seed: int = 0) -> Result:
    """Run ``seeds`` independent tracking problems side by side; return each one's online MSE."""
    gen = torch.Generator().manual_seed(10_000 * first_seed + seeds)
    signs = torch.randint(0, 2, (seeds, RELEVANT), generator=gen) * 2.0 - 1.0
    target = torch.cat([signs, torch.zeros(seeds, D - RELEVANT)], dim=1)
    weights = (0.1 * torch.randn(seeds, D, generator=gen)).requires_grad_(True)
    opt = METHODS[method].optimizer(weights, sigma)
    is_fade = isinstance(opt, FADE)
    rows = torch.arange(seeds)
    squared_error_sum = torch.zeros(seeds)
    chunk = 10_000  # draw randomness in chunks: one generator call per chunk, not per step
    for start in range(0, steps, chunk):
        n = min(chunk, steps - start)
        xs = torch.randn(n, seeds, D, generator=gen)
        noise = sigma * torch.randn(n, seeds, generator=gen)
        flips = torch.randint(0, RELEVANT, (n, seeds), generator=gen)
        for i in range(n):
            t = start + i
            if t > 0 and t % FLIP_EVERY == 0:
                target[rows, flips[i]] *= -1.0
            x = xs[i]
            delta = (target * x).sum(1) + noise[i] - (weights * x).sum(1)
            squared_error_sum += delta.square()
            weights.grad = -delta.unsqueeze(1) * x  # d(delta^2 / 2) / dw
            if is_fade:
                opt.set_curvature(weights, x.square())
            opt.step()
    result = Result(mse=squared_error_sum / steps)
    if is_fade:
        decays = opt.decay_rates(weights)
        result.weights_relevant_decay = decays[:, :RELEVANT].mean().item()
        result.weights_irrelevant_decay = decays[:, RELEVANT:].mean().item()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--sigmas", default="0,1")
    parser.add_argument("--json", help="write the results to this file")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    print(f"linear tracking: {args.steps} steps, {args.seeds} seeds")
    print(f"{'method':<10} {'sigma':>5} {'ours (mean +- se)':>20} {'paper':>16} {'diff':>7}  extra")
    for sigma in (float(s) for s in args.sigmas.split(",")):
        for name in args.methods.split(","):
            started = time.perf_counter()
            res = run(name, sigma, args.steps, args.seeds)
            mean = res.mse.mean().item()
            se = res.mse.std().item() / math.sqrt(args.seeds)
            paper_mean, paper_se = PAPER[(name, sigma)]
            extra = f"{time.perf_counter() - started:.0f}s"
            if res.weights_relevant_decay is not None:
                extra += (
                    f"  lambda relevant {res.weights_relevant_decay:.3f}"
                    f" irrelevant {res.weights_irrelevant_decay:.3f}"
                )
            print(
                f"{name:<10} {sigma:>5.0f} {mean:>11.3f} +- {se:.3f} {paper_mean:>8.3f} +- "
                f"{paper_se:.3f} {100 * (mean / paper_mean - 1):>+6.1f}%  {extra}",
                flush=True,
            )
            rows.append(
                dict(method=name, sigma=sigma, mse=mean, se=se, paper=paper_mean, extra=extra)
            )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(steps=args.steps, seeds=args.seeds, rows=rows), f, indent=1)


if __name__ == "__main__":
    main()
