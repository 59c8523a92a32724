"""A method's callbacks in a checkpoint: their state through their own API.

A callback's checkpoint state is its own API: ``state_dict()``/``load_state_dict()``
(tensors, saved with ``torch.save`` to ``callback_<i>.pt``) and/or ``state()`` (JSON); for
callbacks that only count, the method's spec names the attributes a checkpoint keeps.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> class Counter:
    ...     n_resets = 3
    >>> folder = Path(tempfile.mkdtemp())
    >>> states = save_callback_state([Counter()], ["n_resets"], folder)
    >>> states
    [{'class': 'Counter', 'counters': {'n_resets': 3}}]
    >>> fresh = Counter(); fresh.n_resets = 0
    >>> restore_callback_state([fresh], states, folder, "cpu"); fresh.n_resets
    3
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fade_rl.experiments.runs.folder import CALLBACK_TENSORS, RunError

__all__ = ["restore_callback_state", "save_callback_state"]


def save_callback_state(
    callbacks: Sequence[Any], counters: Sequence[str], folder: Path
) -> list[dict]:
    """Each callback's state through its own API; tensors go to ``callback_<i>.pt``.

    ``state_dict()`` (tensors) is saved with ``torch.save``; ``state()`` (JSON) and the
    method's ``counters`` (attributes of callbacks without a state API) go to the entry.
    """
    import torch as th

    out = []
    for i, cb in enumerate(callbacks):
        entry: dict[str, Any] = {"class": type(cb).__name__}
        if hasattr(cb, "state"):
            entry["state"] = cb.state()
        entry["counters"] = {name: getattr(cb, name) for name in counters if hasattr(cb, name)}
        if hasattr(cb, "state_dict"):
            tensors = cb.state_dict()
            if tensors is not None:
                entry["tensors"] = CALLBACK_TENSORS.format(i)
                th.save(tensors, folder / entry["tensors"])
        out.append(entry)
    return out


_ENTRY_KEYS = ("class", "state", "counters", "tensors")


def restore_callback_state(
    callbacks: Sequence[Any], states: Sequence[dict[str, Any]], folder: Path, device: Any
) -> None:
    """Give each callback back the state :func:`save_callback_state` kept (tensors are read
    with ``weights_only=True``); :class:`RunError` if the callbacks do not match."""
    import torch as th

    if len(states) != len(callbacks):
        raise RunError(
            f"checkpoint holds {len(states)} method callbacks, the run has {len(callbacks)}"
        )
    for cb, entry in zip(callbacks, states, strict=True):
        if entry.get("class") != type(cb).__name__:
            raise RunError(
                f"checkpoint callback {entry.get('class')} does not match {type(cb).__name__}"
            )
        if "tensors" in entry:
            saved = th.load(folder / entry["tensors"], map_location=device, weights_only=True)
            cb.load_state_dict(saved)
        legacy = {
            k: v for k, v in entry.items() if k not in _ENTRY_KEYS
        }  # older checkpoints: counters at top level
        for key, value in {**legacy, **entry.get("state", {}), **entry.get("counters", {})}.items():
            setattr(cb, key, value)
