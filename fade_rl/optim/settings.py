"""FADE's hyperparameters: every parameter group is checked as torch.optim checks its own.

A value FADE cannot use (not a number, not finite, out of range) is refused with a
one-line ``ValueError`` that names the argument and what it must be.

Example:
    >>> validate_group(dict(lr=float("inf"), base="adam", betas=(0.9, 0.999), eps=1e-8,
    ...     meta_lr=1.0, init_decay=1e-4, log_decay_bounds=(-15.0, 0.0), idbd=False,
    ...     idbd_meta_lr=None, fade=True, check_finite=False))
    Traceback (most recent call last):
    ...
    ValueError: lr must be finite, got inf; pass a finite number
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["BASES", "validate_group"]

#: The base optimizers FADE's own step implements.
BASES = ("sgd", "adam")


def validate_group(group: dict[str, Any]) -> None:
    """Refuse hyperparameters FADE cannot use, as torch.optim does: one line naming the fix."""

    def check(ok: bool, message: str) -> None:
        if not ok:
            raise ValueError(message)

    def number(name: str, value: Any, low: float = 0.0) -> float:
        """A finite real number >= ``low`` (bool is not a number)."""
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        check(ok, f"{name} must be a float, got {value!r}")
        check(math.isfinite(value), f"{name} must be finite, got {value}; pass a finite number")
        check(value >= low, f"{name} must be >= {low:g}, got {value}")
        return float(value)

    lr = number("lr", group["lr"])
    base = group["base"]
    check(base in BASES, f"base must be one of {BASES}, got {base!r}")
    betas = group["betas"]
    check(
        len(betas) == 2
        and all(isinstance(b, (int, float)) and not isinstance(b, bool) for b in betas)
        and all(0.0 <= b < 1.0 for b in betas),
        f"betas must be two numbers in [0, 1), got {betas!r}",
    )
    number("eps", group["eps"])
    number("meta_lr", group["meta_lr"])
    check(isinstance(group["fade"], bool), f"'fade' must be True or False, got {group['fade']!r}")
    check(
        isinstance(group["check_finite"], bool),
        f"check_finite must be True or False, got {group['check_finite']!r}",
    )
    bounds = group["log_decay_bounds"]
    check(
        len(bounds) == 2
        and all(isinstance(b, (int, float)) and math.isfinite(b) for b in bounds)
        and bounds[0] < bounds[1] <= 0.0,
        f"log_decay_bounds must be (gamma_min, gamma_max) with finite gamma_min < gamma_max <= 0, "
        f"got {bounds!r}",
    )
    init_decay = number("init_decay", group["init_decay"])
    check(0.0 < init_decay <= 1.0, f"init_decay must be in (0, 1], got {init_decay}")
    check(
        bounds[0] <= math.log(init_decay) <= bounds[1],
        f"init_decay={init_decay} (log {math.log(init_decay):.3g}) lies outside "
        f"log_decay_bounds={bounds!r}; widen the bounds or change init_decay",
    )
    idbd_meta_lr = group["idbd_meta_lr"]
    if idbd_meta_lr is not None:
        number("idbd_meta_lr", idbd_meta_lr)
    if group["idbd"]:
        check(base == "sgd", f"idbd=True adapts SGD step sizes; use base='sgd', got base={base!r}")
        check(lr > 0.0, f"idbd=True starts the step sizes at lr, which must be > 0, got {lr}")
