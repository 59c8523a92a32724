"""Suite wing (above runs and sweeps): the benchmark's manifest, phases, references and score.

Wings, lowest first: runs < sweeps < suite < reports; a module imports only from its own
wing and the ones below it (``tests/test_imports.py`` checks). The names of
:mod:`~fade_rl.experiments.suite.phases` are exported here too (this package replaced the
module ``fade_rl.experiments.suite`` that held them).
"""

from fade_rl.experiments.suite.phases import (
    HELD_OUT,
    PHASES,
    PROTOCOL,
    REPORT,
    RUN_PHASES,
    SENSITIVITY,
    TIMING,
    TUNING,
    Point,
    SuiteRun,
)

__all__ = [
    "HELD_OUT",
    "PHASES",
    "PROTOCOL",
    "REPORT",
    "RUN_PHASES",
    "SENSITIVITY",
    "TIMING",
    "TUNING",
    "Point",
    "SuiteRun",
]
