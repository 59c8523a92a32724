"""The runnable examples in the package's docstrings run and print what they say.

One list for the whole package: a module whose docstrings gain an example goes here.
"""

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
    "fade_rl.experiments.compact",
    "fade_rl.experiments.folder",
    "fade_rl.experiments.guard",
    "fade_rl.experiments.methods",
    "fade_rl.experiments.policies",
    "fade_rl.experiments.suite_stats",
    "fade_rl.metrics.callback",
    "fade_rl.metrics.episodes",
    "fade_rl.metrics.functional",
    "fade_rl.metrics.measure",
    "fade_rl.metrics.probes",
    "fade_rl.metrics.probing",
    "fade_rl.metrics.shifts",
    "fade_rl.metrics.tensorboard",
    "fade_rl.metrics.writer",
    "fade_rl.optim.curvature",
    "fade_rl.optim.fade",
    "fade_rl.optim.kernels",
    "fade_rl.optim.packing",
    "fade_rl.optim.settings",
    "fade_rl.optim.state",
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
