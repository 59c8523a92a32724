"""The pure metric functions against values computed by hand on small matrices."""

from __future__ import annotations

import math

import pytest
import torch

from fade_rl.metrics import functional as F


def test_dormant_ratio_dead_unit_at_tau_zero() -> None:
    # unit means |a|: [0, 2, 2]; layer mean 4/3; scores [0, 1.5, 1.5]
    acts = torch.tensor([[0.0, 1.0, 2.0], [0.0, 3.0, 2.0]])
    assert F.dormant_scores(acts).tolist() == pytest.approx([0.0, 1.5, 1.5])
    assert float(F.dormant_ratio(acts, tau=0.0)) == pytest.approx(1 / 3)


def test_dormant_ratio_thresholds() -> None:
    # unit means [0.1, 2, 4]; layer mean 6.1/3; scores [0.0492, 0.9836, 1.9672]
    acts = torch.tensor([[0.1, 2.0, 4.0], [-0.1, -2.0, 4.0]])  # |a| counts, not a
    scores = F.dormant_scores(acts)
    assert scores.tolist() == pytest.approx([0.3 / 6.1, 6 / 6.1, 12 / 6.1])
    assert float(F.dormant_ratio(acts, tau=0.0)) == 0.0
    assert float(F.dormant_ratio(acts, tau=0.025)) == 0.0
    assert float(F.dormant_ratio(acts, tau=0.1)) == pytest.approx(1 / 3)
    assert float(F.dormant_ratio(acts, tau=1.0)) == pytest.approx(2 / 3)


def test_dormant_ratio_all_dead_layer_is_fully_dormant() -> None:
    assert float(F.dormant_ratio(torch.zeros(5, 4), tau=0.0)) == 1.0


@pytest.mark.parametrize("tau", [-0.1, float("nan"), float("inf"), True, "0.1"])
def test_dormant_ratio_rejects_bad_tau(tau: object) -> None:
    with pytest.raises(ValueError, match="tau"):
        F.dormant_ratio(torch.ones(2, 2), tau=tau)  # type: ignore[arg-type]


def test_features_must_be_a_batch_matrix() -> None:
    with pytest.raises(ValueError, match=r"\[batch, units\]"):
        F.active_units(torch.ones(3))
    with pytest.raises(ValueError, match="empty batch"):
        F.srank(torch.ones(0, 3))
    with pytest.raises(TypeError, match=r"torch\.Tensor"):
        F.feature_norm([[1.0]])  # type: ignore[arg-type]


def test_active_units() -> None:
    assert float(F.active_units(torch.tensor([[0.0, 1.0], [2.0, 0.0]]))) == 0.5
    assert float(F.active_units(torch.tensor([[0.0, 0.0, 0.0, 5.0]]))) == 0.25
    # conv maps [batch, channels, h, w] count every (sample, position) as a unit
    assert float(F.active_units(torch.ones(2, 3, 2, 2))) == 1.0


def test_srank_on_diagonal_matrices() -> None:
    m = torch.diag(torch.tensor([3.0, 1.0]))  # singular values [3, 1]: cumulative 0.75, 1
    assert float(F.srank(m, delta=0.01)) == 2
    assert float(F.srank(m, delta=0.25)) == 1  # 0.75 reaches exactly 1 - 0.25
    assert float(F.srank(m, delta=0.2)) == 2
    assert float(F.srank(torch.ones(4, 3))) == 1  # rank one
    assert float(F.srank(torch.zeros(4, 3))) == 0
    # 100 equal singular values: 99 of them reach exactly 0.99
    assert float(F.srank(torch.eye(100), delta=0.01)) == 99
    with pytest.raises(ValueError, match="delta"):
        F.srank(m, delta=1.0)


def test_effective_rank() -> None:
    m = torch.diag(torch.tensor([3.0, 1.0]))
    p = torch.tensor([0.75, 0.25], dtype=torch.float64)
    assert float(F.effective_rank(m)) == pytest.approx(math.exp(-(p * p.log()).sum().item()))
    assert float(F.effective_rank(m)) == pytest.approx(1.7548, abs=1e-4)
    assert float(F.effective_rank(torch.eye(5))) == pytest.approx(5.0)
    assert float(F.effective_rank(torch.ones(3, 4))) == pytest.approx(1.0)
    assert float(F.effective_rank(torch.zeros(3, 4))) == 0.0


def test_norms_and_distance() -> None:
    assert float(F.feature_norm(torch.tensor([[3.0, 4.0], [0.0, 0.0]]))) == pytest.approx(2.5)
    assert float(F.weight_norm([torch.tensor([3.0]), torch.tensor([[4.0]])])) == pytest.approx(5.0)
    assert float(F.weight_norm([])) == 0.0
    now = [torch.tensor([1.0, 2.0]), torch.tensor([5.0])]
    init = [torch.tensor([1.0, 0.0]), torch.tensor([1.0])]
    assert float(F.distance_from_init(now, init)) == pytest.approx(math.sqrt(4 + 16))
    with pytest.raises(ValueError, match="same tensors"):
        F.distance_from_init(now, init[:1])
    with pytest.raises(ValueError, match="shapes"):
        F.distance_from_init([torch.ones(2)], [torch.ones(3)])
    assert float(F.gradient_norm([torch.tensor([6.0, 8.0]), None])) == pytest.approx(10.0)


def test_value_and_td_error_stats() -> None:
    q = torch.tensor([[1.0], [3.0]])
    assert {k: float(v) for k, v in F.value_stats(q).items()} == pytest.approx(
        {"q_mean": 2.0, "q_std": 1.0, "q_min": 1.0, "q_max": 3.0}
    )
    target = torch.tensor([[2.0], [0.0]])  # delta = [1, -3]
    assert {k: float(v) for k, v in F.td_error_stats(q, target).items()} == pytest.approx(
        {"td_mean": -1.0, "td_abs_mean": 2.0, "td_std": 2.0}
    )
    with pytest.raises(ValueError, match="same shape"):
        F.td_error_stats(q, target.flatten())


def test_linear_probe_r2() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(200, 5, generator=g)
    w = torch.randn(5, 2, generator=g)
    assert float(F.linear_probe_r2(x, x @ w + 3.0, ridge=0.0)) == pytest.approx(1.0, abs=1e-9)
    noise = torch.randn(200, 2, generator=g)
    assert float(F.linear_probe_r2(x, noise)) < 0.1
    # half signal, half noise of equal variance: R^2 near 0.5
    y = x[:, :1] + torch.randn(200, 1, generator=g)
    assert 0.3 < float(F.linear_probe_r2(x, y)) < 0.7
    with pytest.raises(ValueError, match="target rows"):
        F.linear_probe_r2(x, noise[:10])
    with pytest.raises(ValueError, match="train_fraction"):
        F.linear_probe_r2(x, noise, train_fraction=1.0)


def test_r2_score_by_hand() -> None:
    t = torch.tensor([1.0, 2.0, 3.0])  # SST = 2
    assert float(F.r2_score(torch.tensor([1.0, 2.0, 4.0]), t)) == pytest.approx(0.5)  # SSE 1
    assert float(F.r2_score(torch.full((3,), 5.0), torch.full((3,), 5.0))) == 1.0  # SST = 0
    assert float(F.r2_score(torch.full((3,), 4.0), torch.full((3,), 5.0))) == 0.0
    with pytest.raises(ValueError, match="same shape"):
        F.r2_score(torch.ones(2), t)


def test_linear_probe_r2_with_a_singular_system() -> None:
    # a duplicated feature column and no ridge: the normal equations are singular; the
    # minimum-norm solution still fits y = 2 x exactly
    x = torch.arange(10.0).reshape(-1, 1)
    assert float(F.linear_probe_r2(torch.cat([x, x], 1), 2 * x, ridge=0.0)) == pytest.approx(1.0)
