"""The fade-rl CLI: help texts, envs, train/compare/sweep/report, exit codes and error lines."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from fade_rl.cli import main

REPO = Path(__file__).resolve().parents[2]

TINY = {
    "name": "cli_flip",
    "env": {
        "id": "fade_rl/CartPole-RewardFlip-v0",
        "kwargs": {"reward": {"sign": {"type": "periodic", "values": [1, -1], "period": 300}}},
    },
    "algo": {
        "name": "dqn",
        "hyperparams": {"learning_starts": 100, "buffer_size": 2000, "batch_size": 32},
    },
    "budget": {"n_timesteps": 600},
    "logging": {"checkpoint_interval": 300, "plasticity_interval": 300, "progress_bar": False},
}


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY))
    return path


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ([], ["train", "compare", "sweep", "report", "envs", "tensorboard --logdir runs/"]),
        (
            ["train"],
            [
                "--algo",
                "--env",
                "--n-timesteps",
                "--seed",
                "--device",
                "--log-folder",
                "--config",
                "--method",
                "KEY=VALUE",
                "resumes",
                "snp (shrink & perturb)",
            ],
        ),
        (["compare"], ["--methods", "--seeds", "--workers", "--backend", "--address"]),
        (["sweep"], ["--grid", "--backend", "failure.json", "skipped"]),
        (["report"], ["IQM", "bootstrap", "--out"]),
    ],
)
def test_help(command: list[str], expected: list[str], capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as info:
        main([*command, "--help"])
    assert info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for word in expected:
        assert word in text, word


def test_console_script_entry_point() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "fade_rl.cli", "envs"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    ).stdout
    assert "fade_rl/CartPole-RewardFlip-v0" in out and "flips sign" in out


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["-p", "budget.n_timestep=5"], "budget.n_timestep: unknown key"),
        (["-p", "budget.n_timesteps=lots"], "budget.n_timesteps: "),
        (["--env", "fade_rl/Nope-v0"], "env.id: unknown environment id 'fade_rl/Nope-v0'"),
        (["-p", "learning_rat=0.1"], "algo.hyperparams.learning_rat: DQN takes no argument"),
        (["--method", "magic"], "method: "),
    ],
)
def test_bad_config_is_one_line_exit_2_nothing_written(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture, extra: list, expected: str
) -> None:
    runs = tmp_path / "runs"
    code = main(["train", "--config", str(config_file), "-f", str(runs), *extra])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"fade-rl: error: {config_file}: ") and expected in err
    assert err.count("\n") == 1
    assert not runs.exists()


def test_missing_config_file_and_bad_methods(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["train", "--config", str(tmp_path / "none.yaml"), "-f", str(tmp_path)]) == 2
    assert "none.yaml: no such config file" in capsys.readouterr().err
    code = main(
        [
            "compare",
            "--env",
            "fade_rl/CartPole-RewardFlip-v0",
            "--methods",
            "fade,magic",
            "-f",
            str(tmp_path / "r"),
        ]
    )
    assert code == 2
    assert "--methods: unknown method 'magic'" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "nowhere")]) == 2
    assert "nowhere: no such folder" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_train_then_compare_and_report(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    runs = tmp_path / "runs"
    code = main(
        [
            "train",
            "-c",
            str(config_file),
            "-f",
            str(runs),
            "--method",
            "wd",
            "--seed",
            "1",
            "-p",
            "gamma=0.95",
            "--no-progress",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    run_dir = runs / "cli_flip" / "wd" / "seed_1"
    assert f"tensorboard --logdir {run_dir}" in out and "done: 600 steps" in out
    saved = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert saved["algo"]["hyperparams"]["gamma"] == 0.95 and saved["method"] == "wd"
    assert "--method wd" in (run_dir / "command.txt").read_text()

    # compare: two methods x two seeds (in this process: the pool is tested in test_sweep)
    compare = ["compare", "-c", str(config_file), "-f", str(runs), "--methods", "fade,none"]
    compare += ["--seeds", "2", "--no-progress", "-n", "400"]
    code = main(compare)
    assert code == 0
    out = capsys.readouterr().out
    assert "4 runs: 4 completed, 0 skipped" in out
    assert "| fade | 2 |" in out and "| none | 2 |" in out
    assert f"tensorboard --logdir {runs / 'cli_flip'}" in out
    assert (runs / "cli_flip" / "report" / "report.md").is_file()
    summary = json.loads((runs / "cli_flip" / "fade" / "seed_1" / "summary.json").read_text())
    assert summary["n_timesteps"] == 400

    # the same compare again skips every run
    assert main(compare) == 0
    assert "4 runs: 0 completed, 4 skipped" in capsys.readouterr().out

    assert main(["report", str(runs), "-o", str(tmp_path / "rep"), "--reps", "100"]) == 0
    assert "(5 runs)" in capsys.readouterr().out
    assert (tmp_path / "rep" / "runs.csv").is_file()


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["-p", "learning_rate=-0.001"], "algo.hyperparams.learning_rate: must be >= 0"),
        (["-p", "methods.fade.init_decay=0"], "methods.fade.init_decay: "),
        (["-p", "env.kwargs.reward.sign.period=-5"], "env (fade_rl/CartPole-RewardFlip-v0): "),
        (["-p", "env.kwargs.colour=red"], "env (fade_rl/CartPole-RewardFlip-v0): "),
        (["--env", "fade_rl/Pendulum-Dynamics-v0"], "algo (dqn, MlpPolicy, method fade): "),
        (["-p", "algo.policy=NoSuchPolicy"], "algo (dqn, NoSuchPolicy, method fade): "),
        (["--device", "foo"], "device: unknown torch device 'foo'; use --device cpu or auto"),
        (["-p", "buffer_size=-100"], "algo.hyperparams.buffer_size: must be >= 1"),
        (["-p", "gamma=nan"], "algo.hyperparams.gamma: NaN or infinity"),
        (["-p", "gamma=.nan"], "algo.hyperparams.gamma: NaN or infinity"),
        (["-p", "methods.fade.meta_lr=inf"], "methods.fade.meta_lr: NaN or infinity"),
    ],
)
def test_every_bad_input_is_caught_before_anything_is_written(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture, extra: list, expected: str
) -> None:
    runs = tmp_path / "runs"
    code = main(["train", "--config", str(config_file), "-f", str(runs), *extra])
    err = capsys.readouterr().err
    assert code == 2, err
    assert expected in err and err.count("\n") == 1, err
    assert not runs.exists()
    # compare validates the same way, before any folder exists
    code = main(["compare", "-c", str(config_file), "-f", str(runs), "--methods", "fade", *extra])
    assert code == 2 and not runs.exists()


def test_unavailable_cuda_is_refused(
    config_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    runs = tmp_path / "runs"
    assert main(["train", "-c", str(config_file), "-f", str(runs), "--device", "cuda"]) == 2
    err = capsys.readouterr().err
    assert "device 'cuda' is not available" in err and "--device cpu or auto" in err
    assert err.count("\n") == 1 and not runs.exists()


def test_auto_device_picks_cuda_only_when_present(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from fade_rl.experiments.runs.build import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == "cuda"


def test_bad_files_and_folders_are_one_line_errors(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("name: caf\xe9\n".encode("latin-1"))
    assert main(["train", "-c", str(latin), "-f", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "latin.yaml: not UTF-8 text" in err and err.count("\n") == 1

    a_file = tmp_path / "file.txt"
    a_file.write_text("keep me")
    assert main(["train", "-c", str(config_file), "-f", str(a_file)]) == 2
    err = capsys.readouterr().err
    assert "is a file, not a folder" in err and err.count("\n") == 1
    assert a_file.read_text() == "keep me"

    assert main(["train", "-c", str(config_file), "-f", "/proc/fade_rl_runs"]) == 2
    err = capsys.readouterr().err
    assert "/proc is not writable" in err and err.count("\n") == 1
    assert not (tmp_path / "r").exists()


def test_report_reps_must_be_positive(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    for reps in ("0", "-3"):
        assert main(["report", str(tmp_path), "--reps", reps]) == 2
        assert f"--reps: must be in [1, 1000000], got {reps}" in capsys.readouterr().err
    assert not (tmp_path / "report").exists()
