"""How big is FADE's meta-gradient, in RL and in the supervised problems where FADE works?

FADE moves each head element's log decay ``gamma`` by ``-meta_lr * G * g`` per optimizer
step (``G`` the gradient, ``g`` the trace before the step; fade_rl/optim/fade.py). This
script records, at every FADE step of a run, ``G``, the old trace ``g``, the curvature
``H`` handed over with ``set_curvature``, the parameter ``p`` and the base step size
``alpha_eff`` (``lr / (sqrt(v_hat) + eps)`` for Adam, ``lr`` for SGD), and reports their
quantiles over (step, element) pairs with ``G != 0``, plus the implied change of ``gamma``
per 1000 optimizer steps at ``meta_lr = 1`` (the sum of ``-G * g`` over each window of 1000
steps, per element). It only reads the optimizer; the runs are the library's own.

Settings: ``linear`` (benchmarks/paper/linear_tracking.py, FADE row, sigma 0), ``teacher``
(benchmarks/paper/teacher_student.py, FADE+SGD and FADE+Adam), ``dqn`` (configs/demo.yaml:
FadeDQN on the reward-flip CartPole, 16k steps) and ``sac`` (FadeSAC on
fade_rl/Pendulum-Dynamics-v0 with the gravity/mass switch every 1000 steps, 4000 steps).

PROTOTYPE, for measurement only: ``--variant normalized`` replaces FADE's meta step by a
per-element RMS-normalized one (:class:`NormalizedMetaFADE`, docs/fade_in_rl.md); the
optimizer in fade_rl/ is not changed.

    python -m benchmarks.fade_metagrad --settings linear teacher dqn sac --out /tmp/metagrad.jsonl
    python -m benchmarks.fade_metagrad --summarize /tmp/fadestudy_runs   # a sweep's cells
    python -m benchmarks.fade_metagrad --settings dqn --variant normalized --meta-lr 0.001 \\
        --init-decay 1e-4 --seeds 0 1 --runs /tmp/fadestudy_proto --out /tmp/proto.jsonl
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from fade_rl.optim import FADE

QUANTILES = (0.1, 0.5, 0.9)


# ------------------------------------------------------------------ pure helpers
def adam_effective_lr(exp_avg_sq: Tensor, step: int, lr: float, beta2: float, eps: float) -> Tensor:
    """``alpha_eff = lr / (sqrt(v / (1 - beta2**step)) + eps)``: Adam's per-element step size."""
    return lr / (exp_avg_sq.div(1.0 - beta2**step).sqrt() + eps)


def quantile_summary(values: Tensor, qs: tuple[float, ...] = QUANTILES) -> dict[str, float]:
    """``{"q10": ..., "q50": ..., "q90": ...}`` of a flat tensor (NaN when it is empty)."""
    values = values.flatten().double()
    if values.numel() == 0:
        return {f"q{round(100 * q)}": math.nan for q in qs}
    if values.numel() > 4_000_000:  # torch.quantile's input limit is 2**24; subsample evenly
        values = values[:: values.numel() // 4_000_000 + 1]
    out = torch.quantile(values, torch.tensor(qs, dtype=torch.float64))
    return {f"q{round(100 * q)}": float(v) for q, v in zip(qs, out, strict=True)}


class WindowDrift:
    """Per-element sums of ``x`` over consecutive windows of ``window`` calls to :meth:`add`.

    ``finished`` holds one tensor (the element's window sum) per complete window; a
    partial window at the end is dropped.
    """

    def __init__(self, window: int) -> None:
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window}")
        self.window = window
        self.count = 0
        self.current: Tensor | None = None
        self.finished: list[Tensor] = []

    def add(self, x: Tensor) -> None:
        x = x.detach().flatten().double()
        self.current = x.clone() if self.current is None else self.current + x
        self.count += 1
        if self.count == self.window:
            self.finished.append(self.current)
            self.current, self.count = None, 0

    def sums(self) -> Tensor:
        """All complete windows' sums, concatenated (empty if there is none)."""
        return torch.cat(self.finished) if self.finished else torch.zeros(0, dtype=torch.float64)


def normalized_meta_step_(
    gamma: Tensor,
    meta_grad: Tensor,
    sq_avg: Tensor,
    step: int,
    meta_lr: float,
    beta: float,
    eps: float,
    bounds: tuple[float, float],
) -> None:
    """PROTOTYPE. ``gamma -= meta_lr * z / (sqrt(u_hat) + eps)``, clamped; in place.

    ``z = G * g`` is FADE's meta-gradient, ``u = beta u + (1 - beta) z^2`` its running
    mean square (``sq_avg``, updated in place) and ``u_hat = u / (1 - beta**step)``.
    """
    sq_avg.mul_(beta).addcmul_(meta_grad, meta_grad, value=1.0 - beta)
    denom = sq_avg.div(1.0 - beta**step).sqrt_().add_(eps)
    gamma.addcdiv_(meta_grad, denom, value=-meta_lr).clamp_(*bounds)


# ------------------------------------------------------------ prototype optimizer
class NormalizedMetaFADE(FADE):
    """PROTOTYPE (measurement only): FADE whose meta step is RMS-normalized per element.

    Identical to FADE's reference update (SGD or Adam base, no IDBD) except step 1,
    ``gamma -= meta_lr * G * g``, which becomes :func:`normalized_meta_step_`.

    Example:
        >>> head = torch.nn.Linear(3, 2)
        >>> opt = NormalizedMetaFADE([{"params": head.parameters(), "fade": True}], meta_lr=1e-3)
        >>> head(torch.randn(4, 3)).square().sum().backward()
        >>> for p in head.parameters():
        ...     opt.set_curvature(p, torch.ones_like(p))
        >>> opt.step()
        >>> opt.decay_rates(head.weight).shape
        torch.Size([2, 3])
    """

    def __init__(self, *args: Any, meta_beta: float = 0.99, meta_eps: float = 1e-30, **kw: Any):
        super().__init__(*args, **kw)
        if not 0.0 <= meta_beta < 1.0:
            raise ValueError(f"meta_beta must be in [0, 1), got {meta_beta}")
        self.meta_beta, self.meta_eps = meta_beta, meta_eps

    @classmethod
    def replacing(cls, old: FADE, meta_lr: float, **kw: Any) -> NormalizedMetaFADE:
        """A fresh prototype over ``old``'s parameter groups with ``old``'s hyperparameters."""
        if old.state:
            raise ValueError(
                "replacing: the optimizer has state already; replace it before training"
            )
        d = old.defaults
        groups = [{"params": g["params"], "fade": g["fade"]} for g in old.param_groups]
        keys = ("base", "betas", "eps", "init_decay", "log_decay_bounds")
        return cls(
            groups, lr=old.param_groups[0]["lr"], meta_lr=meta_lr, **{k: d[k] for k in keys}, **kw
        )

    def _fade_group_step(self, group: dict[str, Any], params: list[Tensor]) -> None:
        if group["idbd"]:
            raise ValueError("NormalizedMetaFADE prototype: idbd is not supported")
        lr = group["lr"]
        for p in params:
            if p not in self._curvature:
                raise RuntimeError(
                    "NormalizedMetaFADE: set_curvature was not called for a head tensor"
                )
            grad, curv = p.grad, self._curvature[p]
            assert grad is not None
            state = self._init_state(p, group)
            state["step"] = int(state["step"]) + 1
            if "meta_sq_avg" not in state:
                state["meta_sq_avg"] = torch.zeros_like(p)
            gamma, trace = state["log_decay"], state["decay_trace"]
            if group["base"] == "adam":
                beta1, beta2 = group["betas"]
                m, v = state["exp_avg"], state["exp_avg_sq"]
                m.lerp_(grad, 1.0 - beta1)
                v.mul_(beta2).addcmul_(grad, grad, value=1.0 - beta2)
                alpha_eff = adam_effective_lr(v, state["step"], lr, beta2, group["eps"])
                base_update = alpha_eff * m / (1.0 - beta1 ** state["step"])
            else:
                alpha_eff = torch.full_like(p, lr)
                base_update = lr * grad
            normalized_meta_step_(
                gamma, grad * trace, state["meta_sq_avg"], state["step"], group["meta_lr"],
                self.meta_beta, self.meta_eps, group["log_decay_bounds"],
            )  # fmt: skip
            decay = gamma.exp()
            keep = (1.0 - decay - alpha_eff * curv).clamp_(min=0.0)
            trace.mul_(keep).sub_(decay * p)
            p.mul_(1.0 - decay)
            p.sub_(base_update)


# ---------------------------------------------------------------------- recorder
class MetaGradRecorder:
    """Records what every FADE step sees, for every FADE optimizer stepped inside ``with``.

    Patches ``FADE.step`` (the class) for the duration of the block; each FADE head tensor
    with a gradient contributes its ``G``, old trace ``g``, ``H``, ``p`` and ``alpha_eff``
    every ``sample_every``-th step to the quantiles, and ``-G * g`` at every step to the
    1000-step drift windows.
    """

    NAMES = (
        "abs_metagrad",
        "abs_grad",
        "abs_trace",
        "curvature",
        "alpha_eff",
        "alpha_h",
        "abs_param",
    )

    def __init__(self, sample_every: int = 1, window: int = 1000) -> None:
        self.sample_every = sample_every
        self.samples: dict[str, list[Tensor]] = {n: [] for n in self.NAMES}
        self.drift = WindowDrift(window)
        self.steps = 0
        self.active = 0
        self.total = 0
        self.linear_zone = 0  # active elements with H == 0 (e.g. Huber's linear zone)
        self.optimizers: list[FADE] = []

    @contextmanager
    def recording(self) -> Iterator[MetaGradRecorder]:
        original = FADE.step
        recorder = self

        def step(opt: FADE, closure: Any = None) -> Any:
            pre = recorder._before(opt)
            out = original(opt, closure)
            recorder._after(opt, pre)
            return out

        FADE.step = step  # type: ignore[method-assign,assignment]
        try:
            yield self
        finally:
            FADE.step = original  # type: ignore[method-assign]

    def _before(
        self, opt: FADE
    ) -> list[tuple[Tensor, dict[str, Any], Tensor, Tensor, Tensor, Tensor]]:
        if not any(o is opt for o in self.optimizers):
            self.optimizers.append(opt)
        pre = []
        for group in opt.param_groups:
            if not group["fade"]:
                continue
            for p in group["params"]:
                if p.grad is None or p not in opt._curvature:
                    continue
                trace = opt.state[p].get("decay_trace")
                trace = torch.zeros_like(p) if trace is None else trace.clone()
                pre.append(
                    (p, group, p.grad.clone(), trace, opt._curvature[p].clone(), p.detach().clone())
                )
        return pre

    def _after(self, opt: FADE, pre: list[Any]) -> None:
        if not pre:
            return
        self.steps += 1
        meta = torch.cat([(grad * trace).flatten() for _, _, grad, trace, _, _ in pre])
        self.drift.add(-meta)
        if self.steps % self.sample_every:
            return
        rows: dict[str, list[Tensor]] = {n: [] for n in self.NAMES}
        for p, group, grad, trace, curv, param in pre:
            state = opt.state[p]
            if group["base"] == "adam":
                alpha = adam_effective_lr(
                    state["exp_avg_sq"], state["step"], group["lr"], group["betas"][1], group["eps"]
                )
            elif group["idbd"]:
                alpha = state["log_step_size"].exp()
            else:
                alpha = torch.full_like(p, group["lr"])
            mask = grad != 0
            self.total += mask.numel()
            self.active += int(mask.sum())
            self.linear_zone += int((mask & (curv == 0)).sum())
            for name, value in zip(
                self.NAMES,
                (
                    (grad * trace).abs(),
                    grad.abs(),
                    trace.abs(),
                    curv,
                    alpha,
                    alpha * curv,
                    param.abs(),
                ),
                strict=True,
            ):
                rows[name].append(value[mask].detach().float())
        for name in self.NAMES:
            self.samples[name].append(torch.cat(rows[name]))

    def log10_decay_spread(self) -> dict[str, float]:
        """Quantiles (and min, max) of log10 lambda over every FADE head element recorded."""
        gammas = [
            opt.state[p]["log_decay"].flatten()
            for opt in self.optimizers
            for g in opt.param_groups
            if g["fade"]
            for p in g["params"]
            if "log_decay" in opt.state[p]
        ]
        if not gammas:
            return {}
        log10 = torch.cat(gammas).double() / math.log(10.0)
        return {"min": float(log10.min()), **quantile_summary(log10), "max": float(log10.max())}

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            n: quantile_summary(torch.cat(v)) if v else {} for n, v in self.samples.items()
        }
        sums = self.drift.sums()
        out["drift_per_1k_abs"] = quantile_summary(sums.abs())
        out["drift_per_1k_signed_mean"] = float(sums.mean()) if sums.numel() else math.nan
        out["fade_steps"] = self.steps
        out["active_share"] = self.active / self.total if self.total else math.nan
        out["linear_zone_share"] = self.linear_zone / self.active if self.active else math.nan
        out["log10_lambda"] = self.log10_decay_spread()
        return out


def summarize_runs(root: str | Path) -> list[dict[str, Any]]:
    """One row per setting folder under ``root`` (a ``fade-rl sweep -f`` folder): the seeds'
    mean final / mean return, each segment's mean return over seeds, and the spread of the
    final log10 lambda pooled over seeds (from each run's ``summary.json`` and ``lambda.npz``).
    Runs without a ``summary.json`` (unfinished) are left out and counted in ``unfinished``.
    """
    import numpy as np

    rows = []
    for setting in sorted(p for p in Path(root).iterdir() if p.is_dir()):
        runs = sorted(setting.glob("*/seed_*"))
        done = [r for r in runs if (r / "summary.json").exists()]
        if not done:
            continue
        sums = [json.loads((r / "summary.json").read_text()) for r in done]
        segments = np.array([[s["mean_return"] for s in d["segments"]] for d in sums], dtype=float)
        logs = [np.log10(v) for r in done if (r / "lambda.npz").exists()
                for v in np.load(r / "lambda.npz").values()]  # fmt: skip
        row: dict[str, Any] = {
            "setting": setting.name,
            "seeds": [d["seed"] for d in sums],
            "unfinished": len(runs) - len(done),
            "final_returns": [d["final_return"] for d in sums],
            "final_return": float(np.mean([d["final_return"] for d in sums])),
            "mean_return": float(np.mean([d["mean_return"] for d in sums])),
            "segment_mean_returns": [round(float(x), 1) for x in segments.mean(axis=0)],
        }
        if logs:
            pooled = np.concatenate([x.ravel() for x in logs])
            q10, q50, q90 = np.quantile(pooled, [0.1, 0.5, 0.9])
            row["log10_lambda"] = dict(min=float(pooled.min()), q10=float(q10), q50=float(q50),
                                       q90=float(q90), max=float(pooled.max()))  # fmt: skip
        rows.append(row)
    return rows


# ---------------------------------------------------------------------- settings
def run_supervised(setting: str, steps: int, seeds: int, sample_every: int) -> dict[str, Any]:
    from benchmarks.paper import linear_tracking, teacher_student

    rec = MetaGradRecorder(sample_every=sample_every)
    with rec.recording():
        if setting == "linear":
            mse = linear_tracking.run("FADE", 0.0, steps, seeds).mse
        else:
            method = "FADE+SGD" if setting == "teacher-sgd" else "FADE+Adam"
            mse = teacher_student.run(method, steps, seeds).mse
    return {**rec.summary(), "mse": [round(float(m), 5) for m in mse]}


def rl_config(
    setting: str, seed: int, meta_lr: float, init_decay: float, steps: int | None, name: str
) -> Any:
    from fade_rl.experiments.runs.config import load_config, validate_config

    if setting == "dqn":
        overrides = [f"methods.fade.meta_lr={meta_lr}", f"methods.fade.init_decay={init_decay}"]
        if steps:
            overrides.append(f"budget.n_timesteps={steps}")
        config = load_config("configs/demo.yaml", overrides, method="fade", seed=seed, name=name)
        return config
    period = 1000
    data = {
        "name": name,
        "env": {
            "id": "fade_rl/Pendulum-Dynamics-v0",
            "kwargs": {
                "dynamics": {
                    "g": {"type": "periodic", "values": [10.0, 15.0], "period": period},
                    "m": {"type": "periodic", "values": [1.0, 1.5], "period": period},
                }
            },
        },
        "algo": {
            "name": "sac",
            "hyperparams": {
                "learning_rate": 1e-3,
                "learning_starts": 500,
                "batch_size": 64,
                "buffer_size": 10_000,
                "policy_kwargs": {"net_arch": [64, 64]},
            },
        },
        "methods": {"fade": {"meta_lr": meta_lr, "init_decay": init_decay}},
        "budget": {"n_timesteps": steps or 4 * period},
        "method": "fade",
        "seed": seed,
    }
    return validate_config(data, "fade_metagrad sac")


@contextmanager
def normalized_models(meta_lr: float) -> Iterator[None]:
    """PROTOTYPE: every model ``train_run`` builds gets :class:`NormalizedMetaFADE` heads."""
    from fade_rl.experiments.runs import run as run_module

    original = run_module.build_model

    def build(config: Any, env: Any) -> Any:
        model = original(config, env)
        owner = model._fade_optimizer_owner()
        owner.optimizer = NormalizedMetaFADE.replacing(owner.optimizer, meta_lr)
        return model

    run_module.build_model = build  # type: ignore[assignment]
    try:
        yield
    finally:
        run_module.build_model = original  # type: ignore[assignment]


def run_rl(args: argparse.Namespace, setting: str, seed: int) -> dict[str, Any]:
    from contextlib import nullcontext

    from fade_rl.experiments.runs.run import train_run

    tag = f"{setting}_{args.variant}_mlr{args.meta_lr:g}_id{args.init_decay:g}"
    config = rl_config(setting, seed, args.meta_lr, args.init_decay, args.steps, tag)
    rec = MetaGradRecorder(sample_every=1)
    variant = normalized_models(args.meta_lr) if args.variant == "normalized" else nullcontext()
    with variant, rec.recording():
        summary = train_run(config, args.runs, resume=False, progress=False)
    segments = [round(s.get("mean_return", math.nan), 1) for s in summary.get("segments", [])]
    return {
        **rec.summary(),
        "final_return": summary["final_return"],
        "mean_return": summary["mean_return"],
        "segment_mean_returns": segments,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    settings = ["linear", "teacher-sgd", "teacher-adam", "dqn", "sac"]
    parser.add_argument("--settings", nargs="+", default=settings, choices=settings)
    parser.add_argument(
        "--steps", type=int, default=None, help="steps per run (default per setting)"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--variant", choices=["exact", "normalized"], default="exact")
    parser.add_argument("--meta-lr", type=float, default=1.0, help="RL settings only")
    parser.add_argument("--init-decay", type=float, default=1e-4, help="RL settings only")
    parser.add_argument("--runs", default="/tmp/fadestudy_metagrad_runs", help="RL run folders")
    parser.add_argument("--out", default=None, help="append one JSON line per result here")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--summarize", metavar="DIR", help="only summarize the runs under DIR")
    args = parser.parse_args()
    if args.summarize:
        for row in summarize_runs(args.summarize):
            print(json.dumps(row))
        return
    torch.set_num_threads(args.threads)
    if args.variant == "normalized" and any(s not in ("dqn", "sac") for s in args.settings):
        parser.error(
            "--variant normalized is prototyped for the RL settings only: use --settings dqn sac"
        )
    for setting in args.settings:
        for seed in args.seeds:
            start = time.time()
            if setting in ("dqn", "sac"):
                row = run_rl(args, setting, seed)
            else:
                steps = args.steps or 20_000
                row = run_supervised(
                    setting, steps, 2, sample_every=1 if setting == "linear" else 10
                )
            rl = setting in ("dqn", "sac")  # the supervised rows use the paper's hyperparameters
            hyper = {"meta_lr": args.meta_lr, "init_decay": args.init_decay} if rl else {}
            row = {"setting": setting, "variant": args.variant, "seed": seed, **hyper,
                   "seconds": round(time.time() - start, 1), **row}  # fmt: skip
            line = json.dumps(row)
            print(line, flush=True)
            if args.out:
                with open(args.out, "a") as f:
                    f.write(line + "\n")


if __name__ == "__main__":
    main()
