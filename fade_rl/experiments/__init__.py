"""Experiments: typed configs, one resumable run, sweeps (local or Ray), the suite, reports.

The layer the ``fade-rl`` CLI drives, in four wings, lowest first (each imports only from
itself and the wings below it): :mod:`~fade_rl.experiments.runs` (a config, one run, its
folder), :mod:`~fade_rl.experiments.sweeps` (many runs, locally or on Ray),
:mod:`~fade_rl.experiments.suite` (the benchmark) and :mod:`~fade_rl.experiments.reports`.
See ``docs/experiments.md`` and ``docs/architecture.md``.
"""

from fade_rl.experiments.runs.config import (
    METHODS,
    ConfigError,
    ExperimentConfig,
    load_config,
    validate_config,
)
from fade_rl.experiments.runs.folder import RunError, RunFolder, is_complete, run_dir_for, run_name
from fade_rl.experiments.runs.guard import NonFiniteError, NonFiniteGuard
from fade_rl.experiments.runs.run import train_run

__all__ = [
    "METHODS",
    "ConfigError",
    "ExperimentConfig",
    "NonFiniteError",
    "NonFiniteGuard",
    "RunError",
    "RunFolder",
    "is_complete",
    "load_config",
    "run_dir_for",
    "run_name",
    "train_run",
    "validate_config",
]
