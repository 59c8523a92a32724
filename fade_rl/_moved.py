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
        return importlib.import_module(new)

    def exec_module(self, module: ModuleType) -> None:
        """The new module is already executed: nothing to do."""


def install() -> None:
    """Put the finder first on ``sys.meta_path`` (once)."""
    if not any(isinstance(f, _MovedModuleFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _MovedModuleFinder())
