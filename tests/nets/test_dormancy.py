"""Dormant-unit scores by hand (Sokar et al. 2023: mean |a| over the layer's mean of it)."""

from __future__ import annotations

import pytest
import torch

from fade_rl.nets import check_tau, dormant_scores


def test_scores_by_hand() -> None:
    # unit means |a|: [0.1, 2, 4]; layer mean 6.1 / 3
    acts = torch.tensor([[0.1, 2.0, 4.0], [-0.1, -2.0, 4.0]])
    assert dormant_scores(acts).tolist() == pytest.approx([0.3 / 6.1, 6 / 6.1, 12 / 6.1])


def test_an_all_zero_layer_is_all_dormant() -> None:
    assert dormant_scores(torch.zeros(4, 3)).tolist() == [0.0, 0.0, 0.0]


def test_a_quiet_but_alive_layer_is_scored_exactly() -> None:
    # unit means [1e-10, 3e-10]: scores 0.5 and 1.5 whatever the scale. ReDo's former
    # mean / (layer mean + 1e-9) gave 1e-10 / 1.2e-9 = 0.083, so at tau = 0.1 it recycled a
    # unit working at half the layer's average.
    acts = torch.tensor([[1e-10, 3e-10], [1e-10, 3e-10]], dtype=torch.float64)
    assert dormant_scores(acts).tolist() == pytest.approx([0.5, 1.5])


def test_conv_maps_count_each_position_as_a_unit() -> None:
    acts = torch.zeros(2, 1, 1, 2)
    acts[:, 0, 0, 1] = 2.0  # units [0, 2]: layer mean 1, scores [0, 2]
    assert dormant_scores(acts).tolist() == [0.0, 2.0]


def test_bad_input_and_bad_tau() -> None:
    with pytest.raises(ValueError, match=r"\[batch, units\]"):
        dormant_scores(torch.ones(3))
    with pytest.raises(ValueError, match="tau must be >= 0"):
        check_tau(-0.1)
    with pytest.raises(ValueError, match="finite number"):
        check_tau(float("nan"))
