"""Every method is one module ending in its spec, and generic code asks the spec, never a name."""

from __future__ import annotations

import dataclasses
import importlib
import json
import shutil
import sys
from pathlib import Path

import pytest
import torch
import yaml
from stable_baselines3 import DQN

from fade_rl import FadeDQN
from fade_rl._moved import MOVED
from fade_rl.experiments.runs.build import algorithm_class
from fade_rl.experiments.runs.config import validate_config
from fade_rl.experiments.runs.folder import RunError
from fade_rl.experiments.runs.run import run_dir_for, train_run
from fade_rl.experiments.suite.manifest import Grid, load_suite
from fade_rl.methods import METHODS, PROPOSED, REGISTRY, MethodSpec
from tests.experiments.helpers import fast_config, write_config

torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[2]
MANIFEST = REPO / "configs/suite/suite.yaml"


@pytest.mark.parametrize("name", METHODS)
def test_every_method_is_one_module_ending_in_its_spec(name: str) -> None:
    module = importlib.import_module(f"fade_rl.methods.{name}")
    spec = module.SPEC
    assert isinstance(spec, MethodSpec) and spec is REGISTRY[name] and spec.name == name
    if spec.params is not None:
        assert spec.params.__module__ == module.__name__  # its params live beside it


def test_the_repository_manifests_grids_are_the_specs_defaults() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text())["grids"]
    for name in METHODS:
        default = REGISTRY[name].grid.as_dict()
        assert manifest[name] == default
        # same types too: 1 and 1.0 name different run folders
        assert [type(v) for v in manifest[name]["values"]] == [type(v) for v in default["values"]]


def test_a_method_the_manifest_leaves_out_tunes_its_specs_default_grid(tmp_path: Path) -> None:
    data = yaml.safe_load(MANIFEST.read_text())
    for setting in data["settings"].values():
        setting["config"] = str(MANIFEST.parent / setting["config"])
    data["grids"] = {"wd": {"key": "methods.wd.weight_decay", "values": [0.5, 0.05, 0.005]}}
    suite = load_suite(write_config(tmp_path / "suite.yaml", data))
    assert list(suite.grids) == ["wd", *(m for m in METHODS if m != "wd")]
    assert suite.grids["wd"].values == [0.5, 0.05, 0.005]  # the manifest's wins
    for name in set(METHODS) - {"wd"}:
        assert suite.grids[name] == Grid(**REGISTRY[name].grid.as_dict())
    del data["grids"]
    assert load_suite(write_config(tmp_path / "bare.yaml", data)).grids == (
        load_suite(MANIFEST).grids
    )


def test_the_spec_decides_the_agent_class(monkeypatch: pytest.MonkeyPatch) -> None:
    config = validate_config(fast_config(method="none"))
    assert algorithm_class(config) is DQN
    monkeypatch.setitem(REGISTRY, "none", dataclasses.replace(REGISTRY["none"], fade=True))
    assert algorithm_class(config) is FadeDQN


def test_a_config_without_a_method_runs_the_proposed_one() -> None:
    data = fast_config()
    data.pop("method", None)
    assert validate_config(data).method == PROPOSED


def test_a_method_whose_spec_cannot_resume_is_refused_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(counters: object) -> str:
        return "this method's state lives outside the checkpoint"

    monkeypatch.setitem(
        REGISTRY, "none", dataclasses.replace(REGISTRY["none"], cannot_resume=refuse)
    )
    data = fast_config(600, method="none")
    data["logging"].update(checkpoint_interval=300, keep_checkpoints=2)
    config = validate_config(data)
    train_run(config, tmp_path)
    run_dir = run_dir_for(tmp_path, config)  # now make it look killed after step 300
    (run_dir / "summary.json").unlink()
    shutil.rmtree(run_dir / "checkpoints" / "step_600")
    (run_dir / "checkpoint.json").write_text(json.dumps({"step": 300, "path": "step_300"}))
    with pytest.warns(UserWarning), pytest.raises(RunError) as info:
        train_run(config, tmp_path)
    message = str(info.value)
    assert "outside the checkpoint, so it cannot resume" in message and "--restart" in message
    assert "\n" not in message


#: What the old modules exported; the new ones export all of it.
OLD_NAMES = {
    "fade_rl.agents.baselines": [
        "TRAC",
        "ContinualBackprop",
        "ContinualBackpropCallback",
        "InjectedHead",
        "InjectionCallback",
        "L2InitCallback",
        "ReDoCallback",
        "ResetCallback",
        "ShrinkPerturbCallback",
        "TRACCallback",
        "WeightDecayCallback",
        "add_l2_init",
        "add_weight_decay",
        "inject_plasticity",
        "redo",
        "reset_parameters",
        "shrink_perturb",
    ],
    "fade_rl.agents.baselines.shrink_perturb": ["ShrinkPerturbCallback", "shrink_perturb"],
    "fade_rl.agents.baselines.weight_decay": ["WeightDecayCallback", "add_weight_decay"],
    "fade_rl.agents.baselines.trac": ["TRAC", "TRACCallback", "erfi"],
    "fade_rl.experiments.methods": [
        "METHODS",
        "METHOD_HELP",
        "REGISTRY",
        "SHIFT_KEY",
        "CbpParams",
        "FadeParams",
        "InjectionParams",
        "L2InitParams",
        "MethodSpec",
        "MethodsConfig",
        "RedoParams",
        "ResetParams",
        "SnpParams",
        "TracParams",
        "WdParams",
    ],
}


@pytest.mark.parametrize("old", sorted(OLD_NAMES))
def test_old_paths_warn_and_hand_back_the_new_module(old: str) -> None:
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=f"{old} has moved to {MOVED[old]}"):
        module = importlib.import_module(old)
    assert module is sys.modules[MOVED[old]]
    assert all(hasattr(module, name) for name in OLD_NAMES[old])
