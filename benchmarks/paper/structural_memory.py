"""Structural memory under weight decay (docs/paper_reproduction.md), plus FADE and baselines.

A network imprinted with a chessboard (task A) on the square [-3, 3]^2 is fine-tuned on a
saddle (task B) that is trained only on the ring 1.5 < |x| < 3.5. A student probe then reads
the chessboard from head B's 20 outputs inside the blind spot |x| < 1.5, where task B never
sent a gradient. The published claim: under moderate coupled L2 (wd near 1e-3) the control's
blind spot holds no chessboard while the imprinted network's still does: decay hides old
structure instead of erasing it.

Rows (``--methods``), each a different forgetting method during the same adaptation budget
(task B, 5,000 ring points, full batch, 800 steps, lr 0.001):

* ``l2``: Adam with coupled ``weight_decay=wd`` on every parameter, for every wd of ``--grid``;
* ``adamw``: AdamW (decoupled decay) with ``weight_decay=--adamw-wd`` on every parameter;
* ``fade``: :class:`fade_rl.optim.FADE`, Adam base, learned per-element decay on head B
  (``--meta-lr``, ``--init-decay``), the core and head A with plain Adam;
* ``snp``: shrink & perturb of every parameter at the switch,
  ``theta <- alpha * theta + (1 - alpha) * theta_fresh`` (a fresh draw, ``--snp-alpha``), then Adam;
* ``reset``: head B re-initialized at the switch, then Adam.

Run ``r`` seeds its points and initialization with ``r``, the fresh draw of shrink & perturb
or the reset with ``10000 + r`` and the student probe with ``20000 + r``; the control and
imprinted networks of a run share their initialization and points (paired).
``--json FILE`` appends one line per (run, row, group) and a rerun skips the lines there.

    python -m benchmarks.paper.structural_memory --runs 20
    python -m benchmarks.paper.structural_memory --runs 2 --grid 1e-3 --methods l2,fade
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from fade_rl.experiments.reports.stats import t_interval
from fade_rl.metrics.functional import linear_probe_r2
from fade_rl.nets import fresh_copy
from fade_rl.optim import FADE, linear_head_curvature

HALF_SIDE, RING, BLIND_SPOT = 3.0, (1.5, 3.5), 1.5
N_POINTS, N_PROBE, N_OUT_B = 5000, 1000, 20
IMPRINT_STEPS, ADAPT_STEPS, PROBE_STEPS = 300, 800, 300
IMPRINT_LR, ADAPT_LR, PROBE_LR = 0.01, 0.001, 0.01
FLAT_STD = 1e-3  # V flatter than this: the probe reports chance (0.5)
WD_GRID = (0.0, 1e-5, 5e-5, 1e-4, 3e-4, 6e-4, 1e-3, 2e-3, 4e-3, 7e-3, 1e-2, 2e-2)
METHODS = ("l2", "adamw", "fade", "snp", "reset")
GROUPS = ("control", "imprinting")
# What coupled L2 with wd 1e-3 removes from head B per step at the end of adaptation (median of
# lr * wd / (sqrt(v_hat) + eps), see coupled_decay_per_step; run 0 gave 4.5e-4 for the control
# and 3.8e-4 for the imprinted network). FADE starts its decay there and AdamW decays this much.
COUPLED_DECAY_PER_STEP = 4e-4
PUBLISHED = {  # wd: (control, imprinting), mean in-sample probe accuracy over 20 runs, in %
    0.0: (93.4, 89.6),
    1e-4: (91.0, 90.2),
    3e-4: (80.1, 88.2),
    6e-4: (65.5, 88.1),
    1e-3: (57.3, 82.8),
    2e-3: (54.8, 75.1),
    1e-2: (54.5, 58.6),
}


# ----------------------------------------------------------------------- tasks
def chessboard(x: Tensor) -> Tensor:
    """Task A: ``(floor(x1) + floor(x2)) mod 2`` as a float label in {0, 1}."""
    return torch.remainder(torch.floor(x[:, 0]) + torch.floor(x[:, 1]), 2.0)


def saddle(x: Tensor) -> Tensor:
    """Task B: ``z = (x1^2 - x2^2) / 5``."""
    return (x[:, 0].square() - x[:, 1].square()) / 5.0


def in_ring(x: Tensor) -> Tensor:
    """Where task B trains: ``1.5 < |x| < 3.5``."""
    radius = x.norm(dim=1)
    return (radius > RING[0]) & (radius < RING[1])


def in_blind_spot(x: Tensor) -> Tensor:
    """Where task B never trains and the probe reads: ``|x| < 1.5``."""
    return x.norm(dim=1) < BLIND_SPOT


def sample_points(
    n: int, gen: torch.Generator, region: Callable[[Tensor], Tensor] | None = None
) -> Tensor:
    """``n`` points uniform in the square [-3, 3]^2, restricted to ``region`` by rejection."""
    kept: list[Tensor] = []
    count = 0
    while count < n:
        x = (torch.rand(2 * n, 2, generator=gen) * 2.0 - 1.0) * HALF_SIDE
        if region is not None:
            x = x[region(x)]
        kept.append(x)
        count += x.shape[0]
    return torch.cat(kept)[:n]


# --------------------------------------------------------------------- network
class TwoHeadNet(nn.Module):
    """Core MLP 2 -> 128 -> ReLU -> 128 -> ReLU -> 32, head A 32 -> 1 (a logit), head B 32 -> 20.

    Example:
        >>> net = TwoHeadNet()
        >>> net.head_b(net.core(torch.zeros(3, 2))).shape
        torch.Size([3, 20])
    """

    def __init__(self) -> None:
        super().__init__()
        self.core = nn.Sequential(
            nn.Linear(2, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 32)
        )
        self.head_a = nn.Linear(32, 1)
        self.head_b = nn.Linear(32, N_OUT_B)


def task_b_loss(outputs: Tensor, targets: Tensor) -> Tensor:
    """MSE between the MEAN of head B's outputs and z: one direction of the 20 is constrained."""
    return (outputs.mean(dim=1) - targets).square().mean()


def task_b_output_hessian(batch_size: int, num_outputs: int) -> Tensor:
    """Diagonal of d^2 L / d y^2 for :func:`task_b_loss`: ``2 / (B K^2)`` everywhere.

    With ``m_b = mean_k y[b, k]``, ``L = mean_b (m_b - z_b)^2`` has
    ``dL/dy[b, k] = 2 (m_b - z_b) / (B K)`` and ``d^2 L / dy[b, k] dy[b, l] = 2 / (B K^2)``
    for every pair ``k, l`` of one sample (a rank-one block per sample). Head B's element
    ``W[k, j]`` only reaches ``y[:, k]``, so the diagonal ``c`` gives its exact curvature
    through :func:`fade_rl.optim.linear_head_curvature`.
    """
    return torch.full((batch_size, num_outputs), 2.0 / (batch_size * num_outputs**2))


# ---------------------------------------------------------------------- phases
def imprint(net: TwoHeadNet, x: Tensor, steps: int = IMPRINT_STEPS) -> None:
    """Task A on the whole square: Adam lr 0.01, full batch, binary cross-entropy."""
    labels = chessboard(x)
    opt = torch.optim.Adam(net.parameters(), lr=IMPRINT_LR)
    for _ in range(steps):
        loss = nn.functional.binary_cross_entropy_with_logits(
            net.head_a(net.core(x)).squeeze(1), labels
        )
        opt.zero_grad()
        loss.backward()
        opt.step()


def adapt(
    net: TwoHeadNet, x: Tensor, method: str, wd: float, args: argparse.Namespace, seed: int
) -> dict[str, float]:
    """Task B on ring points ``x`` with one forgetting ``method``; returns what the row records."""
    z = saddle(x)
    params = list(net.parameters())
    opt: torch.optim.Optimizer
    if method == "l2":
        opt = torch.optim.Adam(params, lr=ADAPT_LR, weight_decay=wd)
    elif method == "adamw":
        opt = torch.optim.AdamW(params, lr=ADAPT_LR, weight_decay=args.adamw_wd)
    elif method == "fade":
        head = list(net.head_b.parameters())
        rest = [p for p in params if all(p is not h for h in head)]
        groups: list[dict[str, Any]] = [{"params": rest}, {"params": head, "fade": True}]
        opt = FADE(
            groups,
            lr=ADAPT_LR, base="adam", meta_lr=args.meta_lr, init_decay=args.init_decay,
        )  # fmt: skip
    elif method in ("snp", "reset"):
        torch.manual_seed(seed)  # the fresh draw of this run
        with torch.no_grad():
            if method == "snp":
                for p, p_fresh in zip(params, fresh_copy(net).parameters(), strict=True):
                    p.mul_(args.snp_alpha).add_(p_fresh, alpha=1.0 - args.snp_alpha)
            else:
                net.head_b.reset_parameters()
        opt = torch.optim.Adam(params, lr=ADAPT_LR)
    else:
        raise ValueError(f"unknown method {method!r}; choose from {METHODS}")
    c = task_b_output_hessian(x.shape[0], N_OUT_B)
    for _ in range(args.adapt_steps):
        phi = net.core(x)
        loss = task_b_loss(net.head_b(phi), z)
        opt.zero_grad()
        loss.backward()
        if isinstance(opt, FADE):
            h_weight, h_bias = linear_head_curvature(phi, c)
            opt.set_curvature(net.head_b.weight, h_weight)
            opt.set_curvature(net.head_b.bias, h_bias)
        opt.step()
    out = {"loss_b": task_b_loss(net.head_b(net.core(x)), z).item()}
    if isinstance(opt, FADE):
        log10 = opt.decay_rates(net.head_b.weight).log10().flatten()
        quantiles = log10.quantile(torch.tensor([0.1, 0.5, 0.9])).tolist()
        names = ("log10_lambda_q10", "log10_lambda_q50", "log10_lambda_q90")
        out.update(zip(names, quantiles, strict=True))
    if method == "l2" and wd > 0:
        out["coupled_decay_per_step"] = coupled_decay_per_step(opt, net.head_b.weight, wd)
    return out


def coupled_decay_per_step(opt: torch.optim.Optimizer, weight: Tensor, wd: float) -> float:
    """Median over ``weight`` of ``lr * wd / (sqrt(v_hat) + eps)``: the share of each element
    that Adam's coupled L2 removes per step now (its decoupled-decay equivalent)."""
    state, group = opt.state[weight], opt.param_groups[0]
    v_hat = state["exp_avg_sq"] / (1.0 - group["betas"][1] ** float(state["step"]))
    return (group["lr"] * wd / (v_hat.sqrt() + group["eps"])).median().item()


def probe_accuracy(
    v_train: Tensor, y_train: Tensor, v_test: Tensor, y_test: Tensor, seed: int
) -> tuple[float, float]:
    """Student MLP 20 -> 64 -> ReLU -> 1 on frozen outputs V: (in-sample, held-out) accuracy.

    V flatter than ``FLAT_STD`` (standard deviation over all its entries) gives 0.5 for both.
    """
    if v_train.std().item() < FLAT_STD:
        return 0.5, 0.5
    torch.manual_seed(seed)
    student = nn.Sequential(nn.Linear(v_train.shape[1], 64), nn.ReLU(), nn.Linear(64, 1))
    opt = torch.optim.Adam(student.parameters(), lr=PROBE_LR)
    for _ in range(PROBE_STEPS):
        loss = nn.functional.binary_cross_entropy_with_logits(student(v_train).squeeze(1), y_train)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        accuracy = [((student(v).squeeze(1) > 0).float() == y).float().mean().item()
                    for v, y in ((v_train, y_train), (v_test, y_test))]  # fmt: skip
    return accuracy[0], accuracy[1]


# -------------------------------------------------------------------- one run
def rows(methods: Sequence[str], grid: Sequence[float]) -> list[tuple[str, float]]:
    """(method, wd) of every row: ``l2`` once per wd of the grid, the others once (wd 0)."""
    return [(m, wd) for m in methods for wd in (grid if m == "l2" else (0.0,))]


def run_one(
    run: int, todo: Sequence[tuple[str, float, str]], args: argparse.Namespace
) -> list[dict]:
    """Run ``run``: every (method, wd, group) of ``todo``, from one shared initialization."""
    gen = torch.Generator().manual_seed(run)
    x_square = sample_points(N_POINTS, gen)
    x_ring = sample_points(N_POINTS, gen, in_ring)
    x_probe, x_fresh = (sample_points(N_PROBE, gen, in_blind_spot) for _ in range(2))
    y_probe, y_fresh = chessboard(x_probe), chessboard(x_fresh)
    torch.manual_seed(run)
    start = {"control": TwoHeadNet()}
    if any(group == "imprinting" for *_, group in todo):
        start["imprinting"] = copy.deepcopy(start["control"])
        imprint(start["imprinting"], x_square, args.imprint_steps)
    records = []
    for method, wd, group in todo:
        net = copy.deepcopy(start[group])
        began = time.perf_counter()
        info = adapt(net, x_ring, method, wd, args, seed=10_000 + run)
        with torch.no_grad():
            v_probe, v_fresh = (net.head_b(net.core(x)) for x in (x_probe, x_fresh))
        acc_in, acc_out = probe_accuracy(v_probe, y_probe, v_fresh, y_fresh, seed=20_000 + run)
        records.append({
            "run": run, "method": method, "wd": wd, "group": group,
            "acc_in": acc_in, "acc_out": acc_out, "v_std": v_probe.std().item(),
            "linear_r2": float(linear_probe_r2(v_probe, y_probe)),
            **info, "seconds": round(time.perf_counter() - began, 1),
        })  # fmt: skip
    return records


# --------------------------------------------------------------------- report
def _key(record: dict) -> tuple:
    return record["run"], record["method"], record["wd"], record["group"]


def _mean_ci(values: Sequence[float]) -> str:
    """``mean +- half-width of the 95% t interval`` in percent (``+- nan`` for one run)."""
    mean = sum(values) / len(values)
    if len(values) < 2:
        return f"{100 * mean:.1f}"
    low, high = t_interval(values)
    return f"{100 * mean:.1f} +- {100 * (high - low) / 2:.1f}"


def report(records: Sequence[dict]) -> str:
    """Markdown tables: in-sample and held-out probe accuracy per row, paired differences."""
    by_key = {_key(r): r for r in records}
    keys = sorted({(r["method"], r["wd"]) for r in records},
                  key=lambda k: (METHODS.index(k[0]), k[1]))  # fmt: skip
    lines = [
        "| method | wd | n | control in-sample | imprinting in-sample | difference "
        "| control held-out | imprinting held-out | published (control / imprinting) "
        "| linear R^2 (control / imprinting) | task B loss (control / imprinting) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for method, wd in keys:
        runs = sorted({r["run"] for r in records if (r["method"], r["wd"]) == (method, wd)})
        pairs = [(by_key[(n, method, wd, "control")], by_key[(n, method, wd, "imprinting")])
                 for n in runs if (n, method, wd, "control") in by_key
                 and (n, method, wd, "imprinting") in by_key]  # fmt: skip
        if not pairs:
            continue
        c, i = zip(*pairs, strict=True)

        def col(rs: Sequence[dict], field: str) -> str:
            return _mean_ci([r[field] for r in rs])

        diff = _mean_ci([b["acc_in"] - a["acc_in"] for a, b in pairs])
        published = PUBLISHED.get(wd) if method == "l2" else None
        pub = f"{published[0]} / {published[1]}" if published else "-"
        r2 = " / ".join(f"{sum(r['linear_r2'] for r in rs) / len(rs):.2f}" for rs in (c, i))
        loss = " / ".join(f"{sum(r['loss_b'] for r in rs) / len(rs):.4f}" for rs in (c, i))
        shown_wd = f"{wd:g}" if method == "l2" else "-"
        lines.append(
            f"| {method} | {shown_wd} | {len(pairs)} | {col(c, 'acc_in')} | {col(i, 'acc_in')} "
            f"| {diff} | {col(c, 'acc_out')} | {col(i, 'acc_out')} | {pub} | {r2} | {loss} |"
        )
    return "\n".join(lines)


# ------------------------------------------------------------------------ main
def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="runs per row and group")
    parser.add_argument("--first-run", type=int, default=0, help="index (= seed) of the first run")
    parser.add_argument("--grid", default=",".join(f"{w:g}" for w in WD_GRID),
                        help="comma-separated coupled-L2 weight decays of the l2 rows")  # fmt: skip
    parser.add_argument("--methods", default=",".join(METHODS), help=f"subset of {METHODS}")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--meta-lr", type=float, default=1.0, help="FADE's meta step size")
    parser.add_argument("--init-decay", type=float, default=COUPLED_DECAY_PER_STEP,
                        help="FADE's initial decay per step on head B")  # fmt: skip
    parser.add_argument("--adamw-wd", type=float, default=COUPLED_DECAY_PER_STEP / ADAPT_LR,
                        help="AdamW weight_decay (decay per step = lr * this)")  # fmt: skip
    parser.add_argument("--snp-alpha", type=float, default=0.8, help="share of weights kept")
    parser.add_argument("--imprint-steps", type=int, default=IMPRINT_STEPS)
    parser.add_argument("--adapt-steps", type=int, default=ADAPT_STEPS)
    parser.add_argument("--json", type=Path, help="append one JSON line per (run, row, group); "
                        "lines already there are skipped, so a run resumes")  # fmt: skip
    parser.add_argument("--report-only", action="store_true",
                        help="print the tables of --json without training")  # fmt: skip
    args = parser.parse_args(argv)
    try:
        grid = [float(w) for w in args.grid.split(",") if w]
    except ValueError:
        parser.error(f"--grid must be comma-separated numbers like 1e-4,1e-3, got {args.grid!r}")
    methods = args.methods.split(",")
    bad = [m for m in methods if m not in METHODS]
    if bad:
        parser.error(f"--methods: unknown {bad}; choose from {','.join(METHODS)}")
    if any(w < 0 for w in grid) or not grid:
        parser.error(f"--grid must list weight decays >= 0, got {args.grid!r}")
    if args.runs < 1 or args.threads < 1 or args.first_run < 0:
        parser.error("--runs and --threads must be >= 1 and --first-run >= 0")
    if not 0.0 <= args.snp_alpha <= 1.0:
        parser.error(f"--snp-alpha must be in [0, 1], got {args.snp_alpha}")
    if not 0.0 < args.init_decay <= 1.0 or args.meta_lr < 0 or args.adamw_wd < 0:
        parser.error("--init-decay must be in (0, 1], --meta-lr and --adamw-wd >= 0")
    if args.report_only and (args.json is None or not args.json.exists()):
        parser.error("--report-only reads --json FILE; pass an existing results file")
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)  # Adam's moments on dead ReLU units: keep the CPU fast

    records = []
    if args.json is not None and args.json.exists():
        records = [json.loads(line) for line in args.json.read_text().splitlines() if line]
    if not args.report_only:
        done = {_key(r) for r in records}
        for run in range(args.first_run, args.first_run + args.runs):
            todo = [(m, wd, g) for m, wd in rows(methods, grid) for g in GROUPS
                    if (run, m, wd, g) not in done]  # fmt: skip
            if not todo:
                continue
            began = time.perf_counter()
            new = run_one(run, todo, args)
            records += new
            if args.json is not None:
                with args.json.open("a") as f:
                    f.writelines(json.dumps(r) + "\n" for r in new)
            print(f"run {run}: {len(new)} adaptations in {time.perf_counter() - began:.0f} s",
                  file=sys.stderr, flush=True)  # fmt: skip
    print(report(records))


if __name__ == "__main__":
    main()
