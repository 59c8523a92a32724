"""The primary score: segments normalized between their task's floor and ceiling."""

from __future__ import annotations

import pytest

from fade_rl.experiments.suite.score import match_task, normalized_return, run_score

REFS = {
    "task_keys": ["reward.sign"],
    "tasks": [
        {"values": {"reward.sign": 1}, "floor": 20.0, "ceiling": 120.0},
        {"values": {"reward.sign": -1}, "floor": -20.0, "ceiling": -10.0},
    ],
}


def _segment(start: int, end: int, ret: float | None, sign: float) -> dict:
    values = {"reward.sign": sign, "reward.scale": 1.0}
    return {"segment": 0, "start": start, "end": end, "mean_return": ret, "values": values}


def test_normalized_return_is_zero_at_the_floor_and_one_at_the_ceiling() -> None:
    assert normalized_return(20.0, 20.0, 120.0) == 0.0
    assert normalized_return(120.0, 20.0, 120.0) == 1.0
    assert normalized_return(-15.0, -20.0, -10.0) == pytest.approx(0.5)


def test_an_oracle_no_better_than_random_gives_no_scale() -> None:
    assert normalized_return(5.0, 10.0, 10.0) is None
    assert normalized_return(5.0, 10.0, 8.0) is None  # ceiling below floor: no sign flip


def test_run_score_is_the_step_weighted_mean_of_normalized_segments() -> None:
    # 1000 steps at (70-20)/100 = 0.5, then 3000 steps at (-12+20)/10 = 0.8
    summary = {"segments": [_segment(0, 1000, 70.0, 1.0), _segment(1000, 4000, -12.0, -1.0)]}
    s = run_score(summary, REFS)
    assert s.score == pytest.approx((1000 * 0.5 + 3000 * 0.8) / 4000)
    assert s.final_score == pytest.approx(0.8)
    assert s.segments == pytest.approx([0.5, 0.8])
    assert s.problem is None


def test_tasks_match_on_task_keys_only_and_with_float_tolerance() -> None:
    task = match_task({"reward.sign": -1.0, "reward.offset": 3.0}, ["reward.sign"], REFS["tasks"])
    assert task is REFS["tasks"][1]
    assert match_task({"reward.sign": 2.0}, ["reward.sign"], REFS["tasks"]) is None
    assert match_task({}, [], [{"values": {}}]) == {"values": {}}


@pytest.mark.parametrize(
    ("segments", "problem"),
    [
        ([_segment(0, 10, None, 1.0)], "no episode ended"),
        ([_segment(0, 10, 5.0, 3.0)], "no reference for its task"),
        ([], "no segments"),
    ],
)
def test_a_segment_that_cannot_be_scored_leaves_the_run_unscored(segments, problem) -> None:
    s = run_score({"segments": segments}, REFS)
    assert s.score is None
    assert problem in s.problem
