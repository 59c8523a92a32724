"""Sizes and counts that crashed, hung or made millions of runs: each is refused in one
line, exit 2, nothing written (issue 21, items 1 and 7; each test failed before its fix)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fade_rl.cli import main

from ..helpers import assert_refused


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        # allocated whole at the start: MemoryError after the folder was written
        (["train", "-p", "buffer_size=1000000000000000"], "buffer_size: 1000000000000000"),
        # SB3 collects a whole train_freq before it looks at the budget: never ends
        (["train", "-p", "train_freq=100000000000000"], "train_freq: 100000000000000 steps"),
        (["train", "-p", "gradient_steps=100000000000"], "gradient_steps: must be in [-1"),
        # every grid point would repeat the same none runs
        (
            ["sweep", "--methods", "none", "--grid", "methods.fade.meta_lr=1,2"],
            "no run uses methods.fade",
        ),
        (["compare", "--methods", "fade,fade"], "--methods: fade given twice"),
        (
            [
                "sweep",
                "--methods",
                "none",
                "--seeds",
                "100",
                "--grid",
                "gamma=" + ",".join(f"0.{i:04d}" for i in range(1, 2000)),
            ],
            "is over 100000; split the sweep",
        ),
    ],
)
def test_absurd_sizes_are_refused_before_anything_is_written(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture, argv: list, expected: str
) -> None:
    assert_refused(capsys, tmp_path / "runs", [*argv, "-c", str(config_file)], expected)


def test_a_ray_address_without_a_cluster_is_one_line(
    config_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What ``ray.init`` raises when no cluster answers (``--address auto`` with none running;
    stood in for here, since another test's Ray may be up) is one line, not a traceback."""
    import ray

    def no_cluster(*args: object, **kwargs: object) -> None:
        raise ConnectionError("Could not find any running Ray instance.\nMore detail.")

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", no_cluster)
    runs = tmp_path / "runs"
    argv = ["compare", "--methods", "none", "--seeds", "1", "--backend", "ray", "--no-progress"]
    code = main([*argv, "--address", "auto", "-c", str(config_file), "-f", str(runs)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "--address auto: no Ray cluster answers there (Could not find any running" in err
    assert err.count("\n") == 1, err


def test_a_measurement_batch_is_bounded(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    runs = tmp_path / "runs"
    argv = ["train", "-p", "logging.plasticity_batch=1000000000000", "-c", str(config_file)]
    assert main([*argv, "-f", str(runs)]) == 2
    err = capsys.readouterr().err
    assert "plasticity_batch" in err and "[2, 1000000]" in err and err.count("\n") == 1, err
    assert not runs.exists()
