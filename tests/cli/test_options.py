"""The CLI's choices come from the registries, and every shared option is defined once."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from fade_rl.cli import build_parser
from fade_rl.experiments.runs.config import ALGOS, METHODS
from fade_rl.experiments.suite.manifest import TIERS
from fade_rl.experiments.suite.phases import PHASES
from fade_rl.experiments.sweeps import BACKENDS

CLI = Path(__file__).resolve().parents[2] / "fade_rl" / "cli"
SHARED = (
    "--workers",
    "--restart",
    "--no-progress",
    "--backend",
    "--address",
    "--methods",
    "--config",
    "--params",
    "--log-folder",
    "--seeds",
    "--tier",
    "--algo",
)


def _actions(command: str) -> dict[str, argparse.Action]:
    sub = build_parser()._subparsers._group_actions[0]  # type: ignore[union-attr]
    return {s: a for a in sub.choices[command]._actions for s in a.option_strings}


@pytest.mark.parametrize(
    ("command", "flag", "choices"),
    [
        ("train", "--algo", ALGOS),
        ("sweep", "--algo", ALGOS),
        ("compare", "--backend", BACKENDS),
        ("suite", "--backend", BACKENDS),
        ("suite", "--tier", TIERS),
        ("references", "--tier", TIERS),
        ("suite", "--phase", PHASES),
    ],
)
def test_choices_come_from_the_registries(command: str, flag: str, choices: tuple) -> None:
    assert tuple(_actions(command)[flag].choices) == tuple(choices)


def test_the_method_help_names_every_method() -> None:
    text = " ".join(_actions("compare")["--methods"].help.split())
    assert all(f"{m} (" in text for m in METHODS)


@pytest.mark.parametrize("flag", SHARED)
def test_a_shared_option_is_defined_once(flag: str) -> None:
    defined = [
        path.name
        for path in sorted(CLI.glob("*.py"))
        for _ in re.finditer(rf'add_argument\(\s*(?:"-\w",\s*)?"{flag}"', path.read_text())
    ]
    assert defined == ["options.py"], f"{flag} is defined in {defined}"
