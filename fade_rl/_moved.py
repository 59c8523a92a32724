"""Old module paths that still import, for one release, with a ``DeprecationWarning``.

When a module moves, its old dotted path goes into :data:`MOVED` with the new one: an
import of the old path then warns and hands back the new module itself (one object under
two names, so ``isinstance`` and monkeypatching agree whichever path a caller used). The
finder sits first on ``sys.meta_path`` so that a moved package's submodules are never
loaded a second time under the old name.

Example:
    >>> import sys, warnings
    >>> MOVED["fade_rl._moved_example"] = "fade_rl._moved"
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     import fade_rl._moved_example as old
    >>> old is sys.modules["fade_rl._moved"], caught[0].category.__name__
    (True, 'DeprecationWarning')
    >>> old.__spec__.name
    'fade_rl._moved'
    >>> del MOVED["fade_rl._moved_example"], sys.modules["fade_rl._moved_example"]
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import warnings
from collections.abc import Sequence
from types import ModuleType

__all__ = ["MOVED", "install"]

#: old dotted module path -> the module that now holds its names (added to by each move).
MOVED: dict[str, str] = {
    # methods: fade_rl.agents.baselines and fade_rl.experiments.methods -> fade_rl.methods
    "fade_rl.agents.baselines": "fade_rl.methods",
    "fade_rl.agents.baselines.cbp": "fade_rl.methods.cbp",
    "fade_rl.agents.baselines.hooks": "fade_rl.methods.hooks",
    "fade_rl.agents.baselines.injection": "fade_rl.methods.injection",
    "fade_rl.agents.baselines.l2init": "fade_rl.methods.l2init",
    "fade_rl.agents.baselines.redo": "fade_rl.methods.redo",
    "fade_rl.agents.baselines.reset": "fade_rl.methods.reset",
    "fade_rl.agents.baselines.shrink_perturb": "fade_rl.methods.snp",
    "fade_rl.agents.baselines.trac": "fade_rl.methods.trac",
    "fade_rl.agents.baselines.weight_decay": "fade_rl.methods.wd",
    "fade_rl.experiments.methods": "fade_rl.methods",
    # algos: fade_rl.agents (but agents.baselines) and fade_rl.parts -> fade_rl.algos, fade_rl.nets
    "fade_rl.agents.architectures": "fade_rl.algos",
    "fade_rl.agents.attach": "fade_rl.algos.attach",
    "fade_rl.agents.checkpoint": "fade_rl.algos.checkpoint",
    "fade_rl.agents.common": "fade_rl.algos.common",
    "fade_rl.agents.dqn": "fade_rl.algos.dqn",
    "fade_rl.agents.extractors": "fade_rl.algos.extractors",
    "fade_rl.agents.sac": "fade_rl.algos.sac",
    "fade_rl.agents.td3": "fade_rl.algos.td3",
    "fade_rl.parts": "fade_rl.algos",
    "fade_rl.parts.checks": "fade_rl.algos",
    "fade_rl.parts.critics": "fade_rl.algos",
    "fade_rl.parts.decay": "fade_rl.algos.decay",
    "fade_rl.parts.dormancy": "fade_rl.nets.dormancy",
    "fade_rl.parts.heads": "fade_rl.algos",
    "fade_rl.parts.modules": "fade_rl.nets.modules",
    "fade_rl.parts.optimizers": "fade_rl.algos.optimizers",
    "fade_rl.parts.readout": "fade_rl.nets.readout",
    "fade_rl.parts.schedule": "fade_rl.nets.schedule",
    "fade_rl.parts.targets": "fade_rl.algos.targets",
    "fade_rl.parts.td": "fade_rl.algos.td",
    # wings: fade_rl/experiments/<module>.py -> fade_rl/experiments/{runs,sweeps,suite,reports}/
    # (fade_rl.experiments.suite is now the suite wing, which still exports SuiteRun & co.)
    "fade_rl.experiments.build": "fade_rl.experiments.runs.build",
    "fade_rl.experiments.callbacks": "fade_rl.experiments.runs.callbacks",
    "fade_rl.experiments.checkpoint": "fade_rl.experiments.runs.checkpoint",
    "fade_rl.experiments.checks": "fade_rl.experiments.runs.checks",
    "fade_rl.experiments.compact": "fade_rl.experiments.reports.compact",
    "fade_rl.experiments.config": "fade_rl.experiments.runs.config",
    "fade_rl.experiments.folder": "fade_rl.experiments.runs.folder",
    "fade_rl.experiments.guard": "fade_rl.experiments.runs.guard",
    "fade_rl.experiments.logs": "fade_rl.experiments.runs.logs",
    "fade_rl.experiments.policies": "fade_rl.experiments.runs.policies",
    "fade_rl.experiments.pool": "fade_rl.experiments.sweeps.local",
    "fade_rl.experiments.references": "fade_rl.experiments.suite.references",
    "fade_rl.experiments.report": "fade_rl.experiments.reports.plain",
    "fade_rl.experiments.report_load": "fade_rl.experiments.reports.load",
    "fade_rl.experiments.report_plots": "fade_rl.experiments.reports.plots",
    "fade_rl.experiments.report_stats": "fade_rl.experiments.reports.stats",
    "fade_rl.experiments.run": "fade_rl.experiments.runs.run",
    "fade_rl.experiments.score": "fade_rl.experiments.suite.score",
    "fade_rl.experiments.suite_config": "fade_rl.experiments.suite.manifest",
    "fade_rl.experiments.suite_plots": "fade_rl.experiments.reports.suite_plots",
    "fade_rl.experiments.suite_report": "fade_rl.experiments.reports.suite",
    "fade_rl.experiments.suite_stats": "fade_rl.experiments.reports.suite_stats",
    "fade_rl.experiments.suite_summary": "fade_rl.experiments.reports.suite_summary",
    "fade_rl.experiments.suite_tables": "fade_rl.experiments.reports.suite_tables",
    "fade_rl.experiments.summary": "fade_rl.experiments.runs.summary",
    "fade_rl.experiments.sweep": "fade_rl.experiments.sweeps",
}


class _MovedModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Resolves an old path of :data:`MOVED` to the new module, with a deprecation warning."""

    def __init__(self) -> None:
        self._own_specs: dict[str, importlib.machinery.ModuleSpec | None] = {}

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        new = MOVED[spec.name]
        warnings.warn(
            f"{spec.name} has moved to {new}; import it from there "
            "(the old path goes in the next release)",
            DeprecationWarning,
            stacklevel=2,
        )
        module = importlib.import_module(new)
        self._own_specs[spec.name] = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        """The new module is already executed; give it back its own ``__spec__``, which the
        import machinery replaced with the old path's."""
        module.__spec__ = self._own_specs.pop(module.__spec__.name)  # type: ignore[union-attr]


def install() -> None:
    """Put the finder first on ``sys.meta_path`` (once)."""
    if not any(isinstance(f, _MovedModuleFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _MovedModuleFinder())
