"""Inputs that used to change a run in silence: each is refused in one line, exit 2,
nothing written (issue 21, items 1, 2 and 7). Each test failed before its fix."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from fade_rl.experiments.runs.config import MAX_NAME, load_config

from ..helpers import assert_refused


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["sweep", "--grid", "seed=5,6", "--methods", "none", "--seeds", "1"], "--grid seed=5,6"),
        (["sweep", "--grid", "method=none,wd", "--methods", "none"], "each run's method comes"),
        (["sweep", "--grid", "name=a,b", "--methods", "none"], "names each grid point"),
        (["compare", "--methods", "none", "-p", "seed=5"], "-p seed=5: each run's seed"),
        (["compare", "--methods", "none", "-p", "method=wd"], "-p method=wd: each run's method"),
        (
            ["sweep", "--methods", "none", "--grid", "gamma=0.9,0.99", "-p", "gamma=0.5"],
            "algo.hyperparams.gamma is given twice (-p gamma=0.5 and --grid gamma=0.9,0.99)",
        ),
        (
            ["sweep", "--methods", "none", "--grid", "gamma=0.9", "--grid", "gamma=0.8"],
            "is given twice",
        ),
        (
            ["sweep", "--methods", "none", "--grid", "budget.n_timesteps=50", "-n", "60"],
            "budget.n_timesteps is given twice",
        ),
    ],
)
def test_a_sweep_axis_is_never_replaced(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture, argv: list, expected: str
) -> None:
    assert_refused(capsys, tmp_path / "runs", [*argv, "-c", str(config_file)], expected)


def test_train_refuses_a_key_given_by_override_and_flag(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    argv = ["train", "-c", str(config_file), "-p", "seed=5", "--seed", "3"]
    assert_refused(capsys, tmp_path / "runs", argv, "seed is given twice (-p seed=5 and --seed 3)")


def test_an_override_given_once_is_honored(config_file: Path) -> None:
    assert load_config(config_file, ["seed=5"]).seed == 5
    assert load_config(config_file, [], seed=3).seed == 3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "learning_rate: 0.001\nbatch_size: 32\nlearning_rate: 0.5\n",
            "line 8: key 'learning_rate' is given twice",
        ),
        ("learning_rate: yes\n", "'yes' is a YAML 1.1 boolean"),
        ("gamma: on\n", "'on' is a YAML 1.1 boolean"),
        ("learning_rate: true\n", "algo.hyperparams.learning_rate: expected a number, got true"),
        ("gamma: false\n", "algo.hyperparams.gamma: expected a number, got false"),
    ],
)
def test_hyperparams_are_read_strictly(
    tmp_path: Path, capsys: pytest.CaptureFixture, text: str, expected: str
) -> None:
    hyper = "".join(f"    {line}\n" for line in text.splitlines())
    path = tmp_path / "c.yaml"
    path.write_text(
        "name: strict\nenv: {id: CartPole-v1}\nalgo:\n  name: dqn\n  hyperparams:\n" + hyper
    )
    assert_refused(capsys, tmp_path / "runs", ["train", "-c", str(path)], expected)


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("budget.n_timesteps=true", "budget.n_timesteps"),
        ("methods.fade.meta_lr=true", "methods.fade.meta_lr"),
        ("learning_rate=yes", "'yes' is a YAML 1.1 boolean"),
        ("logging.plasticity_interval={a: &x 1, b: *x}", "anchors and aliases"),
    ],
)
def test_overrides_are_read_strictly(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture, override: str, expected: str
) -> None:
    argv = ["train", "-c", str(config_file), "-p", override]
    assert_refused(capsys, tmp_path / "runs", argv, expected)


def test_hostile_yaml_is_refused_at_once(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    lines = ["name: bomb", "env: {id: CartPole-v1}", "a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 12)]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines))
    start = time.perf_counter()
    assert_refused(capsys, tmp_path / "runs", ["train", "-c", str(path)], "anchors and aliases")
    deep = tmp_path / "deep.yaml"
    deep.write_text("name: deep\nenv: " + "[" * 50_000 + "]" * 50_000)
    assert_refused(capsys, tmp_path / "runs", ["train", "-c", str(deep)], "nested deeper than")
    assert time.perf_counter() - start < 10


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--name", "x" * 5000], f"at most {MAX_NAME} characters"),
        (["-p", "torch_threads=100000000"], "torch_threads"),
    ],
)
def test_unbounded_values_are_refused_before_anything_is_written(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture, extra: list, expected: str
) -> None:
    assert_refused(capsys, tmp_path / "runs", ["train", "-c", str(config_file), *extra], expected)
