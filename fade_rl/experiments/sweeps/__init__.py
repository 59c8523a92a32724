"""Sweeps wing (above runs): many runs as jobs, on the local process pool or on Ray.

Wings, lowest first: runs < sweeps < suite < reports; a module imports only from its own
wing and the ones below it (``tests/test_imports.py`` checks).
"""

from fade_rl.experiments.sweeps.backends import BACKENDS, run_jobs
from fade_rl.experiments.sweeps.jobs import (
    Job,
    JobResult,
    check_jobs,
    execute_job,
    grid_name,
    make_jobs,
    parse_grid,
)

__all__ = [
    "BACKENDS",
    "Job",
    "JobResult",
    "check_jobs",
    "execute_job",
    "grid_name",
    "make_jobs",
    "parse_grid",
    "run_jobs",
]
