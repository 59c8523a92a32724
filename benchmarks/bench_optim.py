"""FADE.step against torch.optim.Adam.step on the same heads, measured side by side.

Each head is an ``nn.Linear`` (weight and bias). FADE runs on an Adam base with
every head parameter in a FADE group; Adam is torch's default (foreach)
implementation. Gradients and curvatures are fixed random tensors, so only the
optimizer step is timed. The two optimizers alternate in rounds and the
reported time per step is the median over rounds, so a load that comes and goes
hits both alike. ``finite check`` is the part of FADE's step that notes a
non-finite curvature on the device (timed alone, in the same rounds): one
``add_`` into a probe for a packed head, ``isfinite().all()`` per tensor otherwise.

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


def _make(shapes: list[tuple[int, int]], fade: bool, check_only: bool = False):
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

        if not check_only:
            return step
        step()  # builds the pack, if the head is packed
        if opt._packs:
            probe = next(iter(opt._packs.values())).probe
            flat = torch.cat([h.reshape(-1) for h in curvatures])
            return lambda: probe.add_(flat, alpha=0.0)
        return lambda: opt._finite.add(curvatures)
    return torch.optim.Adam(params, lr=1e-3).step


def _time(step, repeats: int) -> float:
    started = time.thread_time()  # CPU time: not charged for other processes' turns
    for _ in range(repeats):
        step()
    return (time.thread_time() - started) / repeats


def compare(shapes: list[tuple[int, int]], rounds: int = 15) -> tuple[float, float, float]:
    """Median seconds per step of (Adam, FADE, FADE's finite check) on heads of these shapes."""
    adam, fade = _make(shapes, fade=False), _make(shapes, fade=True)
    check = _make(shapes, fade=True, check_only=True)
    numel = sum(i * o + o for i, o in shapes)
    repeats = max(1, min(2000, 2_000_000 // numel))
    for step in (adam, fade, check):  # warm up: lazy state, allocator
        _time(step, repeats)
    adam_times, fade_times, check_times = [], [], []
    for _ in range(rounds):
        adam_times.append(_time(adam, repeats))
        fade_times.append(_time(fade, repeats))
        check_times.append(_time(check, repeats))
    return tuple(statistics.median(t) for t in (adam_times, fade_times, check_times))  # type: ignore[return-value]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    torch.set_num_threads(parser.parse_args(argv).threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), CPU")
    print(
        f"{'head':<18} {'Adam step':>12} {'FADE step':>12} {'FADE/Adam':>10} "
        f"{'finite check':>13} {'of FADE':>8}"
    )
    for name, shapes in HEADS.items():
        adam, fade, check = compare(shapes)
        print(
            f"{name:<18} {adam * 1e6:>10.1f}us {fade * 1e6:>10.1f}us {fade / adam:>9.2f}x "
            f"{check * 1e6:>11.1f}us {check / fade:>7.1%}",
            flush=True,
        )


if __name__ == "__main__":
    main()
