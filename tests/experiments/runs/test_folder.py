"""The run folder's owner: one process at a time, config identity first, nothing deleted."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from fade_rl.cli import main
from fade_rl.experiments.runs.config import validate_config
from fade_rl.experiments.runs.folder import RunError, RunFolder, run_dir_for, run_name
from fade_rl.experiments.runs.run import train_run
from fade_rl.experiments.sweeps import make_jobs, run_jobs

from ..helpers import fast_config, write_config


def test_seed_folders_are_named_in_one_place(tmp_path: Path) -> None:
    assert run_name(3) == "seed_3"
    config = validate_config(fast_config(method="none", seed=3))
    assert run_dir_for(tmp_path, config) == tmp_path / "tiny_flip" / "none" / "seed_3"
    (job,) = make_jobs([write_config(tmp_path / "c.yaml", fast_config())], ["none"], [3], tmp_path)
    assert job.run_dir == run_dir_for(tmp_path, config) and job.label == "tiny_flip/none/seed_3"


def test_a_locked_folder_refuses_a_second_run(tmp_path: Path) -> None:
    import os

    config = validate_config(fast_config(method="none"))
    run_dir = run_dir_for(tmp_path, config)
    busy = re.escape(f"run folder {run_dir} is in use by pid {os.getpid()}")
    with RunFolder(run_dir), pytest.raises(RunError, match=busy):  # another run holds it
        train_run(config, tmp_path)
    assert not (run_dir / "config.yaml").exists()  # the second one wrote nothing
    assert train_run(config, tmp_path)["status"] == "completed"  # free again


def test_compare_rerun_with_changed_config_is_refused_not_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    config = write_config(tmp_path / "c.yaml", fast_config(n_timesteps=300))
    base = ["compare", "-c", str(config), "--methods", "none", "--seeds", "1", "--no-progress"]
    base += ["-f", str(tmp_path / "runs")]
    assert main(base) == 0
    run_dir = tmp_path / "runs" / "tiny_flip" / "none" / "seed_0"
    saved = (run_dir / "config.yaml").read_text()
    capsys.readouterr()

    assert main([*base, "-p", "learning_rate=0.05", "gamma=0.5"]) == 1
    err = capsys.readouterr().err
    assert "holds a run of a different config" in err and "--restart" in err
    assert err.count("\n") == 1
    assert (run_dir / "config.yaml").read_text() == saved  # untouched

    # run_jobs and execute_job ask the same owner
    jobs = make_jobs([config], ["none"], [0], tmp_path / "runs", overrides=["gamma=0.5"])
    with pytest.raises(RunError, match="different config"):
        run_jobs(jobs, progress=False)
    # the explicit flag discards the old run and trains the new config
    assert main([*base, "-p", "gamma=0.5", "--restart"]) == 0
    assert (
        yaml.safe_load((run_dir / "config.yaml").read_text())["algo"]["hyperparams"]["gamma"] == 0.5
    )


def test_unusable_only_checkpoint_is_refused_and_nothing_deleted(tmp_path: Path) -> None:
    data = fast_config(method="none")
    config = validate_config(data)
    train_run(config, tmp_path)
    run_dir = run_dir_for(tmp_path, config)
    (run_dir / "summary.json").unlink()  # as if killed after the last checkpoint
    (run_dir / "checkpoints" / "step_600" / "state.json").unlink()
    before = sorted(p.relative_to(run_dir) for p in run_dir.rglob("*"))
    episodes = (run_dir / "episodes.jsonl").read_text()
    with (
        pytest.warns(UserWarning, match="step_600 is unusable"),
        pytest.raises(RunError, match=r"no usable checkpoint.*pass --restart"),
    ):
        train_run(config, tmp_path)
    assert sorted(p.relative_to(run_dir) for p in run_dir.rglob("*")) == before
    assert (run_dir / "episodes.jsonl").read_text() == episodes
    # --restart is the explicit way out
    assert train_run(config, tmp_path, resume=False)["n_timesteps"] == 600


def test_restart_discards_a_finished_run(tmp_path: Path) -> None:
    config = validate_config(fast_config(method="none", n_timesteps=300))
    train_run(config, tmp_path)
    assert train_run(config, tmp_path, resume=False)["status"] == "completed"
    command = (run_dir_for(tmp_path, config) / "command.txt").read_text()
    assert command.count("# started") == 1  # the old command.txt went with the old run


@pytest.mark.parametrize("name", ["..", "."])
def test_names_that_leave_the_log_folder_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture, name: str
) -> None:
    runs = tmp_path / "a" / "runs"
    runs.mkdir(parents=True)
    victim = tmp_path / "a" / "none"
    config = write_config(tmp_path / "c.yaml", fast_config())
    code = main(["train", "-c", str(config), "-f", str(runs), "--name", name, "--method", "none"])
    assert code == 2
    err = capsys.readouterr().err
    assert "would leave the log folder" in err and err.count("\n") == 1
    assert not victim.exists() and list(runs.iterdir()) == []


def test_resumes_are_recorded_as_they_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fade_rl.experiments.runs.callbacks import EpisodeRecorder

    config = validate_config(fast_config(method="none", n_timesteps=900))
    run_dir = run_dir_for(tmp_path, config)
    original = EpisodeRecorder._on_step

    def dies_at_700(self: EpisodeRecorder) -> bool:
        if self.num_timesteps == 700:
            raise KeyboardInterrupt("killed")
        return original(self)

    monkeypatch.setattr(EpisodeRecorder, "_on_step", dies_at_700)
    with pytest.raises(KeyboardInterrupt):
        train_run(config, tmp_path)  # checkpoints at 300 and 600, killed at 700
    with pytest.raises(KeyboardInterrupt):
        train_run(config, tmp_path)  # resumes at 600, killed before the next checkpoint
    monkeypatch.setattr(EpisodeRecorder, "_on_step", original)
    summary = train_run(config, tmp_path)
    assert summary["resumed_at"] == [600, 600]
    assert [json.loads(line)["step"] for line in (run_dir / "resumes.jsonl").open()] == [600, 600]


@pytest.mark.parametrize(
    ("text", "problem"),
    [('{"status": "completed"}', "final_return is missing"), ('{"status": "comp', "truncated")],
)
def test_a_damaged_summary_is_refused_not_skipped_as_complete(
    tmp_path: Path, capsys: pytest.CaptureFixture, text: str, problem: str
) -> None:
    config = write_config(tmp_path / "c.yaml", fast_config(n_timesteps=300))
    args = ["train", "-c", str(config), "--method", "none", "-f", str(tmp_path / "runs")]
    assert main([*args, "--no-progress"]) == 0
    run_dir = tmp_path / "runs" / "tiny_flip" / "none" / "seed_0"
    (run_dir / "summary.json").write_text(text)
    assert not RunFolder(run_dir).is_complete()
    capsys.readouterr()
    before = sorted(p.relative_to(run_dir) for p in run_dir.rglob("*"))
    assert main([*args, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert problem in err and "--restart" in err and err.count("\n") == 1, err
    assert sorted(p.relative_to(run_dir) for p in run_dir.rglob("*")) == before
    # a sweep over it refuses too, before it runs anything
    jobs = make_jobs([config], ["none"], [0], tmp_path / "runs")
    with pytest.raises(RunError, match=problem):
        run_jobs(jobs, progress=False)
    assert main([*args, "--no-progress", "--restart"]) == 0
    assert RunFolder(run_dir).is_complete()


def test_a_duplicated_key_in_the_saved_config_names_its_line(tmp_path: Path) -> None:
    config = validate_config(fast_config(method="none"))
    run_dir = run_dir_for(tmp_path, config)
    run_dir.mkdir(parents=True)
    text = yaml.safe_dump(config.to_dict(), sort_keys=False)
    (run_dir / "config.yaml").write_text(text + "seed: 0\n")
    with pytest.raises(RunError) as info:
        RunFolder(run_dir).status(config)
    message = str(info.value)
    assert "line" in message and "'seed'" in message and "--restart" in message, message
    assert "\n" not in message
