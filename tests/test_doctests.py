"""The runnable examples in the package's docstrings run and print what they say.

One list for the whole package: a module whose docstrings gain an example goes here.
"""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "fade_rl.algos",
    "fade_rl.algos.attach",
    "fade_rl.algos.common",
    "fade_rl.algos.critics",
    "fade_rl.algos.decay",
    "fade_rl.algos.dqn.agent",
    "fade_rl.algos.dqn.family",
    "fade_rl.algos.dqn.policy",
    "fade_rl.algos.extractors",
    "fade_rl.algos.offpolicy",
    "fade_rl.algos.optimizers",
    "fade_rl.algos.protocol",
    "fade_rl.algos.registry",
    "fade_rl.algos.sac.agent",
    "fade_rl.algos.sac.family",
    "fade_rl.algos.sac.policy",
    "fade_rl.algos.targets",
    "fade_rl.algos.td",
    "fade_rl.algos.td3.agent",
    "fade_rl.algos.td3.family",
    "fade_rl.algos.td3.policy",
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
    "fade_rl.nets",
    "fade_rl.nets.architectures",
    "fade_rl.nets.checks",
    "fade_rl.nets.critics",
    "fade_rl.nets.decay",
    "fade_rl.nets.dormancy",
    "fade_rl.nets.heads",
    "fade_rl.nets.modules",
    "fade_rl.nets.readout",
    "fade_rl.nets.schedule",
    "fade_rl.optim.curvature",
    "fade_rl.optim.fade",
    "fade_rl.optim.kernels",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no runnable example"
    assert result.failed == 0
