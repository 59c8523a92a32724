"""Shift-aligned statistics on hand-built episode streams."""

from __future__ import annotations

import pytest

from fade_rl.metrics.shifts import Episode, Shift, recovery_steps, return_area, shift_statistics


def _episodes(pairs: list[tuple[int, float]]) -> list[Episode]:
    return [Episode(end_step=s, ret=r) for s, r in pairs]


def test_return_area_holds_each_return_until_the_next_episode_ends() -> None:
    eps = _episodes([(10, 1.0), (30, 3.0), (60, -1.0)])
    # 1 on [10, 30), 3 on [30, 60), -1 on [60, 100): 20 + 90 - 40 = 70 over 90 steps
    area, per_step = return_area(eps, 0, 100)  # type: ignore[misc]
    assert area == pytest.approx(70.0)
    assert per_step == pytest.approx(70.0 / 90.0)
    # only episodes ending inside the window count
    assert return_area(eps, 30, 60) == pytest.approx((90.0, 3.0))
    assert return_area(eps, 61, 100) is None
    with pytest.raises(ValueError, match="end > start"):
        return_area(eps, 5, 5)


def test_recovery_steps_running_mean_and_threshold() -> None:
    eps = _episodes([(50, 100.0), (110, 20.0), (120, 60.0), (140, 100.0), (160, 100.0)])
    # threshold 90: window 1 recovers at 140; window 2 needs mean(100, 100) at 160
    assert recovery_steps(eps, 100, reference=100.0, window=1) == 40
    assert recovery_steps(eps, 100, reference=100.0, window=2) == 60
    # a negative reference: within 10% below, i.e. >= -110
    neg = _episodes([(110, -300.0), (130, -105.0)])
    assert recovery_steps(neg, 100, reference=-100.0, window=1) == 30
    # not recovered before the segment ends
    assert recovery_steps(eps, 100, reference=100.0, window=1, end=130) is None
    assert recovery_steps(eps, 100, reference=100.0, share=0.5, window=1) == 20
    with pytest.raises(ValueError, match="share"):
        recovery_steps(eps, 100, reference=1.0, share=90)
    with pytest.raises(ValueError, match="window"):
        recovery_steps(eps, 100, reference=1.0, window=0)


def test_shift_statistics_per_segment() -> None:
    eps = _episodes(
        [(10, 8.0), (20, 10.0), (30, 10.0), (40, 0.0), (50, 4.0), (60, 9.0), (70, 10.0)]
    )
    shifts = [Shift(step=35, segment=1, values="B")]
    s0, s1 = shift_statistics(eps, shifts, window=2, recovery_window=1, end=80)
    assert (s0.segment, s0.start, s0.end, s0.n_episodes) == (0, 0, 35, 3)
    assert s0.return_before is None and s0.recovery_steps is None
    # segment 0 area: 8*10 + 10*10 + 10*5 over 25 steps
    assert s0.return_area == pytest.approx(230.0)
    assert s0.mean_return == pytest.approx(230.0 / 25)
    assert (s1.segment, s1.start, s1.end, s1.n_episodes) == (1, 35, 80, 4)
    assert s1.return_before == pytest.approx(10.0)
    assert s1.return_after == pytest.approx(2.0)
    assert s1.reference_return == pytest.approx(10.0)
    assert s1.recovery_steps == 60 - 35  # 9 >= 0.9 * 10
    assert s1.as_dict()["recovery_steps"] == 25


def test_same_values_reference_compares_with_the_last_segment_of_the_same_task() -> None:
    # A (good at 100) -> B (returns of a flipped reward, about -10) -> A again
    eps = _episodes([(10, 100.0), (20, 100.0), (40, -50.0), (50, -10.0), (70, 20.0), (80, 95.0)])
    shifts = [Shift(30, 1, "B"), Shift(60, 2, "A")]
    previous = shift_statistics(eps, shifts, window=1, recovery_window=1, end=90)
    same = shift_statistics(
        eps,
        shifts,
        window=1,
        recovery_window=1,
        end=90,
        reference="same_values",
        initial_values="A",
    )
    # "previous" for segment 2: reference -10, recovered at once (20 >= -11)
    assert previous[2].reference_return == pytest.approx(-10.0)
    assert previous[2].recovery_steps == 10
    # "same_values": segment 1 has no earlier B; segment 2 must get back to A's 100
    assert same[1].reference_return is None and same[1].recovery_steps is None
    assert same[2].reference_return == pytest.approx(100.0)
    assert same[2].recovery_steps == 80 - 60
    with pytest.raises(ValueError, match="reference"):
        shift_statistics(eps, shifts, reference="best")  # type: ignore[arg-type]


def test_shifts_must_be_ordered_and_empty_segments_are_allowed() -> None:
    with pytest.raises(ValueError, match="order"):
        shift_statistics([], [Shift(50, 1), Shift(10, 2)])
    stats = shift_statistics([], [Shift(50, 1)], end=100)
    assert [s.n_episodes for s in stats] == [0, 0]
    assert stats[1].return_before is None and stats[1].return_area is None
