"""The runnable examples in the metrics docstrings run and print what they say."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "fade_rl.metrics.functional",
    "fade_rl.metrics.shifts",
    "fade_rl.metrics.probes",
    "fade_rl.metrics.callback",
    "fade_rl.metrics.episodes",
    "fade_rl.metrics.measure",
    "fade_rl.metrics.probing",
    "fade_rl.metrics.writer",
    "fade_rl.metrics.tensorboard",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no runnable example"
    assert result.failed == 0
