"""The runnable examples in the parts docstrings run and print what they say."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "fade_rl.parts.checks",
    "fade_rl.parts.critics",
    "fade_rl.parts.decay",
    "fade_rl.parts.dormancy",
    "fade_rl.parts.heads",
    "fade_rl.parts.modules",
    "fade_rl.parts.optimizers",
    "fade_rl.parts.readout",
    "fade_rl.parts.schedule",
    "fade_rl.parts.targets",
    "fade_rl.parts.td",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no runnable example"
    assert result.failed == 0
