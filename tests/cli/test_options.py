"""The CLI's choices come from the registries, and every shared option is defined once."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from fade_rl.cli import build_parser, main
from fade_rl.cli.suite import ALL_PHASES
from fade_rl.experiments.runs.config import ALGOS, METHODS
from fade_rl.experiments.suite.manifest import TIERS
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
        ("suite", "--phase", ALL_PHASES),
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


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["compare", "--methods", "none", "--seeds", "1000000000"],
            "--seeds: must be in [1, 10000]",
        ),
        (
            ["compare", "--methods", "none", "--workers", "100000"],
            "--workers: must be in [1, 1024]",
        ),
        (["compare", "--methods", "none", "--seed", "-1"], "--seed: must be in [0, 2147483647]"),
        (["train", "-n", str(10**13)], "--n-timesteps: must be in [1, 1000000000000]"),
        (["suite", "--tier", "smoke", "--shard", "3/2"], "--shard: expected 0 <= K < N"),
    ],
)
def test_every_count_is_bounded_in_one_line_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture, argv: list, expected: str
) -> None:
    runs = tmp_path / "runs"
    code = main(
        [*argv, "--env", "CartPole-v1", "-f", str(runs)]
        if argv[0] != "suite"
        else [*argv, "-f", str(runs)]
    )
    err = capsys.readouterr().err
    assert code == 2, err
    assert expected in err and err.count("\n") == 1, err
    assert not runs.exists()
