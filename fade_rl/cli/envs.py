"""``fade-rl envs``: list the registered non-stationary environment ids."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

__all__ = ["add", "run"]


def add(sub: Any) -> None:
    """Register the ``envs`` command."""
    p = sub.add_parser(
        "envs",
        help="list the registered non-stationary environment ids",
        description="List the fade_rl/... environment ids with what changes in each.",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    """Print each ``fade_rl/...`` id with what changes in it."""
    from fade_rl.envs import list_envs

    rows = list_envs()
    width = max(len(env_id) for env_id, _ in rows)
    for env_id, description in rows:
        print(f"{env_id:<{width}}  {description}")
    return 0
