"""The many-level suite: its manifest, floors, tuning on the first levels, the oracle and the
report, end to end on a tiny FrozenLake whose map flips every 50 episodes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from fade_rl.cli import main
from fade_rl.experiments.reports.compact import compact_tree
from fade_rl.experiments.reports.levels import make_levels_report
from fade_rl.experiments.runs.checks import ConfigError
from fade_rl.experiments.runs.validate import ReportInputError
from fade_rl.experiments.suite.levels import (
    level_means,
    level_score,
    normalize_levels,
    prefix_return,
)
from fade_rl.experiments.suite.levels_manifest import load_levels_suite
from fade_rl.experiments.suite.levels_phases import LevelSuiteRun
from fade_rl.experiments.suite.provenance import stamp, write_phase_stamp
from fade_rl.methods import METHODS

from ..helpers import write_config

REPO = Path(__file__).resolve().parents[3]
MANIFEST = REPO / "configs/suite_v2/suite.yaml"


def _manifest(tmp_path: Path, **changes) -> Path:
    """The repository's manifest with one tiny FrozenLake setting, tuned in the smoke tier."""
    data = yaml.safe_load(MANIFEST.read_text())
    config = yaml.safe_load((REPO / "configs/suite_v2/dqn_frozenlake_switches.yaml").read_text())
    config["env"]["kwargs"]["map_schedule"]["period"] = 50
    config["budget"]["n_timesteps"] = 400
    config["logging"].update(checkpoint_interval=400, plasticity_interval=100)
    write_config(tmp_path / "lake.yaml", config)
    data["tuning_seeds"] = [100]
    data["grids"] = {m: {"axes": {"learning_rate": ["x0.5", "x1"]}} for m in METHODS}
    data["tiers"]["smoke"] = {"tune": True, "held_out_seeds": 2, "sensitivity": False}
    data["settings"] = {
        "lake": {
            "config": "lake.yaml",
            "tiers": ["smoke"],
            "held_out_seeds": 2,
            "levels": 4,
            "tune_steps": 200,
            "smoke": {"tune_steps": 200, "levels": 3},
        }
    }
    data.update(changes)
    return write_config(tmp_path / "suite.yaml", data)


def test_the_repository_manifest_loads_and_every_setting_builds() -> None:
    suite = load_levels_suite(MANIFEST)
    assert suite.grid_size() == 9 and all("learning_rate" in g.axes for g in suite.grids.values())
    for spec in suite.settings.values():
        assert spec.levels >= 10
        for tier in spec.tiers:
            spec.load(tier)  # validates every tier's config (smoke overrides included)


@pytest.mark.parametrize(
    ("grids", "message"),
    [
        ({"wd": {"axes": {"learning_rate": ["x1"]}}}, "same number of points"),
        ({"wd": {"axes": {"methods.wd.weight_decay": [0.1, 0.01]}}}, "learning_rate in every"),
        ({"wd": {"axes": {"learning_rate": []}}}, "axis learning_rate has no values"),
        ({"nope": {"axes": {"learning_rate": ["x1", "x2"]}}}, "unknown method 'nope'"),
    ],
)
def test_an_unfair_or_bad_grid_is_one_line_naming_it(tmp_path: Path, grids, message) -> None:
    data = {m: {"axes": {"learning_rate": ["x0.5", "x1"]}} for m in METHODS}
    data.update(grids)
    with pytest.raises(ConfigError, match=message):
        load_levels_suite(_manifest(tmp_path, grids=data))


def test_a_method_without_a_grid_is_refused(tmp_path: Path) -> None:
    data = {m: {"axes": {"learning_rate": ["x0.5", "x1"]}} for m in METHODS if m != "cbp"}
    with pytest.raises(ConfigError, match="give every method a grid; cbp has none"):
        load_levels_suite(_manifest(tmp_path, grids=data))


def test_floors_tuning_on_the_first_levels_the_oracle_and_the_report(tmp_path, capsys) -> None:
    folder = tmp_path / "suite"
    args = ["--manifest", str(_manifest(tmp_path)), "--tier", "smoke", "-f", str(folder)]
    assert main(["suite", *args, "--methods", "none,fade", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "| level | oracle (random) | none |" in printed  # the headline table comes first
    assert f"tensorboard --logdir {folder}" in printed and "0 failed" in printed
    # tuning: 200 steps (the first levels), the point with the best mean return is chosen
    protocol = json.loads((folder / "protocol.json").read_text())
    for method in ("none", "fade"):
        pick = protocol["chosen"]["lake"][method]
        by_lr = {}
        for entry in pick["tuning"]:
            [[key, lr]] = entry["point"]
            summary = json.loads(
                (
                    folder / f"tuning/lake__learning_rate={lr}/{method}/seed_100/summary.json"
                ).read_text()
            )
            assert summary["n_timesteps"] == 200 and key == "algo.hyperparams.learning_rate"
            by_lr[lr] = prefix_return(summary)
            assert entry["mean_return"] == pytest.approx(by_lr[lr])
        assert pick["point"][0][1] == max(by_lr, key=lambda v: by_lr[v])
    # the oracle: reset with the manifest's overrides at the plain agent's chosen point
    oracle = yaml.safe_load((folder / "held_out/lake__oracle/reset/seed_0/config.yaml").read_text())
    assert oracle["methods"]["reset"] == {
        "target": "all", "every": None, "at_shift": True, "fresh_buffer": True,
    }  # fmt: skip
    plain_lr = protocol["chosen"]["lake"]["none"]["point"][0][1]
    fade_lr = protocol["chosen"]["lake"]["fade"]["point"][0][1]
    assert oracle["algo"]["hyperparams"]["learning_rate"] == plain_lr
    # the report's scores, by hand from the floors and the summaries
    report = make_levels_report(folder, reps=50)  # (again: the command wrote it already)
    floors_data = json.loads((folder / "floors/lake.json").read_text())
    assert floors_data["levels"] == 3 and sorted(floors_data["seeds"]) == ["0", "1"]
    floors = level_means(list(floors_data["seeds"].values()))[:3]

    def levels(setting: str, method: str, seed: int) -> list:
        path = folder / f"held_out/{setting}/{method}/seed_{seed}/summary.json"
        return [s["mean_return"] for s in json.loads(path.read_text())["segments"]][:3]

    ceilings = level_means([levels("lake__oracle", "reset", s) for s in (0, 1)])
    rows = {(r["method"], int(r["seed"])): r for r in _csv(folder / "report/runs.csv")}
    for method in ("none", "fade", "oracle"):
        for seed in (0, 1):
            setting, name = ("lake__oracle", "reset") if method == "oracle" else ("lake", method)
            expected = level_score(normalize_levels(levels(setting, name, seed), floors, ceilings))
            assert float(rows[method, seed]["score"]) == pytest.approx(expected.score)
            assert float(rows[method, seed]["slope"]) == pytest.approx(expected.slope)
    assert "### All settings" in report["table"]
    text = (folder / "report/report.md").read_text()
    level0 = [float(r["normalized"]) for r in _csv(folder / "report/segments.csv")
              if r["segment"] == "0"]  # fmt: skip
    assert len(level0) == 3  # none, fade, the oracle
    lam = {r["method"]: r["log10_lambda_q50"] for r in _csv(folder / "report/segments.csv")}
    assert lam["none"] == "" and -6.0 < float(lam["fade"]) < -2.0  # init_decay 1e-4 moved
    assert "## FADE's decay rates per level" in text
    assert "## FADE's sensitivity" in text  # its tuning runs, reported beside
    assert f"| lake | {sorted(level0)[1]:.3f} |" in text  # the median over them
    assert "## Plasticity loss" in text and (folder / "report/levels_lake.png").is_file()
    # a level where no random episode ended gives no floor: named in every run's problem
    broken = dict(
        floors_data, seeds={k: [v[0], None, *v[2:]] for k, v in floors_data["seeds"].items()}
    )
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken/floors").mkdir()
    (tmp_path / "broken/floors/lake.json").write_text(json.dumps(broken))
    for name in ("held_out", "held_out.json", "protocol.json", "tuning"):
        (tmp_path / "broken" / name).symlink_to(folder / name)
    with pytest.raises(
        ReportInputError, match=r"edited since it was written\); rerun .*--phase floors"
    ):
        make_levels_report(tmp_path / "broken", reps=20)  # floors carry their digest
    (tmp_path / "broken/floors/lake.json").write_text(
        json.dumps(stamp(broken, tmp_path / "broken", []))
    )
    make_levels_report(tmp_path / "broken", reps=20)
    problems = {r["problem"] for r in _csv(tmp_path / "broken/report/runs.csv")}
    assert problems == {"its random floors: level 1: no run ended an episode in it"}
    # a held-out run that did not run the chosen point is refused: here edited afterwards,
    # which its phase's digest catches; stamped again, the protocol check catches it
    config = folder / "held_out/lake/fade/seed_1/config.yaml"
    original = config.read_text()
    config.write_text(original.replace(f"learning_rate: {fade_lr}", "learning_rate: 9.0"))
    with pytest.raises(ReportInputError, match=r"has changed since; rerun .*--phase held_out"):
        make_levels_report(folder, reps=20)
    write_phase_stamp(folder, "held_out")
    with pytest.raises(ReportInputError, match=r"ran algo.hyperparams.learning_rate=9.0 but"):
        make_levels_report(folder, reps=20)
    config.write_text(original)
    write_phase_stamp(folder, "held_out")
    # a compact copy (floors included) gives the same scores through `fade-rl report`
    compact_tree(folder, tmp_path / "compact")
    assert main(["report", str(tmp_path / "compact"), "--reps", "20"]) == 0
    again = {
        (r["method"], r["seed"]): r["score"] for r in _csv(tmp_path / "compact/report/runs.csv")
    }
    assert again == {(m, str(s)): r["score"] for (m, s), r in rows.items()}


def _csv(path: Path) -> list[dict[str, str]]:
    import csv

    with open(path) as fh:
        return list(csv.DictReader(fh))


def test_the_oracle_needs_the_plain_agent(tmp_path: Path) -> None:
    suite = load_levels_suite(_manifest(tmp_path))
    with pytest.raises(ConfigError, match="add none"):
        LevelSuiteRun(suite, "smoke", tmp_path / "suite", methods=["fade"])


def test_cli_refuses_a_phase_of_the_other_suite(tmp_path: Path, capsys) -> None:
    args = ["--manifest", str(_manifest(tmp_path)), "--tier", "smoke", "-f", str(tmp_path / "s")]
    assert main(["suite", *args, "--phase", "references"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "many-level manifest, whose phases are floors" in err[0]
    assert main(["references", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--phase floors" in err[0]
    assert not (tmp_path / "s").exists()  # nothing written


def test_sensitivity_skips_the_points_fades_tuning_grid_already_ran(tmp_path: Path) -> None:
    suite = load_levels_suite(MANIFEST)
    run = LevelSuiteRun(suite, "standard", tmp_path, settings=["dqn_cartpole_permute"])
    labels = [job.label for job in run.sensitivity_jobs()]
    # 3 meta_lr x 3 init_decay on 2 seeds, but meta_lr 1, 10, 100 at the default init_decay
    # (1e-4) and the setting's learning rate: FADE's tuning grid ran those already
    assert len(labels) == (9 - 3) * 2
    assert not any("init_decay=0.0001/" in label for label in labels)
    assert all(label.startswith("dqn_cartpole_permute__meta_lr=") for label in labels)
