"""Suite wing (above runs and sweeps): the benchmark's manifest, phases, references and score.

Wings, lowest first: runs < sweeps < suite < reports; a module imports only from its own
wing and the ones below it (``tests/test_imports.py`` checks). The names of
:mod:`~fade_rl.experiments.suite.phases` are exported here too (this package replaced the
module ``fade_rl.experiments.suite`` that held them): its ``__all__`` and ``Point``.
"""

from fade_rl.experiments.suite import phases
from fade_rl.experiments.suite.phases import *  # noqa: F403 (the names in phases.__all__)
from fade_rl.experiments.suite.phases import Point

__all__ = [*phases.__all__, "Point"]
