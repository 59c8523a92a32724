"""The measurement helpers of benchmarks/fade_metagrad.py and its normalized-meta-step prototype."""

from __future__ import annotations

import math

import pytest
import torch

from benchmarks.fade_metagrad import (
    MetaGradRecorder,
    NormalizedMetaFADE,
    WindowDrift,
    adam_effective_lr,
    normalized_meta_step_,
    quantile_summary,
)
from fade_rl.optim import FADE

torch.set_num_threads(1)


def test_adam_effective_lr_is_torch_adams_step_per_unit_of_momentum():
    torch.manual_seed(0)
    p = torch.nn.Parameter(torch.randn(5))
    opt = torch.optim.Adam([p], lr=0.01, betas=(0.9, 0.999), eps=1e-8)
    m = torch.zeros(5)
    for step in range(1, 4):
        grad = torch.randn(5)
        before = p.detach().clone()
        p.grad = grad
        opt.step()
        m = 0.9 * m + 0.1 * grad
        alpha = adam_effective_lr(opt.state[p]["exp_avg_sq"], step, 0.01, 0.999, 1e-8)
        expected = before - alpha * m / (1 - 0.9**step)
        torch.testing.assert_close(p.detach(), expected)


def test_quantile_summary_interpolates_linearly():
    out = quantile_summary(torch.arange(1.0, 10.0))  # 1..9
    assert out == pytest.approx({"q10": 1.8, "q50": 5.0, "q90": 8.2})
    assert all(math.isnan(v) for v in quantile_summary(torch.zeros(0)).values())


def test_window_drift_sums_complete_windows_and_drops_the_partial_one():
    drift = WindowDrift(2)
    for x in ([1.0, -1.0], [2.0, 0.5], [-4.0, 3.0], [1.0, 1.0], [7.0, 7.0]):
        drift.add(torch.tensor(x))
    torch.testing.assert_close(
        drift.sums(), torch.tensor([3.0, -0.5, -3.0, 4.0], dtype=torch.float64)
    )
    with pytest.raises(ValueError, match="window must be >= 1"):
        WindowDrift(0)


def test_normalized_meta_step_by_hand():
    gamma, sq = torch.tensor([-4.0, -4.0, -0.5]), torch.zeros(3)
    z1 = torch.tensor([1e-6, -3.0, -2.0])
    normalized_meta_step_(gamma, z1, sq, 1, 0.1, 0.9, 0.0, (-15.0, 0.0))
    # step 1: u_hat = z^2, so each gamma moves by -0.1 * sign(z); the third is clamped at 0
    torch.testing.assert_close(gamma, torch.tensor([-4.1, -3.9, -0.4]))
    z2 = torch.tensor([3e-6, 0.0, 0.0])
    normalized_meta_step_(gamma, z2, sq, 2, 0.1, 0.9, 0.0, (-15.0, 0.0))
    u_hat = (0.9 * 0.1 * 1e-12 + 0.1 * 9e-12) / (1 - 0.81)
    torch.testing.assert_close(gamma[0], torch.tensor(-4.1 - 0.1 * 3e-6 / math.sqrt(u_hat)))
    torch.testing.assert_close(gamma[1:], torch.tensor([-3.9, -0.4]))


def _head_run(opt_class, scale: float, steps: int = 30, **kw):
    """A linear head trained by ``opt_class`` on a loss multiplied by ``scale``; returns gamma."""
    torch.manual_seed(1)
    head = torch.nn.Linear(4, 2)
    opt = opt_class([{"params": head.parameters(), "fade": True}], base="adam", lr=1e-2, **kw)
    for _ in range(steps):
        x, y = torch.randn(8, 4), torch.randn(8, 2)
        loss = scale * 0.5 * ((head(x) - y) ** 2).sum(dim=1).mean()
        opt.zero_grad()
        loss.backward()
        opt.set_curvature(head.weight, scale * (x**2).mean(dim=0).expand(2, 4))
        opt.set_curvature(head.bias, torch.full((2,), scale))
        opt.step()
    return opt.state[head.weight]["log_decay"].clone(), head.weight.detach().clone()


def test_prototype_with_frozen_decay_is_fades_update():
    gamma_a, w_a = _head_run(FADE, 1.0, meta_lr=0.0, init_decay=1e-2, foreach=False)
    gamma_b, w_b = _head_run(NormalizedMetaFADE, 1.0, meta_lr=0.0, init_decay=1e-2)
    torch.testing.assert_close(w_a, w_b)
    torch.testing.assert_close(gamma_a, gamma_b)


def test_prototype_is_invariant_to_the_loss_scale_and_fade_is_not():
    base, _ = _head_run(NormalizedMetaFADE, 1.0, meta_lr=1e-2, init_decay=1e-3)
    scaled, _ = _head_run(NormalizedMetaFADE, 100.0, meta_lr=1e-2, init_decay=1e-3)
    assert (base - math.log(1e-3)).abs().max() > 1e-2  # it moved
    torch.testing.assert_close(base, scaled, atol=1e-4, rtol=0)
    exact, _ = _head_run(FADE, 1.0, meta_lr=1.0, init_decay=1e-3)
    exact_scaled, _ = _head_run(FADE, 100.0, meta_lr=1.0, init_decay=1e-3)
    moved, moved_scaled = exact - math.log(1e-3), exact_scaled - math.log(1e-3)
    assert moved_scaled.abs().max() > 10 * moved.abs().max()


def test_replacing_refuses_an_optimizer_that_has_trained():
    head = torch.nn.Linear(2, 1)
    opt = FADE([{"params": head.parameters(), "fade": True}], base="sgd", lr=0.1)
    fresh = NormalizedMetaFADE.replacing(opt, meta_lr=1e-3)
    assert fresh.param_groups[0]["meta_lr"] == 1e-3 and fresh.defaults["base"] == "sgd"
    head(torch.ones(1, 2)).sum().backward()
    for p in head.parameters():
        opt.set_curvature(p, torch.ones_like(p))
    opt.step()
    with pytest.raises(ValueError, match="has state already"):
        NormalizedMetaFADE.replacing(opt, meta_lr=1e-3)


def test_recorder_sees_the_meta_gradient_fade_uses():
    # One weight, SGD base, loss (w x - y)^2 / 2: G = (w x - y) x, H = x^2 (docs/fade.md section 1).
    w = torch.nn.Parameter(torch.tensor([0.5]))
    opt = FADE([{"params": [w], "fade": True}], base="sgd", lr=0.1, meta_lr=1.0, init_decay=0.01)
    rec = MetaGradRecorder(window=2)
    original = FADE.step
    data = [(2.0, 1.0), (1.0, -1.0)]
    with rec.recording():
        for x, y in data:
            w.grad = ((w.detach() * x - y) * x).reshape(1)
            opt.set_curvature(w, torch.tensor([x * x]))
            opt.step()
    # by hand: step 1 has trace 0 (meta-gradient 0); then trace = -0.01 * 0.5, w = 0.495 - 0.1 * 0
    w1 = 0.5 * 0.99 - 0.1 * 0.0  # G_1 = (0.5 * 2 - 1) * 2 = 0
    g1 = -0.01 * 0.5
    G2 = (w1 * 1.0 + 1.0) * 1.0
    assert rec.steps == 2
    torch.testing.assert_close(rec.drift.sums(), torch.tensor([-G2 * g1], dtype=torch.float64))
    assert FADE.step is original  # the patch is undone
    assert rec.summary()["log10_lambda"]["max"] == pytest.approx(
        (math.log(0.01) - G2 * g1) / math.log(10.0)
    )


def test_summarize_runs_pools_seeds_and_skips_unfinished(tmp_path):
    import json

    import numpy as np

    from benchmarks.fade_metagrad import summarize_runs

    for seed, final, mean, segs, lam in (
        (0, -100.0, 10.0, [20.0, -30.0], [1e-4, 1e-2]),
        (1, -50.0, 20.0, [40.0, -10.0], [1e-3, 1e-5]),
    ):
        run = tmp_path / "cell_a" / "fade" / f"seed_{seed}"
        run.mkdir(parents=True)
        summary = {"seed": seed, "final_return": final, "mean_return": mean,
                   "segments": [{"mean_return": x} for x in segs]}  # fmt: skip
        (run / "summary.json").write_text(json.dumps(summary))
        np.savez(run / "lambda.npz", q_net=np.array(lam))
    (tmp_path / "cell_a" / "fade" / "seed_2").mkdir()  # unfinished: no summary.json
    (row,) = summarize_runs(tmp_path)
    assert row["seeds"] == [0, 1] and row["unfinished"] == 1
    assert row["final_returns"] == [-100.0, -50.0]
    assert row["final_return"] == -75.0 and row["mean_return"] == 15.0
    assert row["segment_mean_returns"] == [30.0, -20.0]
    lam = row["log10_lambda"]
    assert (lam["min"], lam["max"]) == pytest.approx((-5.0, -2.0))
    assert lam["q50"] == pytest.approx(-3.5)  # median of -5, -4, -3, -2
