"""Runs wing (lowest): a config, one resumable run, its folder, checkpoints, guard and logs.

Wings, lowest first: runs < sweeps < suite < reports; a module imports only from its own
wing and the ones below it (``tests/test_imports.py`` checks).
"""
