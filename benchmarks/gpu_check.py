"""The GPU contract, checked on a machine with CUDA: parity, no host syncs, speed.

Four checks, each printed with its numbers and a PASS/FAIL verdict:

1. Parity with the CPU.
   - FADE step: a hidden layer and two heads (Adam base, and SGD with IDBD), the same
     5 steps on the CPU and the GPU; parameters and state agree to rtol 1e-4, atol 1e-5.
   - FadeDQN and FadeSAC: identical weights and an identical replay buffer on both
     devices, 1,000 gradient steps on the same sampled indices (SB3 samples with
     NumPy). FadeDQN draws no random numbers in ``train()``, so its head must agree to
     a relative L2 error of 1e-2 (float32 rounding, compounded over 1,000 steps).
     FadeSAC samples its actor on the device's torch RNG, which differs between CPU
     and CUDA: its mean head decay rate and last critic loss must agree within 10%.
2. No host sync in the hot path: ``torch.cuda.set_sync_debug_mode("error")`` over
   ``train(gradient_steps=10)`` of FadeDQN, FadeSAC and FadeTD3. The replay batches are
   drawn before (SB3's host-to-device copy is not ours), and the one read of the logged
   losses per ``train()`` call (``_record_train_means``) is made after the check.
3. FADE.step against ``torch.optim.Adam(fused=True)`` on a 4096x4096 head and on
   SB3-sized heads (DQN's 64x2, SAC's two 256x1). Target: at most 1.5x.
4. FadeDQN/DQN and FadeSAC/SAC per gradient step on the GPU. Target: at most 1.10x.

Run from the repository root on a machine with CUDA:

    python -m benchmarks.gpu_check

Without CUDA it prints why and exits with status 2; it exits with 1 if a check fails.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch as th
from stable_baselines3 import DQN, SAC
from stable_baselines3.common.logger import configure

from benchmarks.bench_agents import bench_pair
from fade_rl import FADE, FadeDQN, FadeSAC, FadeTD3
from fade_rl.optim import half_squared_error_output_hessian, linear_head_curvature

_FAILED: list[str] = []


def _verdict(name: str, ok: bool, detail: str) -> None:
    print(f"  {'PASS' if ok else 'FAIL'}  {name}: {detail}", flush=True)
    if not ok:
        _FAILED.append(name)


# ------------------------------------------------------------------ 1. parity
def _fade_setup(device: str) -> tuple[list[th.nn.Module], FADE]:
    th.manual_seed(0)
    hidden, head, head2 = th.nn.Linear(6, 32), th.nn.Linear(32, 3), th.nn.Linear(32, 1)
    for module in (hidden, head, head2):
        module.to(device)
    opt = FADE(
        [
            {"params": hidden.parameters()},
            {"params": head.parameters(), "fade": True},
            {"params": head2.parameters(), "fade": True},
        ],
        lr=1e-2,
        base="adam",
        meta_lr=5.0,
        init_decay=1e-3,
    )
    return [hidden, head, head2], opt


def _fade_steps(modules: list[th.nn.Module], opt: FADE, device: str) -> None:
    hidden, head, head2 = modules
    gen = th.Generator().manual_seed(1)
    for _ in range(5):
        x = th.randn(16, 6, generator=gen).to(device)
        y, y2 = th.randn(16, 3, generator=gen).to(device), th.randn(16, 1, generator=gen).to(device)
        phi = th.relu(hidden(x))
        loss = 0.5 * ((head(phi) - y) ** 2).sum(1).mean() + 0.5 * ((head2(phi) - y2) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        for module, target in ((head, y), (head2, y2)):
            h_w, h_b = linear_head_curvature(phi, half_squared_error_output_hessian(target))
            opt.set_curvature(module.weight, h_w)
            opt.set_curvature(module.bias, h_b)
        opt.step()


def check_fade_parity() -> None:
    results = {}
    for device in ("cpu", "cuda"):
        modules, opt = _fade_setup(device)
        _fade_steps(modules, opt, device)
        results[device] = (modules, opt)
    worst = 0.0
    ok = True
    (cpu_modules, cpu_opt), (gpu_modules, gpu_opt) = results["cpu"], results["cuda"]
    for m_cpu, m_gpu in zip(cpu_modules, gpu_modules, strict=True):
        for p_cpu, p_gpu in zip(m_cpu.parameters(), m_gpu.parameters(), strict=True):
            pairs = [(p_cpu, p_gpu)] + [
                (cpu_opt.state[p_cpu][k], gpu_opt.state[p_gpu][k])
                for k in ("log_decay", "decay_trace", "exp_avg", "exp_avg_sq")
                if k in cpu_opt.state[p_cpu]
            ]
            for a, b in pairs:
                b = b.cpu()
                ok &= bool(th.allclose(b, a, rtol=1e-4, atol=1e-5))
                worst = max(worst, float((a - b).abs().max()))
    _verdict("FADE step, CPU vs GPU", ok, f"max abs difference {worst:.2e} (rtol 1e-4, atol 1e-5)")


def _agent(algorithm: type, env_id: str, device: str) -> Any:
    model = algorithm(
        "MlpPolicy", env_id, learning_starts=10**9, seed=0, device=device, buffer_size=5_000
    )
    model.set_logger(configure(None, [""]))
    return model


def _parity_pair(algorithm: type, env_id: str, steps: int) -> tuple[Any, Any]:
    cpu, gpu = _agent(algorithm, env_id, "cpu"), _agent(algorithm, env_id, "cuda")
    cpu.learn(2_000)  # random actions fill the buffer; no training
    gpu.policy.load_state_dict(cpu.policy.state_dict())
    for name in ("observations", "next_observations", "actions", "rewards", "dones", "timeouts"):
        setattr(gpu.replay_buffer, name, getattr(cpu.replay_buffer, name).copy())
    gpu.replay_buffer.pos, gpu.replay_buffer.full = cpu.replay_buffer.pos, cpu.replay_buffer.full
    if getattr(cpu, "log_ent_coef", None) is not None:
        with th.no_grad():
            gpu.log_ent_coef.copy_(cpu.log_ent_coef)
    for model in (cpu, gpu):
        np.random.seed(1)  # SB3's replay sampling draws from NumPy's global generator
        th.manual_seed(1)
        model.train(gradient_steps=steps, batch_size=model.batch_size)
    return cpu, gpu


def check_agent_parity(steps: int) -> None:
    cpu, gpu = _parity_pair(FadeDQN, "CartPole-v1", steps)
    head_cpu = cpu.fade_heads["q_net"].weight.detach()
    head_gpu = gpu.fade_heads["q_net"].weight.detach().cpu()
    error = float((head_gpu - head_cpu).norm() / head_cpu.norm())
    _verdict(f"FadeDQN, {steps} gradient steps", error <= 1e-2, f"relative L2 error {error:.2e}")

    cpu, gpu = _parity_pair(FadeSAC, "Pendulum-v1", steps)
    rates = [float(th.cat(list(m.fade_decay_rates().values())).mean()) for m in (cpu, gpu)]
    losses = [m.logger.name_to_value["train/critic_loss"] for m in (cpu, gpu)]
    rate_gap, loss_gap = abs(rates[1] / rates[0] - 1), abs(losses[1] / losses[0] - 1)
    _verdict(
        f"FadeSAC, {steps} gradient steps",
        rate_gap <= 0.1 and loss_gap <= 0.1,
        f"mean lambda {rates[0]:.3e} vs {rates[1]:.3e} ({rate_gap:.1%}), "
        f"critic loss {losses[0]:.4g} vs {losses[1]:.4g} ({loss_gap:.1%}) (tolerance 10%)",
    )


# ----------------------------------------------------------------- 2. no sync
def check_no_sync() -> None:
    for algorithm, env_id in (
        (FadeDQN, "CartPole-v1"),
        (FadeSAC, "Pendulum-v1"),
        (FadeTD3, "Pendulum-v1"),
    ):
        model = _agent(algorithm, env_id, "cuda")
        model.learn(1_000)
        model.train(gradient_steps=2, batch_size=model.batch_size)  # lazy state, cuBLAS
        batches = [model.replay_buffer.sample(model.batch_size) for _ in range(10)]
        model.replay_buffer.sample = lambda *args, batches=batches, **kwargs: batches.pop()
        reads: list[Any] = []
        model._record_train_means = reads.append
        th.cuda.synchronize()
        th.cuda.set_sync_debug_mode("error")
        try:
            model.train(gradient_steps=10, batch_size=model.batch_size)
            error = ""
        except RuntimeError as caught:
            error = str(caught).splitlines()[0]
        finally:
            th.cuda.set_sync_debug_mode("default")
        del model._record_train_means
        if not error:
            model._record_train_means(reads[0])  # the one read of the call, after the check
        _verdict(
            f"{algorithm.__name__}.train(gradient_steps=10) under sync debug mode 'error'",
            not error,
            error or f"no sync; {len(reads)} read of the logged losses after it",
        )


# --------------------------------------------------------------- 3. FADE speed
def _timed(step: Callable[[], None], repeats: int, rounds: int) -> float:
    for _ in range(repeats):
        step()
    times = []
    for _ in range(rounds):
        th.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(repeats):
            step()
        th.cuda.synchronize()
        times.append((time.perf_counter() - start) / repeats)
    return statistics.median(times)


def _optimizer_step(shapes: list[tuple[int, int]], fade: bool) -> Callable[[], None]:
    th.manual_seed(0)
    params = [p for i, o in shapes for p in th.nn.Linear(i, o, device="cuda").parameters()]
    for p in params:
        p.grad = th.randn_like(p)
    if not fade:
        return th.optim.Adam(params, lr=1e-3, fused=True).step
    opt = FADE([{"params": params, "fade": True}], lr=1e-3, base="adam", meta_lr=1.0)
    curvatures = [th.rand_like(p) for p in params]

    def step() -> None:
        for p, h in zip(params, curvatures, strict=True):
            opt.set_curvature(p, h)
        opt.step()

    return step


def check_fade_speed(rounds: int) -> None:
    heads = {
        "4096x4096 head": [(4096, 4096)],
        "DQN's 64x2 head": [(64, 2)],
        "SAC's two 256x1 heads": [(256, 1), (256, 1)],
    }
    for name, shapes in heads.items():
        repeats = 20 if shapes[0][0] >= 4096 else 200
        adam = _timed(_optimizer_step(shapes, fade=False), repeats, rounds)
        fade = _timed(_optimizer_step(shapes, fade=True), repeats, rounds)
        _verdict(
            f"FADE.step / fused Adam, {name}",
            fade / adam <= 1.5,
            f"{fade * 1e6:.1f} us / {adam * 1e6:.1f} us = {fade / adam:.2f}x (target 1.5x)",
        )


# ------------------------------------------------------------- 4. agent speed
def check_agent_speed(rounds: int) -> None:
    for name, vanilla, fade, env_id in (
        ("DQN", DQN, FadeDQN, "CartPole-v1"),
        ("SAC", SAC, FadeSAC, "Pendulum-v1"),
    ):
        r = bench_pair(vanilla, fade, env_id, steps=100, rounds=rounds, device="cuda")
        _verdict(
            f"Fade{name}/{name} per gradient step",
            r["ratio"] <= 1.10,
            f"{1e3 * r['fade']:.3f} ms / {1e3 * r['vanilla']:.3f} ms = {r['ratio']:.3f}x "
            f"(fastest rounds {r['ratio_best']:.3f}x; target 1.10x)",
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parity-steps", type=int, default=1_000, help="gradient steps")
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds per measurement")
    args = parser.parse_args(argv)
    if not th.cuda.is_available():
        print(
            "gpu_check: CUDA is not available on this machine (torch "
            f"{th.__version__}); run `python -m benchmarks.gpu_check` on a machine with an "
            "NVIDIA GPU and a CUDA build of torch.",
            file=sys.stderr,
        )
        return 2
    th.set_num_threads(1)
    print(f"torch {th.__version__}, CUDA {th.version.cuda}, {th.cuda.get_device_name(0)}")
    print("1. parity with the CPU")
    check_fade_parity()
    check_agent_parity(args.parity_steps)
    print("2. host syncs in the gradient step")
    check_no_sync()
    print("3. FADE.step against torch.optim.Adam(fused=True)")
    check_fade_speed(args.rounds)
    print("4. agents per gradient step")
    check_agent_speed(args.rounds)
    print(f"{'all checks passed' if not _FAILED else 'FAILED: ' + ', '.join(_FAILED)}")
    return 1 if _FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
