"""What FADE cannot use: hyperparameters (checked as torch.optim checks its own) and curvature.

A value FADE cannot use (not a number, not finite, out of range) is refused with a
one-line ``ValueError`` that names the argument and what it must be: at construction,
at ``load_state_dict`` and, for the numbers a schedule or a user may rewrite in
``param_groups`` between steps, at every ``step`` (:func:`check_groups`).

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
from collections.abc import Iterable
from typing import Any

import torch
from torch import Tensor

__all__ = ["BASES", "check_curvature", "check_groups", "validate_group"]

#: The base optimizers FADE's own step implements.
BASES = ("sgd", "adam")


def _shown(value: Any) -> str:
    """``repr(value)``, but a tensor (or a pair holding one) is not read: no host sync."""
    items = value if isinstance(value, (tuple, list)) else (value,)
    return "a Tensor" if any(isinstance(v, Tensor) for v in items) else repr(value)


def validate_group(group: dict[str, Any], where: str = "", new: bool = True) -> None:
    """Refuse hyperparameters FADE cannot use, as torch.optim does: one line naming the fix.

    ``where`` (e.g. ``"FADE.step: param_groups[1]"``) starts the message. A tensor value
    is refused by its type, without reading it (no host sync, even in the message).
    ``new=False`` (a loaded or running group) lets an IDBD group have lr 0, which freezes
    it: only a new group starts its step sizes at lr.
    """

    def check(ok: bool, message: str) -> None:
        if not ok:
            raise ValueError(f"{where}: {message}" if where else message)

    def number(name: str, value: Any, low: float = 0.0) -> float:
        """A finite real number >= ``low`` (bool is not a number)."""
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        check(ok, f"{name} must be a float, got {_shown(value)}; pass a Python float")
        check(math.isfinite(value), f"{name} must be finite, got {value}; pass a finite number")
        check(value >= low, f"{name} must be >= {low:g}, got {value}; pass a number >= {low:g}")
        return float(value)

    lr = number("lr", group["lr"])
    base = group["base"]
    check(base in BASES, f"base must be one of {BASES}, got {base!r}")
    betas = group["betas"]
    check(
        isinstance(betas, (tuple, list))
        and len(betas) == 2
        and all(isinstance(b, (int, float)) and not isinstance(b, bool) for b in betas)
        and all(0.0 <= b < 1.0 for b in betas),
        f"betas must be two numbers in [0, 1), got {_shown(betas)}; pass e.g. (0.9, 0.999)",
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
        isinstance(bounds, (tuple, list))
        and len(bounds) == 2
        and all(isinstance(b, (int, float)) and math.isfinite(b) for b in bounds)
        and bounds[0] < bounds[1] <= 0.0,
        f"log_decay_bounds must be (gamma_min, gamma_max) with finite gamma_min < gamma_max <= 0, "
        f"got {_shown(bounds)}; pass e.g. (-15.0, 0.0)",
    )
    init_decay = number("init_decay", group["init_decay"])
    check(
        0.0 < init_decay <= 1.0,
        f"init_decay must be in (0, 1], got {init_decay}; pass a rate in (0, 1]",
    )
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
        check(
            lr > 0.0 or not new,
            f"idbd=True starts the step sizes at lr, which must be > 0, got {lr}",
        )


_REAL = (float, int)  # exact types: bool and tensors go the slow way


def _in_range(group: dict[str, Any]) -> bool:
    """Whether the group's numbers are plain, finite and in range: the common case, fast.

    Stricter than :func:`validate_group` (a numpy float goes the slow way, and passes
    there); never reads a tensor (its type fails first).
    """
    try:
        lr, eps, meta_lr, init = group["lr"], group["eps"], group["meta_lr"], group["init_decay"]
        (b1, b2), (low, high) = group["betas"], group["log_decay_bounds"]
    except (TypeError, ValueError):  # betas or bounds not a pair
        return False
    inf = math.inf
    return (
        type(lr) in _REAL and 0.0 <= lr < inf
        and type(eps) in _REAL and 0.0 <= eps < inf
        and type(meta_lr) in _REAL and 0.0 <= meta_lr < inf
        and ((idbd_lr := group["idbd_meta_lr"]) is None
             or (type(idbd_lr) in _REAL and 0.0 <= idbd_lr < inf))
        and type(b1) in _REAL and type(b2) in _REAL and 0.0 <= b1 < 1.0 and 0.0 <= b2 < 1.0
        and type(init) in _REAL and 0.0 < init <= 1.0
        and type(low) in _REAL and type(high) in _REAL
        and -inf < low <= math.log(init) <= high <= 0.0 and low < high
    )  # fmt: skip


def check_groups(groups: Iterable[dict[str, Any]], where: str, full: bool = True) -> None:
    """Run :func:`validate_group` on FADE's own groups (not a body optimizer's).

    ``full=False`` is :meth:`FADE.step`'s check, a host-side check of Python numbers
    (no device sync, about a microsecond a group): only groups whose numbers (lr, eps,
    meta_lr, idbd_meta_lr, betas, init_decay, log_decay_bounds) are not plain, finite
    and in range go through the full check, which names the fault. A tensor value is
    refused by its type without being read (FADE takes Python floats only).

    Example:
        >>> group = dict(lr=float("inf"), base="sgd", betas=(0.9, 0.999), eps=1e-8, meta_lr=1.0,
        ...     init_decay=1e-4, log_decay_bounds=(-15.0, 0.0), idbd=False, idbd_meta_lr=None,
        ...     fade=True, check_finite=False)
        >>> check_groups([group], "FADE.step", full=False)
        Traceback (most recent call last):
        ...
        ValueError: FADE.step: param_groups[0]: lr must be finite, got inf; pass a finite number
    """
    for index, group in enumerate(groups):
        if not group.get("body") and (full or not _in_range(group)):
            validate_group(group, f"{where}: param_groups[{index}]", new=False)


def check_curvature(group: dict[str, Any] | None, param: Tensor, curvature: Any) -> None:
    """Refuse a curvature :meth:`FADE.set_curvature` cannot use; ``group`` is ``param``'s."""
    if not isinstance(curvature, Tensor) or not curvature.is_floating_point():
        kind = curvature.dtype if isinstance(curvature, Tensor) else type(curvature).__name__
        raise ValueError(
            f"set_curvature: curvature must be a real floating-point tensor, got {kind}; "
            "pass the loss's diagonal curvature as a float tensor (not complex)"
        )
    if group is None:
        raise ValueError(
            "set_curvature: this tensor is not a parameter of the optimizer; "
            "pass one of the tensors given to FADE(...)"
        )
    if not group["fade"]:
        raise ValueError(
            "set_curvature: this parameter is in a group without 'fade': True; "
            "only FADE (head) parameters use curvature"
        )
    if curvature.shape != param.shape:
        raise ValueError(
            f"set_curvature: curvature has shape {tuple(curvature.shape)} but the "
            f"parameter has shape {tuple(param.shape)}; they must match"
        )
    if curvature.device != param.device:
        raise ValueError(
            f"set_curvature: curvature is on {curvature.device} but the parameter is on "
            f"{param.device}; compute it from the same forward pass, on the same device"
        )
    if group["check_finite"] and not bool(torch.isfinite(curvature).all()):
        bad = int((~torch.isfinite(curvature)).sum())
        raise ValueError(
            f"set_curvature: the curvature of the FADE parameter of shape "
            f"{tuple(param.shape)} has {bad} non-finite element(s); it would turn the "
            "decay rates NaN. Find where the loss or features become non-finite."
        )
