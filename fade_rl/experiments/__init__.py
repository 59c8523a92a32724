"""Experiments: typed configs, one resumable run, sweeps (local or Ray), reports.

The layer the ``fade-rl`` CLI drives; see ``docs/experiments.md``.
"""

from fade_rl.experiments.config import (
    METHODS,
    ConfigError,
    ExperimentConfig,
    load_config,
    validate_config,
)
from fade_rl.experiments.run import RunError, is_complete, run_dir_for, train_run

__all__ = [
    "METHODS",
    "ConfigError",
    "ExperimentConfig",
    "RunError",
    "is_complete",
    "load_config",
    "run_dir_for",
    "train_run",
    "validate_config",
]
