"""``fade-rl envs``: list the registered non-stationary environment ids."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

__all__ = ["DESCRIPTION", "HELP", "add", "run"]


#: The one-line help and the description of ``fade-rl envs``.
HELP = "list the registered non-stationary environment ids"
DESCRIPTION = "List the fade_rl/... environment ids with what changes in each."


def add(p: argparse.ArgumentParser) -> None:
    """Add the options of ``fade-rl envs``."""


def run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    """Print each ``fade_rl/...`` id with what changes in it."""
    from fade_rl.envs import list_envs

    rows = list_envs()
    width = max(len(env_id) for env_id, _ in rows)
    for env_id, description in rows:
        print(f"{env_id:<{width}}  {description}")
    return 0
