"""The ``fade-rl`` command line: train, compare, sweep, report, suite, references, envs.

One module per command (``fade_rl/cli/<command>.py``: ``add(sub)`` registers its parser,
``run(args, argv)`` runs it), the options several commands share defined once in
:mod:`~fade_rl.cli.options`, and the parser and exit codes in :mod:`~fade_rl.cli.main`.
The CLI sits on top: it imports the experiments layer, and nothing imports it.
"""

from fade_rl.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
