"""FADE.step against torch.optim.Adam.step on the same heads, measured side by side.

Each head is an ``nn.Linear`` (weight and bias). FADE runs on an Adam base with
every head parameter in a FADE group; Adam is torch's default (foreach)
implementation. Gradients and curvatures are fixed random tensors, so only the
optimizer step is timed. The two optimizers alternate in rounds and the
reported time per step is the median over rounds, so a load that comes and goes
hits both alike.

    python -m benchmarks.bench_optim [--threads N]   (default: one torch thread)
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from fade_rl.optim import FADE

HEADS = {
    "64x2 head": [(64, 2)],
    "two 256x1 heads": [(256, 1), (256, 1)],
    "4096x4096 head": [(4096, 4096)],
}


def _make(shapes: list[tuple[int, int]], fade: bool):
    torch.manual_seed(0)
    modules = [torch.nn.Linear(i, o) for i, o in shapes]
    params = [p for m in modules for p in m.parameters()]
    for p in params:
        p.grad = torch.randn_like(p)
    if fade:
        opt = FADE([{"params": params, "fade": True}], lr=1e-3, base="adam", meta_lr=1.0)
        curvatures = [torch.rand_like(p) for p in params]

        def step() -> None:
            for p, h in zip(params, curvatures, strict=True):
                opt.set_curvature(p, h)
            opt.step()

        return step
    return torch.optim.Adam(params, lr=1e-3).step


def _time(step, repeats: int) -> float:
    started = time.perf_counter()
    for _ in range(repeats):
        step()
    return (time.perf_counter() - started) / repeats


def compare(shapes: list[tuple[int, int]], rounds: int = 15) -> tuple[float, float]:
    """Median seconds per step of (Adam, FADE) on heads of the given (in, out) shapes."""
    adam, fade = _make(shapes, fade=False), _make(shapes, fade=True)
    numel = sum(i * o + o for i, o in shapes)
    repeats = max(1, min(2000, 2_000_000 // numel))
    for step in (adam, fade):  # warm up: lazy state, allocator
        _time(step, repeats)
    adam_times, fade_times = [], []
    for _ in range(rounds):
        adam_times.append(_time(adam, repeats))
        fade_times.append(_time(fade, repeats))
    return statistics.median(adam_times), statistics.median(fade_times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    torch.set_num_threads(parser.parse_args(argv).threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), CPU")
    print(f"{'head':<18} {'Adam step':>12} {'FADE step':>12} {'FADE/Adam':>10}")
    for name, shapes in HEADS.items():
        adam, fade = compare(shapes)
        print(f"{name:<18} {adam * 1e6:>10.1f}us {fade * 1e6:>10.1f}us {fade / adam:>9.2f}x")


if __name__ == "__main__":
    main()
