"""The method registry wired through config, CLI, training, checkpoints and the policy options."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import torch

from fade_rl.cli import build_parser
from fade_rl.experiments.runs import run as run_module
from fade_rl.experiments.runs.config import (
    METHOD_HELP,
    METHODS,
    ConfigError,
    ExperimentConfig,
    MethodsConfig,
    validate_config,
)
from fade_rl.experiments.runs.folder import RunError
from fade_rl.experiments.runs.run import run_dir_for, train_run
from fade_rl.methods import REGISTRY
from tests.experiments.helpers import fast_config

torch.set_num_threads(1)

NEW = ("l2init", "cbp", "injection", "trac")
# small settings so that every method acts within a few hundred steps
ACTIVE = {
    "reset": {"every": 150, "at_shift": False},
    "snp": {"every": 150},
    "redo": {"every": 150, "batch_size": 32},
    "cbp": {"replacement_rate": 0.05, "maturity_threshold": 20},
    "injection": {"at_steps": [200], "at_shift": False},
}


def _dqn(method: str, n_timesteps: int = 300, **changes: Any) -> dict[str, Any]:
    data = fast_config(n_timesteps, method=method, **{"methods": ACTIVE, **changes})
    data["algo"]["hyperparams"]["policy_kwargs"] = {"net_arch": [16, 16]}
    return data


def _sac(method: str, n_timesteps: int = 300) -> dict[str, Any]:
    data = _dqn(method, n_timesteps)
    data["name"] = "tiny_pendulum"
    data["env"] = {"id": "fade_rl/Pendulum-Dynamics-v0"}
    data["algo"] = {
        "name": "sac",
        "hyperparams": {
            "learning_starts": 100,
            "batch_size": 32,
            "buffer_size": 2000,
            "policy_kwargs": {"net_arch": [16, 16]},
        },
    }
    return data


def _capture(monkeypatch: pytest.MonkeyPatch) -> list[list[Any]]:
    """Record the method callbacks of every run that ``train_run`` builds."""
    built: list[list[Any]] = []
    original = run_module.method_callbacks

    def spy(config: ExperimentConfig) -> list[Any]:
        callbacks = original(config)
        built.append(callbacks)
        return callbacks

    monkeypatch.setattr(run_module, "method_callbacks", spy)
    return built


# ---------------------------------------------------------------------------- registry
def test_every_name_derives_from_the_registry() -> None:
    assert tuple(REGISTRY) == METHODS and set(NEW) <= set(METHODS)
    assert {name: spec.help for name, spec in REGISTRY.items()} == METHOD_HELP
    with_params = {name for name, spec in REGISTRY.items() if spec.params is not None}
    assert set(MethodsConfig.model_fields) == with_params == set(METHODS) - {"none"}
    train_help = build_parser()._subparsers._group_actions[0].choices["train"].format_help()
    for name in METHODS:
        assert f"{name} (" in " ".join(train_help.split())


def test_defaults_are_the_papers() -> None:
    methods = validate_config(_dqn("none")).methods
    assert methods.l2init.coefficient == 1e-3 and methods.l2init.target == "critic"
    assert validate_config(fast_config()).methods.cbp.model_dump() == {
        "replacement_rate": 1e-4,
        "decay": 0.99,
        "maturity_threshold": 100,
    }
    assert validate_config(fast_config()).methods.injection.model_dump() == {
        "at_steps": [],
        "at_shift": True,
    }
    assert methods.trac.betas == [0.9, 0.99, 0.999, 0.9999, 0.99999, 0.999999]


@pytest.mark.parametrize(
    ("methods", "expected"),
    [
        ({"l2init": {"coefficient": -1}}, r"methods\.l2init\.coefficient: .*greater than or equal"),
        ({"l2init": {"target": "actor"}}, r"methods\.l2init\.target: .*'head', 'critic' or 'all'"),
        ({"cbp": {"replacement_rate": 1.5}}, r"methods\.cbp\.replacement_rate: .*less than"),
        ({"cbp": {"decay": 1.0}}, r"methods\.cbp\.decay: .*less than 1"),
        ({"cbp": {"maturity_threshold": 0}}, r"methods\.cbp\.maturity_threshold: .*greater"),
        ({"injection": {"at_steps": [0]}}, r"methods\.injection\.at_steps: steps must be >= 1"),
        (
            {"injection": {"at_steps": [], "at_shift": False}},
            r"methods\.injection: set at_steps: \[steps\] and/or at_shift: true",
        ),
        ({"trac": {"betas": [0.9, 1.0]}}, r"methods\.trac\.betas: each beta must be in \(0, 1\)"),
        ({"trac": {"betas": []}}, r"methods\.trac\.betas: .*at least 1"),
        ({"trac": {"s_prev": 0}}, r"methods\.trac\.s_prev: .*greater than 0"),
        ({"reset": {"at_shift": False}}, r"methods\.reset: set every \(steps\) and/or at_shift"),
        ({"redo": {"every": 0}}, r"methods\.redo\.every: .*greater than or equal to 1"),
        ({"cbp": {"rate": 0.1}}, r"methods\.cbp\.rate: unknown key"),
    ],
)
def test_bad_params_are_one_line_errors(methods: dict, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected) as info:
        validate_config(fast_config(methods=methods))
    assert "\n" not in str(info.value)


def test_cli_refuses_bad_params_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from fade_rl.cli import main

    args = ["train", "--env", "fade_rl/CartPole-RewardFlip-v0", "-m", "cbp", "-n", "100"]
    args += ["-p", "methods.cbp.decay=2", "-f", str(tmp_path / "runs"), "--no-progress"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("fade-rl: error:") and "methods.cbp.decay" in err
    assert len(err.splitlines()) == 1
    assert not (tmp_path / "runs").exists()


# ---------------------------------------------------------------------------- training
@pytest.mark.parametrize("algo", ["dqn", "sac"])
def test_every_method_trains(algo: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    built = _capture(monkeypatch)
    make = _dqn if algo == "dqn" else _sac
    for method in METHODS:
        summary = train_run(validate_config(make(method)), tmp_path)
        assert summary["status"] == "completed" and summary["n_timesteps"] == 300, method
    callbacks = dict(zip(METHODS, built, strict=True))
    assert callbacks["none"] == [] and callbacks["fade"] == []
    # each method acted during those 300 steps
    assert callbacks["reset"][0].n_resets == 2  # at steps 150 and 300
    assert callbacks["snp"][0].n_applied >= 1
    assert callbacks["l2init"][0].initial is not None
    assert callbacks["cbp"][0].n_replaced > 0
    assert callbacks["injection"][0].injected_at == [200]
    assert callbacks["trac"][0].state_dict()["n_steps"] > 0


def _ppo(method: str, n_timesteps: int = 320) -> dict[str, Any]:
    data = _dqn(method, n_timesteps)
    hyperparams = {"n_steps": 64, "batch_size": 32, "n_epochs": 1, "policy_kwargs": {}}
    hyperparams["policy_kwargs"]["net_arch"] = [16]
    data["algo"] = {"name": "ppo", "hyperparams": hyperparams}
    # PPO steps its optimizer twice a rollout here: cbp's units mature after two steps
    data["methods"] = {**ACTIVE, "cbp": {"replacement_rate": 0.1, "maturity_threshold": 2}}
    return data


def test_every_method_but_injection_trains_on_ppo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = _capture(monkeypatch)
    methods = [m for m in METHODS if m != "injection"]
    for method in methods:
        summary = train_run(validate_config(_ppo(method)), tmp_path)
        assert summary["status"] == "completed" and summary["n_timesteps"] == 320, method
    callbacks = dict(zip(methods, built, strict=True))
    # due at steps 150 and 300, in the rollouts of steps 129-192 and 257-320: the first
    # applied when the next rollout starts (step 192), the second waits past the run's end
    reset = callbacks["reset"][0]
    assert reset.n_resets == 1 and reset.pending
    assert callbacks["snp"][0].n_applied == 1 and callbacks["snp"][0].pending
    assert callbacks["redo"][0].pending  # every=150 too
    assert callbacks["l2init"][0].initial is not None
    assert callbacks["cbp"][0].n_replaced > 0
    assert callbacks["trac"][0].state_dict()["n_steps"] == 10  # 5 rollouts of 2 minibatches
    config = validate_config(_ppo("fade"))
    model = run_module.build_model(config, run_module.make_env(config))
    assert type(model).__name__ == "FadePPO"


def test_injection_on_ppo_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        train_run(validate_config(_ppo("injection")), tmp_path)
    message = str(info.value)
    assert "method injection on ppo" in message and "does not work on PPO" in message
    assert "\n" not in message
    assert not any(tmp_path.iterdir())


# ---------------------------------------------------------------------------- resume
#: A checkpoint is taken in the rollout, before that rollout's gradient step; a resumed run
#: starts a new rollout, so it makes one gradient step fewer than the uninterrupted run.
CHECKPOINT_GAP = 1


def _killed_after_first_checkpoint(root: Path, config: ExperimentConfig) -> Path:
    """Make a finished 600-step run look killed right after its step-300 checkpoint."""
    run_dir = run_dir_for(root, config)
    (run_dir / "summary.json").unlink()
    shutil.rmtree(run_dir / "checkpoints" / "step_600")
    (run_dir / "checkpoint.json").write_text(json.dumps({"step": 300, "path": "step_300"}))
    return run_dir


def _train_then_resume(
    method: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **changes: Any
) -> list[list[Any]]:
    """The method callbacks of a 600-step run and of its resume from the step-300 checkpoint."""
    data = _dqn(method, 600, **changes)
    data["logging"].update(checkpoint_interval=300, keep_checkpoints=2)
    config = validate_config(data)
    built = _capture(monkeypatch)
    train_run(config, tmp_path)
    _killed_after_first_checkpoint(tmp_path, config)
    summary = train_run(config, tmp_path)
    assert summary["resumed_at"] == [300] and summary["n_timesteps"] == 600
    return built


def test_l2init_resumes_with_its_initial_parameters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (first,), (resumed,) = _train_then_resume("l2init", tmp_path, monkeypatch)
    # without the saved theta_0 the resumed run would take the step-300 parameters as theta_0
    assert len(resumed.initial) == len(first.initial) > 0
    for a, b in zip(resumed.initial, first.initial, strict=True):
        assert torch.equal(a, b)


def test_cbp_resumes_with_its_utilities_ages_and_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (first,), (resumed,) = _train_then_resume("cbp", tmp_path, monkeypatch)
    full, again = first.state_dict(), resumed.state_dict()
    # counts continue from the checkpoint's (about 75 without it); CHECKPOINT_GAP: see below
    assert full["steps"] - CHECKPOINT_GAP <= again["steps"] <= full["steps"]
    saved = torch.load(
        tmp_path / "tiny_flip" / "cbp" / "seed_0" / "checkpoints" / "step_300" / "callback_0.pt",
        weights_only=True,
    )
    assert again["n_replaced"] >= saved["n_replaced"] > 0
    # ages went on from the saved ages: a unit not replaced since is older by the step gap
    for name, layer in saved["layers"].items():
        grew = again["layers"][name]["age"] - layer["age"]
        assert int(grew.max()) == again["steps"] - saved["steps"]


def test_trac_resumes_with_its_tuner_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (first,), (resumed,) = _train_then_resume("trac", tmp_path, monkeypatch)
    full, again = first.state_dict(), resumed.state_dict()
    assert full["n_steps"] - CHECKPOINT_GAP <= again["n_steps"] <= full["n_steps"]
    for a, b in zip(again["reference"], full["reference"], strict=True):
        assert torch.equal(a, b)  # the reference point is theta at the start of training


def test_injection_before_the_checkpoint_refuses_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _dqn("injection", 600)
    data["logging"].update(checkpoint_interval=300, keep_checkpoints=2)
    config = validate_config(data)
    train_run(config, tmp_path)  # injects at step 200
    run_dir = _killed_after_first_checkpoint(tmp_path, config)
    state = json.loads((run_dir / "checkpoints" / "step_300" / "state.json").read_text())
    entry = state["callbacks"][0]
    assert entry["state"] == {"injected_at": [200]} and entry["counters"] == {"n_injections": 1}
    with pytest.warns(UserWarning), pytest.raises(RunError) as info:
        train_run(config, tmp_path)
    message = str(info.value)
    assert "plasticity-injected" in message and "--restart" in message
    assert "\n" not in message


def test_injection_after_the_checkpoint_resumes_and_injects_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    methods = {**ACTIVE, "injection": {"at_steps": [450], "at_shift": False}}
    (first,), (resumed,) = _train_then_resume("injection", tmp_path, monkeypatch, methods=methods)
    assert first.injected_at == resumed.injected_at == [450]
    assert resumed.n_injections == 1


def test_counters_of_stateless_callbacks_come_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (first,), (resumed,) = _train_then_resume("reset", tmp_path, monkeypatch)
    assert first.n_resets == resumed.n_resets == 4  # steps 150, 300, 450, 600


# ---------------------------------------------------------------------------- architecture
@pytest.mark.parametrize("algo", ["dqn", "sac"])
def test_critic_options_reach_the_model_and_fade_finds_its_head(algo: str, tmp_path: Path) -> None:
    from fade_rl.nets import CReLU

    data = _dqn("fade") if algo == "dqn" else _sac("fade")
    data["algo"]["critic"] = {"layer_norm": True, "crelu": True}
    config = validate_config(data)
    train_run(config, tmp_path)
    model = type(run_module.build_model(config, run_module.make_env(config))).load(
        run_dir_for(tmp_path, config) / "final_model.zip"
    )
    nets = [model.q_net.q_net] if algo == "dqn" else list(model.critic.q_networks)
    for net in nets:
        kinds = [type(m) for m in net]
        assert kinds.count(torch.nn.LayerNorm) == 2 and kinds.count(CReLU) == 2
        assert net[-1].in_features == 32  # CReLU doubles the last hidden layer (16)
    heads = list(model.fade_heads.values())
    assert all(h is net[-1] for h, net in zip(heads, nets, strict=True))


def test_critic_options_are_checked() -> None:
    bad = _dqn("none")
    bad["algo"]["critic"] = {"layer_norm": "yes"}
    with pytest.raises(ConfigError, match=r"algo\.critic\.layer_norm: .*boolean"):
        validate_config(bad)
    bad = _dqn("none")
    bad["algo"]["hyperparams"]["policy_kwargs"]["crelu"] = True
    with pytest.raises(ConfigError, match=r"policy_kwargs\.crelu: set algo\.critic\.crelu"):
        validate_config(bad)
    bad = _dqn("none")
    bad["algo"].update(policy="CnnPolicy", critic={"crelu": True})
    with pytest.raises(ConfigError, match=r"algo\.critic: .*MlpPolicy"):
        validate_config(bad)


def test_named_features_extractor(tmp_path: Path) -> None:
    bad = _dqn("none")
    bad["algo"]["hyperparams"]["policy_kwargs"]["features_extractor_class"] = "resnet"
    with pytest.raises(ConfigError, match=r"features_extractor_class: unknown .*'resnet'; use"):
        validate_config(bad)

    data = _dqn("fade", 200)
    data["name"] = "tiny_minatar"
    data["env"] = {"id": "fade_rl/MinAtar-Breakout-v0"}
    data["algo"]["hyperparams"]["policy_kwargs"] = {
        "features_extractor_class": "minatar_cnn",
        "net_arch": [],
    }
    data["algo"]["critic"] = {"layer_norm": True}
    config = validate_config(data)
    assert train_run(config, tmp_path)["n_timesteps"] == 200
    saved = (run_dir_for(tmp_path, config) / "config.yaml").read_text()
    assert "features_extractor_class: minatar_cnn" in saved  # the name, not a class
    model = run_module.build_model(config, run_module.make_env(config))
    assert type(model.q_net.features_extractor).__name__ == "MinAtarCNN"
    assert model.fade_heads["q_net"] is model.q_net.q_net[-1]
