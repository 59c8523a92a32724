"""The suite: its manifest, references, tuning selection and held-out runs, end to end (tiny)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from fade_rl.cli import main
from fade_rl.experiments.runs.checks import ConfigError
from fade_rl.experiments.runs.folder import RunError
from fade_rl.experiments.runs.validate import ReportInputError
from fade_rl.experiments.suite import SuiteRun
from fade_rl.experiments.suite.manifest import load_suite
from fade_rl.experiments.suite.provenance import env_digest, read_phase, stamp
from fade_rl.experiments.suite.references import load_references
from fade_rl.experiments.suite.score import run_score

from ..helpers import fast_config, local_ray, write_config

REPO = Path(__file__).resolve().parents[3]


def _manifest(tmp_path: Path, **changes) -> Path:
    """The repository's manifest with one tiny setting, tuned in the smoke tier."""
    data = yaml.safe_load((REPO / "configs/suite/suite.yaml").read_text())
    write_config(tmp_path / "tiny.yaml", fast_config(n_timesteps=600, name="tiny"))
    data["tuning_seeds"] = [100]
    data["reference_seeds"] = [1000]
    data["tiers"]["smoke"] = {"tune": True, "held_out_seeds": 1, "sensitivity": False}
    data["grids"]["fade"] = {"key": "methods.fade.meta_lr", "values": [1, 100, 1000]}
    data["settings"] = {
        "tiny": {
            "config": "tiny.yaml",
            "tiers": ["smoke"],
            "held_out_seeds": 2,
            "task_keys": ["reward.sign"],
            "tasks": [
                {"values": {"reward.sign": 1}, "steps": 300, "env_kwargs": {"reward": {"sign": 1}}},
                {
                    "values": {"reward.sign": -1},
                    "steps": 300,
                    "env_kwargs": {"reward": {"sign": -1}},
                },
            ],
            "smoke": {"overrides": ["env.kwargs.reward.sign.period=300"], "task_steps": 300},
        }
    }
    data.update(changes)
    return write_config(tmp_path / "suite.yaml", data)


def test_the_repository_manifest_loads_and_every_standard_setting_builds() -> None:
    suite = load_suite(REPO / "configs/suite/suite.yaml")
    standard = [s.name for s in suite.tier_settings("standard")]
    assert len(standard) >= 4
    assert {s.name for s in suite.tier_settings("full")} > set(standard)
    assert all(len(g.values) == 3 for g in suite.grids.values())
    for spec in suite.settings.values():
        for tier in spec.tiers:
            spec.load(tier)  # validates every tier's config (smoke overrides included)


def test_grid_values_with_x_multiply_the_settings_own_value() -> None:
    suite = load_suite(REPO / "configs/suite/suite.yaml")
    config = suite.setting("dqn_reward_flip").load("standard")
    points = suite.grids["none"].points(config)
    base = config.algo.hyperparams["learning_rate"]
    assert [key for key, _ in points] == ["algo.hyperparams.learning_rate"] * 3
    assert [value for _, value in points] == pytest.approx([base / 2, base, 2 * base])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"grids": {"none": {"key": "learning_rate", "values": [1]}}}, "same number of values"),
        ({"tiers": {"smoke": {"tune": False}}}, "give exactly"),
    ],
)
def test_a_bad_manifest_is_one_line_naming_the_key(tmp_path: Path, change, message) -> None:
    with pytest.raises(ConfigError, match=message):
        load_suite(_manifest(tmp_path, **change))


def test_unequal_grids_are_refused_since_every_method_gets_the_same_budget(tmp_path) -> None:
    data = yaml.safe_load((REPO / "configs/suite/suite.yaml").read_text())
    data["grids"]["wd"]["values"] = [0.01, 0.1]
    with pytest.raises(ConfigError, match="same number of values"):
        load_suite(write_config(tmp_path / "suite.yaml", data))


def test_references_tuning_selection_and_held_out_runs(tmp_path: Path) -> None:
    suite = load_suite(_manifest(tmp_path))
    run = SuiteRun(suite, "smoke", tmp_path / "suite", methods=["none", "fade"], progress=False)
    with pytest.raises(RunError, match="references phase first"):
        run.select()
    results = run.run(["references"])
    refs = load_references(tmp_path / "suite")["tiny"]
    assert refs["digest"] == env_digest(suite.setting("tiny").load("smoke"))
    for i, task in enumerate(refs["tasks"]):
        ceiling_run = tmp_path / f"suite/references/tiny__task{i}/none/seed_1000/summary.json"
        segments = json.loads(ceiling_run.read_text())["segments"]
        assert len(segments) == 1  # the task is frozen: no shift
        assert task["ceiling"] == pytest.approx(segments[0]["mean_return"])
    flipped = refs["tasks"][1]
    assert flipped["floor"] < 0  # a random policy on the -1 task collects negative reward
    # 300 steps teach a fresh agent little: give the tasks a scale by hand, so that selection
    # below has scores to compare.
    refs["tasks"][0].update(floor=0.0, ceiling=100.0)
    refs["tasks"][1].update(floor=-30.0, ceiling=-10.0)
    # an edited file must be stamped again, or the suite refuses it (provenance)
    refs = stamp(
        refs, tmp_path / "suite", [tmp_path / "suite" / r for r in refs["provenance"]["runs"]]
    )
    (tmp_path / "suite/references/tiny.json").write_text(json.dumps(refs))

    results = run.run(["tuning", "held_out"])
    assert all(r.status == "completed" for rs in results.values() for r in rs)

    protocol = json.loads((tmp_path / "suite/protocol.json").read_text())
    for method in ("none", "fade"):
        pick = protocol["chosen"]["tiny"][method]
        by_value = {}
        for entry in pick["tuning_scores"]:
            name = f"tiny__{pick['key'].rsplit('.', 1)[-1]}={entry['value']}"
            summary = json.loads(
                (tmp_path / f"suite/tuning/{name}/{method}/seed_100/summary.json").read_text()
            )
            by_value[entry["value"]] = run_score(summary, refs).score
            assert entry["mean_score"] == pytest.approx(by_value[entry["value"]])
        assert pick["value"] == max(by_value, key=lambda v: by_value[v])
        for seed in (0,):  # the tier caps held-out seeds at 1
            config = yaml.safe_load(
                (tmp_path / f"suite/held_out/tiny/{method}/seed_{seed}/config.yaml").read_text()
            )
            node = config
            for part in pick["key"].split("."):
                node = node[part]
            assert node == pick["value"]
    timing = [
        json.loads(line) for line in (tmp_path / "suite/timing.jsonl").read_text().splitlines()
    ]
    assert [t["phase"] for t in timing] == ["references", "tuning", "held_out"]
    assert [t["completed"] for t in timing] == [2, 6, 2]
    assert np.isfinite([t["seconds"] for t in timing]).all()
    # the held_out phase stamped its runs: the report reads them only as they were
    stamped = json.loads((tmp_path / "suite/held_out.json").read_text())["provenance"]["runs"]
    assert sorted(stamped) == [f"held_out/tiny/{m}/seed_0" for m in ("fade", "none")]
    assert set(stamped["held_out/tiny/none/seed_0"]) == {"config.yaml", "summary.json"}
    read_phase(tmp_path / "suite", "held_out")
    summary = tmp_path / "suite/held_out/tiny/none/seed_0/summary.json"
    summary.write_text(summary.read_text().replace('"status"', ' "status"', 1))
    with pytest.raises(ReportInputError, match="--phase held_out"):
        read_phase(tmp_path / "suite", "held_out")


def test_a_sharded_held_out_phase_stamps_once_every_shard_finished(tmp_path: Path) -> None:
    suite = load_suite(_manifest(tmp_path))
    folder = tmp_path / "suite"
    kwargs = {"methods": ["none", "fade"], "progress": False}
    suite.tiers["smoke"].tune = False  # held-out runs at the config's values: no tuning
    SuiteRun(suite, "smoke", folder, shard=(0, 2), **kwargs).run(["held_out"])
    assert not (folder / "held_out.json").exists()  # shard 1's run is not there yet
    SuiteRun(suite, "smoke", folder, shard=(1, 2), **kwargs).run(["held_out"])
    assert len(json.loads((folder / "held_out.json").read_text())["provenance"]["runs"]) == 2


def test_held_out_before_tuning_is_refused(tmp_path: Path) -> None:
    suite = load_suite(_manifest(tmp_path))
    run = SuiteRun(suite, "smoke", tmp_path / "suite", methods=["none"], progress=False)
    with pytest.raises(RunError, match="references phase first"):
        run.held_out_jobs()


def test_cli_refuses_an_unknown_setting_and_a_bad_shard(tmp_path, capsys) -> None:
    manifest = str(_manifest(tmp_path))
    out = str(tmp_path / "s")
    assert (
        main(["suite", "--tier", "smoke", "--manifest", manifest, "--settings", "nope", "-f", out])
        == 2
    )
    assert "not in the smoke tier" in capsys.readouterr().err
    assert (
        main(["suite", "--tier", "smoke", "--manifest", manifest, "--shard", "2/2", "-f", out]) == 2
    )
    assert "--shard" in capsys.readouterr().err
    assert not Path(out).exists()


def test_sensitivity_skips_the_points_fades_tuning_grid_already_ran(tmp_path: Path) -> None:
    suite = load_suite(REPO / "configs/suite/suite.yaml")
    run = SuiteRun(suite, "standard", tmp_path / "s", progress=False)
    jobs = run.sensitivity_jobs()
    n_settings, n_seeds = len(suite.tier_settings("standard")), len(suite.tuning_seeds)
    assert len(jobs) == (9 - 3) * n_settings * n_seeds
    fade = [j.config["methods"]["fade"] for j in jobs]
    assert all(f["init_decay"] != pytest.approx(1e-4) for f in fade)  # tuning's init_decay
    assert {f["meta_lr"] for f in fade} == {1, 10, 100}


def test_a_slice_of_the_smoke_tier_runs_and_scores(tmp_path: Path) -> None:
    """The repository's smoke tier, one setting, two methods: references, then held-out runs."""
    suite = load_suite(REPO / "configs/suite/suite.yaml")
    run = SuiteRun(
        suite,
        "smoke",
        tmp_path / "smoke",
        settings=["dqn_frozenlake_switch"],
        methods=["none", "reset"],
        progress=False,
    )
    results = run.run(["references", "tuning", "held_out"])  # smoke does not tune
    assert "tuning" not in results
    assert [r.status for r in results["held_out"]] == ["completed", "completed"]
    refs = load_references(tmp_path / "smoke")["dqn_frozenlake_switch"]
    for method in ("none", "reset"):
        path = tmp_path / f"smoke/held_out/dqn_frozenlake_switch/{method}/seed_0/summary.json"
        summary = json.loads(path.read_text())
        assert [s["values"] for s in summary["segments"]] == [{"lake.map": 0}, {"lake.map": 1}]
        score = run_score(summary, refs)
        assert score.segments[0] is not None  # the first map's references give it a scale


def test_references_command_writes_the_settings_references(tmp_path, capsys) -> None:
    manifest = str(_manifest(tmp_path))
    out = tmp_path / "refs"
    argv = ["references", "--tier", "smoke", "--manifest", manifest, "-f", str(out)]
    assert main([*argv, "--no-progress"]) == 0
    refs = load_references(out)["tiny"]
    assert [t["values"] for t in refs["tasks"]] == [{"reward.sign": 1}, {"reward.sign": -1}]
    assert refs["command"].startswith("fade-rl references --tier smoke")
    assert not (out / "tuning").exists() and not (out / "held_out").exists()


def test_suite_phases_run_on_ray_and_resume_locally(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("ray")
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    manifest = str(_manifest(tmp_path))
    out = tmp_path / "suite"
    argv = ["suite", "--tier", "smoke", "--manifest", manifest, "-f", str(out), "--no-progress"]
    with local_ray() as address:
        ray = ["--backend", "ray", "--address", address, "--methods", "none"]
        assert main([*argv, *ray, "--phase", "references", "--phase", "tuning"]) == 0
    refs = load_references(out)["tiny"]
    assert all(t["ceiling"] is not None for t in refs["tasks"])
    points = {p.parents[2].name for p in (out / "tuning").glob("*/none/seed_100/summary.json")}
    assert len(points) == 3  # none's three learning rates ran on the cluster
    capsys.readouterr()
    # The local pool resumes the same folder: Ray's runs are finished, so all are skipped.
    assert main([*argv, "--methods", "none", "--phase", "tuning"]) == 0
    assert "0 completed, 3 skipped" in capsys.readouterr().out
