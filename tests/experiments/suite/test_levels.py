"""The many-level score (fade_rl/experiments/suite/levels.py), against hand computations."""

from __future__ import annotations

import math

import pytest

from fade_rl.experiments.suite.levels import (
    level_means,
    level_score,
    normalize_levels,
    well_conditioned_share,
)


def test_normalized_levels_by_hand() -> None:
    # level 0: (60 - 10) / (110 - 10); level 1: (-50 - -100) / (-20 - -100)
    assert normalize_levels([60.0, -50.0], [10.0, -100.0], [110.0, -20.0]) == [0.5, 0.625]
    assert normalize_levels([None, 5.0], [0.0, 0.0], [10.0, 10.0]) == [None, 0.5]


@pytest.mark.parametrize(
    ("floor", "ceiling"),
    [(20.0, 20.0), (20.0, 15.0), (-100.0, -95.0), (0.0, 0.0)],  # -95 beats -100 by 5% only
)
def test_a_level_the_oracle_barely_beats_is_refused_by_name(floor, ceiling) -> None:
    with pytest.raises(ValueError, match=r"level 1: the oracle .* redesign the setting"):
        normalize_levels([1.0, 1.0], [0.0, floor], [10.0, ceiling])


def test_a_ceiling_ten_percent_above_a_negative_floor_is_enough() -> None:
    [value] = normalize_levels([-95.0], [-100.0], [-89.0])
    assert value == pytest.approx(5.0 / 11.0)


def test_normalize_refuses_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="2 levels of returns, 1 floors, 1 ceilings"):
        normalize_levels([1.0, 2.0], [0.0], [3.0])


def test_level_score_skips_missing_levels_in_all_three() -> None:
    score = level_score([1.0, None, 0.5, 0.0])
    assert score.score == pytest.approx(0.5)
    assert score.last_half == pytest.approx(0.25)  # levels 2 and 3
    # least squares through (0, 1), (2, 0.5), (3, 0): mean x 5/3, mean y 0.5;
    # sum dx*dy = (-5/3)(0.5) + (1/3)(0) + (4/3)(-0.5) = -1.5; sum dx^2 = 14/3
    assert score.slope == pytest.approx(-1.5 / (14 / 3))


def test_level_score_of_a_run_without_returns_is_nan() -> None:
    assert all(math.isnan(v) for v in vars(level_score([None, None])).values())
    assert math.isnan(level_score([0.7]).slope) and level_score([0.7]).score == 0.7


def test_level_means_leave_out_missing_returns_and_need_one_per_level() -> None:
    assert level_means([[1.0, 2.0, 3.0], [3.0, None]]) == [2.0, 2.0]  # the shorter run's levels
    with pytest.raises(ValueError, match="level 1: no run ended an episode"):
        level_means([[1.0, None], [2.0, None]])
    with pytest.raises(ValueError, match="at least one run"):
        level_means([])


def test_well_conditioned_share_counts_the_bounds_as_inside() -> None:
    assert well_conditioned_share([[-3.0, 3.0, 3.01, None]]) == pytest.approx(2 / 3)
    assert math.isnan(well_conditioned_share([[None]]))
