"""Configs: defaults, overrides, and one-line errors that name the key or file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from fade_rl.experiments.runs.config import (
    ConfigError,
    load_config,
    parse_override,
    validate_config,
)

from ..helpers import small_config, write_config

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("name", sorted(p.name for p in (REPO / "configs").glob("*.yaml")))
def test_shipped_configs_are_valid(name: str) -> None:
    path = REPO / "configs" / name
    config = load_config(path)
    assert config.name == (yaml.safe_load(path.read_text()).get("name") or path.stem)
    assert config.env.id.startswith("fade_rl/")


def test_yaml_overrides_and_flags(tmp_path: Path) -> None:
    path = write_config(tmp_path / "setting.yaml", small_config())
    config = load_config(
        path,
        ["learning_rate=3e-4", "methods.fade.meta_lr=0.5", "budget.n_timesteps=999"],
        method="wd",
        seed=7,
        algo="dqn",
    )
    assert config.algo.hyperparams["learning_rate"] == pytest.approx(3e-4)
    assert isinstance(config.algo.hyperparams["learning_rate"], float)  # YAML read "3e-4" as str
    assert config.methods.fade.meta_lr == 0.5
    assert config.budget.n_timesteps == 999
    assert (config.method, config.seed) == ("wd", 7)
    assert config.method_params() == {"weight_decay": 0.01, "target": "head"}
    # a key given by -p and by a flag is refused, not replaced by the flag
    with pytest.raises(ConfigError, match=r"budget\.n_timesteps is given twice"):
        load_config(path, ["budget.n_timesteps=5"], n_timesteps=6)  # never replaced in silence


def test_config_without_file_takes_env_flag() -> None:
    config = load_config(None, [], env="fade_rl/CartPole-RewardFlip-v0")
    assert config.name == "fade_rl_CartPole-RewardFlip-v0"
    assert config.method == "fade"
    with pytest.raises(ConfigError, match=r"env\.id"):
        load_config(None, [])


def test_parse_override() -> None:
    assert parse_override("budget.n_timesteps=100") == ("budget.n_timesteps", 100)
    assert parse_override("gamma=0.9") == ("algo.hyperparams.gamma", 0.9)
    assert parse_override("policy_kwargs={net_arch: [8]}") == (
        "algo.hyperparams.policy_kwargs",
        {"net_arch": [8]},
    )
    with pytest.raises(ConfigError, match="key=value"):
        parse_override("gamma")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"budget": {"n_timestep": 5}}, r"budget\.n_timestep: unknown key"),
        ({"colour": "red"}, r"colour: unknown key"),
        ({"budget": {"n_timesteps": "many"}}, r"budget\.n_timesteps: .*integer.*'many'"),
        ({"methods": {"fade": {"meta_lr": -1}}}, r"methods\.fade\.meta_lr: .*greater than 0"),
        ({"method": "magic"}, r"method: unknown method 'magic'; use one of .*fade"),
        ({"env": {"id": "fade_rl/NoSuchEnv-v0"}}, r"env\.id: unknown environment id"),
        (
            {"algo": {"name": "dqn", "hyperparams": {"learning_rat": 0.1}}},
            r"algo\.hyperparams\.learning_rat: DQN takes no argument",
        ),
        (
            {"algo": {"name": "dqn", "hyperparams": {"batch_size": 3.5}}},
            r"algo\.hyperparams\.batch_size: expected an integer",
        ),
        (
            {"algo": {"name": "dqn", "hyperparams": {"gamma": "high"}}},
            r"algo\.hyperparams\.gamma: expected a number",
        ),
    ],
)
def test_errors_name_the_key(tmp_path: Path, change: dict, expected: str) -> None:
    path = write_config(tmp_path / "bad.yaml", small_config(**change))
    with pytest.raises(ConfigError, match=expected) as info:
        load_config(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path))


def test_missing_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.yaml: no such config file"):
        load_config(tmp_path / "nope.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("env: [unclosed\n")
    with pytest.raises(ConfigError, match=r"broken\.yaml: line \d+ not valid YAML"):
        load_config(broken)
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_config(listed)


def test_to_dict_round_trip() -> None:
    config = validate_config(small_config(method="redo", seed=3))
    again = validate_config(config.to_dict())
    assert again == config
    assert again.method_params()["every"] == 300
