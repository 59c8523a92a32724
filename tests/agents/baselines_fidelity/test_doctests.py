"""The runnable examples in the new interventions' docstrings run and give what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "fade_rl.agents.architectures",
    "fade_rl.agents.baselines.cbp",
    "fade_rl.agents.baselines.injection",
    "fade_rl.agents.baselines.l2init",
    "fade_rl.agents.baselines.trac",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
