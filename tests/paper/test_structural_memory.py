"""The structural-memory benchmark's pieces (benchmarks/paper/structural_memory.py).

Tasks and masks against hand-computed values, head B's curvature against autograd, the
probe's chance floor, and a few short runs. The full table is in docs/paper_reproduction.md.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Iterator

import pytest
import torch

from benchmarks.paper import structural_memory as sm
from fade_rl.optim import linear_head_curvature


@pytest.fixture(autouse=True)
def _flush_denormals() -> Iterator[None]:
    """As the benchmark's main does: Adam's moments on dead units would otherwise crawl."""
    torch.set_flush_denormal(True)
    yield
    torch.set_flush_denormal(False)


def _args(**overrides: float) -> argparse.Namespace:
    values = dict(meta_lr=1.0, init_decay=1e-3, adamw_wd=1.0, snp_alpha=0.8,
                  imprint_steps=5, adapt_steps=5)  # fmt: skip
    values.update(overrides)
    return argparse.Namespace(**values)


def test_chessboard_and_saddle_by_hand():
    x = torch.tensor([[0.5, 0.5], [1.5, 0.5], [-0.5, 0.5], [-0.5, -0.5], [2.9, -2.1], [1.0, 2.0]])
    # floor sums: 0, 1, -1, -2, -1, 3
    assert sm.chessboard(x).tolist() == [0.0, 1.0, 1.0, 0.0, 1.0, 1.0]
    assert sm.saddle(x)[5].item() == pytest.approx((1.0 - 4.0) / 5.0)
    assert sm.saddle(x)[0].item() == 0.0


def test_ring_and_blind_spot_masks_by_hand():
    x = torch.tensor([
        [1.5, 0.0],  # |x| = 1.5: on both boundaries, in neither (strict inequalities)
        [2.0, 0.0],  # ring
        [2.4, 2.4],  # |x| = 3.39: ring
        [2.5, 2.5],  # |x| = 3.54: outside the ring, a corner of the square
        [1.0, 1.0],  # |x| = 1.41: blind spot
        [1.1, 1.1],  # |x| = 1.56: ring
    ])  # fmt: skip
    assert sm.in_ring(x).tolist() == [False, True, True, False, False, True]
    assert sm.in_blind_spot(x).tolist() == [False, False, False, False, True, False]


def test_sample_points_stay_in_their_region_and_repeat_with_the_seed():
    ring = sm.sample_points(500, torch.Generator().manual_seed(3), sm.in_ring)
    assert ring.shape == (500, 2) and bool(sm.in_ring(ring).all())
    assert ring.abs().max() <= sm.HALF_SIDE
    again = sm.sample_points(500, torch.Generator().manual_seed(3), sm.in_ring)
    assert torch.equal(ring, again)
    square = sm.sample_points(4000, torch.Generator().manual_seed(0))
    # uniform in the square: the blind spot holds pi * 1.5^2 / 36 = 19.6% of it
    assert sm.in_blind_spot(square).float().mean().item() == pytest.approx(0.196, abs=0.02)


def test_task_b_output_hessian_matches_autograd():
    batch, k = 4, sm.N_OUT_B
    y, z = torch.randn(batch, k, dtype=torch.float64), torch.randn(batch, dtype=torch.float64)
    full = torch.autograd.functional.hessian(lambda out: sm.task_b_loss(out, z), y)
    full = full.reshape(batch * k, batch * k)
    c = sm.task_b_output_hessian(batch, k).double()
    assert torch.allclose(full.diagonal(), c.flatten())
    # the whole per-sample block is 2 / (B K^2) (rank one), other samples' entries are 0
    expected = torch.block_diag(*[torch.full((k, k), 2.0 / (batch * k**2))] * batch).double()
    assert torch.allclose(full, expected)


def test_head_b_curvature_matches_the_autograd_diagonal():
    torch.manual_seed(0)
    batch, n_in = 6, 32
    phi = torch.randn(batch, n_in, dtype=torch.float64)
    z = torch.randn(batch, dtype=torch.float64)
    weight = torch.randn(sm.N_OUT_B, n_in, dtype=torch.float64)
    bias = torch.randn(sm.N_OUT_B, dtype=torch.float64)

    def loss(w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return sm.task_b_loss(phi @ w.T + b, z)

    h_ww, _, _, h_bb = (h for row in torch.autograd.functional.hessian(loss, (weight, bias))
                        for h in row)  # fmt: skip
    c = sm.task_b_output_hessian(batch, sm.N_OUT_B).double()
    h_weight, h_bias = linear_head_curvature(phi, c)
    numel = weight.numel()
    assert torch.allclose(h_weight.flatten(), h_ww.reshape(numel, numel).diagonal())
    assert torch.allclose(h_bias, h_bb.diagonal())
    # by hand: H_W[k, j] = 2 / (B K^2) sum_b phi[b, j]^2, the same for every output k
    by_hand = 2.0 / (batch * sm.N_OUT_B**2) * phi.square().sum(dim=0)
    assert torch.allclose(h_weight, by_hand.expand_as(h_weight))


def test_probe_is_chance_on_flat_outputs_and_reads_an_informative_one():
    gen = torch.Generator().manual_seed(1)
    x = sm.sample_points(400, gen, sm.in_blind_spot)
    y = sm.chessboard(x)
    flat = torch.full((400, sm.N_OUT_B), 0.7)
    assert sm.probe_accuracy(flat, y, flat, y, seed=0) == (0.5, 0.5)
    almost_flat = flat + 1e-4 * torch.randn(400, sm.N_OUT_B, generator=gen)
    assert sm.probe_accuracy(almost_flat, y, almost_flat, y, seed=0) == (0.5, 0.5)
    noise = 0.1 * torch.randn(400, sm.N_OUT_B - 1, generator=gen)
    informative = torch.cat([y[:, None], noise], 1)
    acc_in, acc_out = sm.probe_accuracy(informative[:200], y[:200], informative[200:], y[200:], 0)
    assert acc_in == 1.0 and acc_out >= 0.99


def test_a_short_run_is_reproducible_and_fade_learns_its_decay():
    torch.manual_seed(123)  # the run must not depend on the global state before it
    todo = [("l2", 1e-3, "control"), ("fade", 0.0, "imprinting")]
    first = sm.run_one(0, todo, _args())
    torch.manual_seed(456)
    second = sm.run_one(0, todo, _args())
    for a, b in zip(first, second, strict=True):
        a.pop("seconds"), b.pop("seconds")
        # the ridge solve (float64) may differ in its last bit from call to call
        assert a.pop("linear_r2") == pytest.approx(b.pop("linear_r2"), rel=1e-9, abs=1e-12)
        assert a == b
    for record in first:
        assert 0.0 <= record["acc_in"] <= 1.0 and 0.0 <= record["acc_out"] <= 1.0
    fade = first[1]
    assert fade["log10_lambda_q10"] < math.log10(1e-3) < fade["log10_lambda_q90"]
    assert 0.0 < first[0]["coupled_decay_per_step"] < 1.0


def test_reset_draws_a_fresh_head_and_snp_mixes_with_a_fresh_draw():
    torch.manual_seed(0)
    net = sm.TwoHeadNet()
    x = sm.sample_points(50, torch.Generator().manual_seed(0), sm.in_ring)
    before = [p.detach().clone() for p in net.parameters()]
    snp = sm.TwoHeadNet()
    snp.load_state_dict(net.state_dict())
    sm.adapt(snp, x, "snp", 0.0, _args(adapt_steps=0, snp_alpha=0.8), seed=7)
    torch.manual_seed(7)
    fresh = sm.fresh_copy(net)
    for p, p0, pf in zip(snp.parameters(), before, fresh.parameters(), strict=True):
        assert torch.allclose(p, 0.8 * p0 + 0.2 * pf)  # toward a fresh draw, not the init
        assert not torch.allclose(p, p0)
    sm.adapt(net, x, "reset", 0.0, _args(adapt_steps=0), seed=7)
    assert not torch.equal(net.head_b.weight, before[-2])
    assert torch.equal(net.core[0].weight, before[0])


@pytest.mark.parametrize(
    "argv",
    [
        ["--methods", "l2,nope"],
        ["--grid", "-1e-3"],
        ["--grid", "x"],
        ["--runs", "0"],
        ["--snp-alpha", "1.5"],
        ["--report-only"],
    ],
)
def test_bad_command_lines_exit_2_and_write_nothing(argv, tmp_path, capsys):
    out = tmp_path / "r.jsonl"
    extra = [] if argv == ["--report-only"] else ["--json", str(out)]
    with pytest.raises(SystemExit) as exit_info:
        sm.main([*argv, *extra])
    assert exit_info.value.code == 2
    assert not out.exists()
    assert "error:" in capsys.readouterr().err


def test_report_gives_means_t_intervals_and_paired_differences():
    records = [
        {"run": n, "method": "l2", "wd": 1e-3, "group": g, "acc_in": a, "acc_out": a - 0.1,
         "linear_r2": 0.0, "loss_b": 0.01}
        for n, g, a in [(0, "control", 0.5), (1, "control", 0.7),
                        (0, "imprinting", 0.8), (1, "imprinting", 0.9)]
    ]  # fmt: skip
    row = sm.report(records).splitlines()[2]
    # control: mean 0.6, std 0.1414, t(0.975, 1) = 12.706 -> half-width 12.706 * 0.1 = 1.271
    # paired differences 0.3 and 0.2: mean 0.25, std 0.0707 -> half-width 0.635
    assert row.startswith("| l2 | 0.001 | 2 | 60.0 +- 127.1 | 85.0 +- 63.5 | 25.0 +- 63.5 |")
    assert "57.3 / 82.8" in row


@pytest.mark.slow
def test_imprinting_keeps_the_blind_spot_readable_under_wd_1e3():
    """The published direction at the full budget, two runs (the benchmark's runs 0 and 1)."""
    todo = [("l2", 1e-3, "control"), ("l2", 1e-3, "imprinting")]
    gaps = []
    for run in (0, 1):
        control, imprinted = sm.run_one(run, todo, _args(imprint_steps=300, adapt_steps=800))
        gaps.append(imprinted["acc_in"] - control["acc_in"])
    assert min(gaps) > 0.1
