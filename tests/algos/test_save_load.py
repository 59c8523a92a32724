"""Save and load round-trip every piece of FADE state; wrong loaders fail with clear errors."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch as th
from stable_baselines3 import DQN

from fade_rl import FadeDQN, FadeSAC, FadeTD3
from fade_rl.algos import FAMILIES, FadeCheckpointError

from .helpers import FAMILY_CASES, quick_kwargs, share_training_data, train_once, trained

CASES = [
    pytest.param(family.fade_class, family.sb3_class, env_id, id=case.id)
    for case in FAMILY_CASES
    for family, env_id in [case.values]
]


def _trained(algorithm: type, env_id: str) -> object:
    return trained(
        algorithm,
        env_id,
        150,
        net_arch=[16, 16],
        **quick_kwargs(algorithm, 48, 16),
        fade_kwargs=dict(meta_lr=50.0, init_decay=1e-3),
        seed=0,
    )


def _assert_same_optimizer_state(a: th.optim.Optimizer, b: th.optim.Optimizer) -> int:
    """Every state entry of every parameter is equal; returns how many tensors were compared."""
    sa, sb = a.state_dict(), b.state_dict()
    assert sa["param_groups"] == sb["param_groups"]
    assert sa["state"].keys() == sb["state"].keys()
    compared = 0
    for index, state in sa["state"].items():
        assert state.keys() == sb["state"][index].keys()
        for key, value in state.items():
            other = sb["state"][index][key]
            if isinstance(value, th.Tensor):
                assert th.equal(value, other), (index, key)
                compared += 1
            else:
                assert value == other and type(value) is type(other), (index, key)
    return compared


@pytest.mark.parametrize(("algorithm", "vanilla", "env_id"), CASES)
def test_round_trip_restores_every_fade_tensor_and_the_next_step(
    algorithm: type, vanilla: type, env_id: str, tmp_path: Path
) -> None:
    model = _trained(algorithm, env_id)
    optimizer = model.fade_optimizer
    # FADE has state worth checking: decay rates moved away from their start.
    head = next(iter(model.fade_heads.values()))
    assert not th.allclose(optimizer.decay_rates(head.weight), th.tensor(1e-3))
    path = tmp_path / "model.zip"
    model.save(path)

    loaded = algorithm.load(path, env=model.get_env())
    assert type(loaded) is algorithm
    assert loaded.fade_kwargs == model.fade_kwargs  # hyperparameters kept
    for (name, p), (_, q) in zip(
        model.policy.state_dict().items(), loaded.policy.state_dict().items(), strict=True
    ):
        assert th.equal(p, q), name
    compared = _assert_same_optimizer_state(optimizer, loaded.fade_optimizer)
    for p in (p for h in model.fade_heads.values() for p in (h.weight, h.bias)):
        assert {"log_decay", "decay_trace", "exp_avg", "exp_avg_sq"} <= set(optimizer.state[p])
    assert compared >= 4 * 2 * len(model.fade_heads)
    if hasattr(model, "actor"):  # SAC, TD3 (DQN has none; PPO's is in the one optimizer)
        _assert_same_optimizer_state(model.actor.optimizer, loaded.actor.optimizer)

    # One more step on the same batch (and the same random draws) gives identical parameters.
    share_training_data(model, loaded, 16)
    loaded.set_logger(model.logger)
    for m in (model, loaded):
        th.manual_seed(123)
        np.random.seed(123)
        train_once(m, 1, 16)
    for (name, p), (_, q) in zip(
        model.policy.state_dict().items(), loaded.policy.state_dict().items(), strict=True
    ):
        assert th.equal(p, q), name
    _assert_same_optimizer_state(optimizer, loaded.fade_optimizer)


@pytest.mark.parametrize(("algorithm", "vanilla", "env_id"), CASES)
def test_vanilla_load_of_a_fade_zip_names_the_fade_loader(
    algorithm: type, vanilla: type, env_id: str, tmp_path: Path
) -> None:
    model = algorithm("MlpPolicy", env_id, policy_kwargs=dict(net_arch=[8]))
    model.save(tmp_path / "fade.zip")
    with pytest.raises(FadeCheckpointError, match=rf"{algorithm.__name__}\.load\(path"):
        vanilla.load(tmp_path / "fade.zip")


def test_fade_load_of_a_vanilla_zip_points_to_attach_fade(tmp_path: Path) -> None:
    DQN("MlpPolicy", "CartPole-v1", policy_kwargs=dict(net_arch=[8])).save(tmp_path / "dqn.zip")
    with pytest.raises(FadeCheckpointError, match="attach_fade"):
        FadeDQN.load(tmp_path / "dqn")  # SB3 adds the .zip suffix; so do we


def test_loading_with_the_wrong_fade_class_names_the_right_one(tmp_path: Path) -> None:
    FadeSAC("MlpPolicy", "Pendulum-v1", policy_kwargs=dict(net_arch=[8])).save(tmp_path / "s.zip")
    with pytest.raises(FadeCheckpointError, match=r"saved by FadeSAC; open it with FadeSAC\.load"):
        FadeTD3.load(tmp_path / "s.zip")


def test_saving_leaves_no_marker_on_the_model(tmp_path: Path) -> None:
    model = FadeDQN("MlpPolicy", "CartPole-v1", policy_kwargs=dict(net_arch=[8]))
    model.save(tmp_path / "m.zip")
    assert "_fade_checkpoint" not in model.__dict__
    loaded = FadeDQN.load(tmp_path / "m.zip")
    assert "_fade_checkpoint" not in loaded.__dict__
    loaded.save(tmp_path / "again.zip")  # a loaded model saves again
    FadeDQN.load(tmp_path / "again.zip")


def test_round_trip_through_a_file_object() -> None:
    model = FadeTD3("MlpPolicy", "Pendulum-v1", policy_kwargs=dict(net_arch=[8]))
    buffer = io.BytesIO()
    model.save(buffer)
    buffer.seek(0)
    loaded = FadeTD3.load(buffer)
    assert [g["fade"] for g in loaded.critic.optimizer.param_groups] == [False, True]


@pytest.mark.parametrize("loader", [family.sb3_class for family in FAMILIES.values()])
def test_a_vanilla_loader_of_a_fade_zip_names_itself(loader: type, tmp_path: Path) -> None:
    """Old code named the saving algorithm's SB3 base (DQN.load) whatever loader was called."""
    FadeDQN("MlpPolicy", "CartPole-v1", policy_kwargs=dict(net_arch=[8])).save(tmp_path / "f.zip")
    with pytest.raises(
        FadeCheckpointError, match=rf"SB3's {loader.__name__}\.load cannot restore.*FadeDQN\.load"
    ):
        loader.load(tmp_path / "f.zip")
