"""When something periodic is next due, counted in environment steps.

Example:
    >>> next_multiple(250, every=100)
    300
    >>> period = Periodic(100)
    >>> period.start(250)
    >>> [period.due(step) for step in (299, 300, 301, 450)]
    [False, True, False, True]
"""

from __future__ import annotations

__all__ = ["Periodic", "next_multiple"]


def next_multiple(n: int, every: int) -> int:
    """The first multiple of ``every`` strictly after ``n``: ``(n // every + 1) * every``."""
    return (n // every + 1) * every


class Periodic:
    """Due each time the step count crosses a multiple of ``every`` (at most once per call).

    Args:
        every: the period in steps, >= 1.

    Example:
        A check every 10 steps, asked at irregular step counts: a jump over several
        multiples (20 and 30) is one due, and the next is at the multiple after it:

        >>> period = Periodic(10)
        >>> [(step, period.due(step)) for step in (4, 10, 15, 35, 39, 40)]
        [(4, False), (10, True), (15, False), (35, True), (39, False), (40, True)]
        >>> period.next
        50
    """

    def __init__(self, every: int) -> None:
        self.every = every
        self.next = every

    def start(self, now: int) -> None:
        """Count from step ``now``: next due at the first multiple of ``every`` after it."""
        self.next = next_multiple(now, self.every)

    def due(self, now: int) -> bool:
        """Whether a multiple of ``every`` was reached since the last time it was due."""
        if now < self.next:
            return False
        self.next = next_multiple(now, self.every)
        return True
