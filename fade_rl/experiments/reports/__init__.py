"""Reports wing (top): reading run folders, statistics, tables, plots, the suite report, compaction.

Wings, lowest first: runs < sweeps < suite < reports; a module imports only from its own
wing and the ones below it (``tests/test_imports.py`` checks).
"""
