"""Sweeps wing (above runs): many runs as jobs, on the local process pool or on Ray.

Wings, lowest first: runs < sweeps < suite < reports; a module imports only from its own
wing and the ones below it (``tests/test_imports.py`` checks).
"""

from fade_rl.experiments.sweeps import jobs
from fade_rl.experiments.sweeps.backends import BACKENDS, run_jobs
from fade_rl.experiments.sweeps.jobs import *  # noqa: F403 (the names in jobs.__all__)

__all__ = ["BACKENDS", *jobs.__all__, "run_jobs"]
