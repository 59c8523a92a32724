"""Sweeps: grids, a local process pool and Ray; failures recorded, finished runs skipped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fade_rl.experiments.runs.config import ConfigError
from fade_rl.experiments.sweeps import make_jobs, parse_grid, run_jobs

from ..helpers import local_ray, small_config, write_config


def test_parse_grid_products() -> None:
    points = parse_grid(["learning_rate=0.1,0.2", "methods.fade.meta_lr=1,2,3"])
    assert len(points) == 6
    assert points[0] == [("algo.hyperparams.learning_rate", 0.1), ("methods.fade.meta_lr", 1)]
    assert parse_grid([]) == [[]]
    with pytest.raises(ConfigError, match="key=v1,v2"):
        parse_grid(["learning_rate"])


def test_make_jobs_validates_everything_first(tmp_path: Path) -> None:
    path = write_config(tmp_path / "s.yaml", small_config())
    jobs = make_jobs([path], ["fade", "none"], [0, 1], tmp_path / "runs", grid=["gamma=0.9,0.99"])
    assert len(jobs) == 8
    names = sorted({job.config["name"] for job in jobs})
    assert names == ["tiny_flip__gamma=0.9", "tiny_flip__gamma=0.99"]
    assert jobs[0].run_dir == tmp_path / "runs" / "tiny_flip__gamma=0.9" / "fade" / "seed_0"
    # one bad grid value stops the sweep before anything runs or is written
    with pytest.raises(ConfigError, match=r"algo\.hyperparams\.batch_size: expected an integer"):
        make_jobs([path], ["fade"], [0], tmp_path / "runs", grid=["batch_size=32,big"])
    assert not (tmp_path / "runs").exists()


def _failing_and_good_jobs(tmp_path: Path) -> list:
    good = write_config(tmp_path / "good.yaml", small_config(budget={"n_timesteps": 600}))
    # Valid config, but a learning rate that makes training non-finite: fails while it runs.
    bad_data = small_config(name="broken", budget={"n_timesteps": 600})
    bad_data["algo"]["hyperparams"]["learning_rate"] = 1e30
    bad_data["logging"]["plasticity_interval"] = 0
    bad = write_config(tmp_path / "bad.yaml", bad_data)
    jobs = make_jobs([good], ["none"], [0, 1], tmp_path / "runs")
    return jobs + make_jobs([bad], ["none"], [0], tmp_path / "runs")


def test_local_pool_records_failures_and_skips_finished(tmp_path: Path) -> None:
    jobs = _failing_and_good_jobs(tmp_path)
    out = tmp_path / "runs" / "sweep_results.json"
    results = run_jobs(jobs, backend="local", workers=2, progress=False, results_file=out)
    status = {r.label: r.status for r in results}
    assert status == {
        "tiny_flip/none/seed_0": "completed",
        "tiny_flip/none/seed_1": "completed",
        "broken/none/seed_0": "failed",
    }
    failed = next(r for r in results if r.status == "failed")
    assert "RunError" in failed.error and "non-finite parameter" in failed.error
    failure = json.loads((jobs[2].run_dir / "failure.json").read_text())
    assert "non-finite" in failure["error"] and "Traceback" in failure["traceback"]
    assert [r["status"] for r in json.loads(out.read_text())] == [
        "completed",
        "completed",
        "failed",
    ]
    for job in jobs[:2]:
        assert json.loads((job.run_dir / "summary.json").read_text())["n_timesteps"] == 600

    again = run_jobs(jobs, backend="local", workers=2, progress=False)
    assert [r.status for r in again] == ["skipped", "skipped", "failed"]


def test_ray_backend_on_a_local_ray(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("ray")
    from fade_rl.cli import main

    # A throwaway cluster on this machine: no token authentication (Ray >= 2.5x enables it
    # by default for clusters that ray.init starts).
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")

    jobs = _failing_and_good_jobs(tmp_path)
    with local_ray() as address:  # the sweep connects to it by address
        results = run_jobs(jobs, backend="ray", address=address, progress=False)
        assert [r.status for r in results] == ["completed", "completed", "failed"]
        assert "RunError" in results[2].error and "non-finite" in results[2].error
        assert (jobs[2].run_dir / "failure.json").is_file()
        # The CLI reaches the same cluster; finished runs are skipped without starting tasks.
        good = tmp_path / "good.yaml"
        base = ["-f", str(tmp_path / "runs"), "--seeds", "2", "--no-progress", "--backend", "ray"]
        code = main(["sweep", "-c", str(good), "--methods", "none", *base, "--address", address])
        assert code == 0
        assert "2 runs: 0 completed, 2 skipped" in capsys.readouterr().out
    for job in jobs[:2]:
        assert json.loads((job.run_dir / "summary.json").read_text())["status"] == "completed"
