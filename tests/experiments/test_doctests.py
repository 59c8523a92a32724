"""The runnable examples in the experiments modules' docstrings run."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize("name", ["folder", "guard", "methods", "policies"])
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(f"fade_rl.experiments.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
