"""The random generators a run draws from, as JSON for its checkpoint (never a pickle).

A resumed run is the same run as an uninterrupted one only if it draws the same numbers:
python's ``random``, numpy's global generator (SB3's replay sampling and epsilon-greedy),
torch's (CPU and every CUDA device) and the model's action space (SB3's random actions).
Loading a model reseeds all of them with the run's seed, so a resume sets them back
after the load. The environment's own generators travel in ``env.pkl``. Arrays are kept
as hex strings of their bytes, so ``state.json`` stays small and readable.

Example (a round trip: the same draws after the states are put back):
    >>> import json
    >>> import random
    >>> import numpy as np
    >>> from gymnasium.spaces import Discrete
    >>> class Model:
    ...     action_space = Discrete(4)
    >>> model = Model()
    >>> saved = json.loads(json.dumps(rng_state(model)))
    >>> first = random.random(), np.random.rand(), model.action_space.sample()
    >>> restore_rng_state(model, saved)
    >>> (random.random(), np.random.rand(), model.action_space.sample()) == first
    True
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = ["restore_rng_state", "rng_state"]


def _spaces(space: Any) -> Iterator[Any]:
    """A space and, depth first, the spaces inside it (Dict, Tuple): each samples its own."""
    yield space
    inner = getattr(space, "spaces", None)
    for sub in (inner.values() if isinstance(inner, dict) else inner) or ():
        yield from _spaces(sub)


def rng_state(model: Any) -> dict[str, Any]:
    """Every generator's state as JSON-able values."""
    import torch as th

    version, words, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    cuda = []
    if th.cuda.is_available() and th.cuda.is_initialized():
        cuda = [bytes(s.numpy()).hex() for s in th.cuda.get_rng_state_all()]
    return {
        "python": [version, np.asarray(words, dtype=np.uint32).tobytes().hex(), gauss],
        "numpy": [name, np.asarray(keys, dtype=np.uint32).tobytes().hex(), pos, has_gauss, cached],
        "torch": bytes(th.get_rng_state().numpy()).hex(),
        "cuda": cuda,
        "action_space": [s.np_random.bit_generator.state for s in _spaces(model.action_space)],
    }


def restore_rng_state(model: Any, state: dict[str, Any]) -> None:
    """Put back the generators :func:`rng_state` saved (call it after the model is loaded)."""
    import torch as th

    version, words, gauss = state["python"]
    random.setstate(
        (version, tuple(int(w) for w in np.frombuffer(bytes.fromhex(words), np.uint32)), gauss)
    )
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state(
        (name, np.frombuffer(bytes.fromhex(keys), np.uint32).copy(), pos, has_gauss, cached)
    )
    th.set_rng_state(th.frombuffer(bytearray.fromhex(state["torch"]), dtype=th.uint8))
    if state["cuda"] and th.cuda.is_available() and th.cuda.device_count() == len(state["cuda"]):
        th.cuda.set_rng_state_all(
            [th.frombuffer(bytearray.fromhex(s), dtype=th.uint8) for s in state["cuda"]]
        )
    spaces = list(_spaces(model.action_space))
    if len(spaces) != len(state["action_space"]):
        raise ValueError("the checkpoint's action space has another shape")
    for space, saved in zip(spaces, state["action_space"], strict=True):
        space.np_random.bit_generator.state = saved
