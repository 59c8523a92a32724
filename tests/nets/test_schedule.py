"""Periodic events: due once each time a multiple of the period is crossed."""

from __future__ import annotations

from fade_rl.nets import Periodic, next_multiple


def test_next_multiple() -> None:
    assert [next_multiple(n, 100) for n in (0, 99, 100, 250)] == [100, 100, 200, 300]


def test_periodic_is_due_once_per_crossing_even_when_steps_jump() -> None:
    period = Periodic(100)
    period.start(0)
    # SB3 with several envs advances num_timesteps by n_envs: 96, 104 crosses 100 once;
    # a jump over two multiples (104 -> 310) is one event, the next due at 400.
    steps = [96, 104, 108, 199, 200, 310, 399, 400]
    assert [step for step in steps if period.due(step)] == [104, 200, 310, 400]


def test_periodic_restarts_from_a_resumed_step() -> None:
    period = Periodic(100)
    period.start(250)  # learn(..., reset_num_timesteps=False) at step 250
    assert [period.due(step) for step in (260, 300)] == [False, True]
