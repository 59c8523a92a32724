"""FadeDQN, FadeSAC, FadeTD3: which parameters FADE gets, the training loop, errors, logging."""

from __future__ import annotations

import copy
import csv
import math

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from stable_baselines3 import DQN, SAC, TD3
from stable_baselines3.common.logger import configure

from fade_rl import FADE, FadeDQN, FadeSAC, FadeTD3

from .helpers import fix_replay_batch, trained


def small() -> dict:
    """Fresh policy_kwargs each time (SB3 adds keys to the dict it is given)."""
    return dict(net_arch=[32, 32])


def _ids(params: object) -> set[int]:
    return {id(p) for p in params}  # type: ignore[attr-defined]


def test_dqn_head_in_fade_group_hidden_in_base_group() -> None:
    model = FadeDQN("MlpPolicy", "CartPole-v1", policy_kwargs=small())
    optimizer = model.policy.optimizer
    assert isinstance(optimizer, FADE)
    head = model.q_net.q_net[-1]
    assert model.fade_heads == {"q_net": head}
    fade_groups = [g for g in optimizer.param_groups if g["fade"]]
    base_groups = [g for g in optimizer.param_groups if not g["fade"]]
    assert _ids(fade_groups[0]["params"]) == _ids([head.weight, head.bias])
    hidden = [p for p in model.q_net.parameters() if id(p) not in _ids([head.weight, head.bias])]
    assert _ids(base_groups[0]["params"]) == _ids(hidden)
    # Target network parameters are not optimized.
    assert not _ids(model.q_net_target.parameters()) & _ids(
        p for g in optimizer.param_groups for p in g["params"]
    )
    assert optimizer.param_groups[-1]["base"] == "adam"
    assert type(optimizer.body) is th.optim.Adam  # SB3's optimizer keeps the body


@pytest.mark.parametrize("algorithm", [FadeSAC, FadeTD3])
def test_twin_critic_heads_in_fade_group_actor_untouched(algorithm: type) -> None:
    model = algorithm("MlpPolicy", "Pendulum-v1", policy_kwargs=small())
    assert isinstance(model.critic.optimizer, FADE)
    assert type(model.actor.optimizer) is th.optim.Adam
    heads = [net[-1] for net in model.critic.q_networks]
    assert list(model.fade_heads.values()) == heads
    (fade_group,) = [g for g in model.critic.optimizer.param_groups if g["fade"]]
    assert _ids(fade_group["params"]) == _ids(p for h in heads for p in (h.weight, h.bias))
    all_params = _ids(p for g in model.critic.optimizer.param_groups for p in g["params"])
    # The critic optimizer holds exactly what SB3's did: no actor parameters (shared extractor).
    expected = _ids(p for n, p in model.critic.named_parameters() if "features_extractor" not in n)
    assert all_params == expected


def test_dqn_step_is_sb3_step_plus_head_decay() -> None:
    """One FadeDQN step equals SB3's DQN step on the same batch, except the head's decay."""
    fade = FadeDQN("MlpPolicy", "CartPole-v1", learning_starts=50, policy_kwargs=small(), seed=0)
    fade.learn(120)
    vanilla = DQN("MlpPolicy", "CartPole-v1", learning_starts=50, policy_kwargs=small(), seed=0)
    vanilla.policy.load_state_dict(fade.policy.state_dict())
    data = fix_replay_batch(fade, 32)
    vanilla.replay_buffer = copy.copy(fade.replay_buffer)
    vanilla._current_progress_remaining = fade._current_progress_remaining
    vanilla.set_logger(fade.logger)
    # Start both from fresh optimizer state on identical weights.
    fade.policy.optimizer.state.clear()
    before = {n: p.detach().clone() for n, p in fade.q_net.named_parameters()}
    assert vanilla.replay_buffer.sample(32) is data

    fade.train(gradient_steps=1, batch_size=32)
    vanilla.train(gradient_steps=1, batch_size=32)

    head_names = {"q_net.4.weight", "q_net.4.bias"}
    assert fade.q_net.q_net[4] is fade.fade_heads["q_net"]
    init_decay = fade.policy.optimizer.param_groups[-1]["init_decay"]
    vanilla_params = dict(vanilla.q_net.named_parameters())
    for name, p in fade.q_net.named_parameters():
        if name in head_names:
            # First step: the trace is 0, so lambda stays at init_decay.
            expected = vanilla_params[name] - init_decay * before[name]
            th.testing.assert_close(p, expected, rtol=1e-5, atol=1e-7)
            assert not th.equal(p, vanilla_params[name])
        else:
            th.testing.assert_close(p, vanilla_params[name], rtol=1e-5, atol=1e-7)


def test_sb3_lr_schedule_reaches_both_groups() -> None:
    model = trained(
        FadeDQN,
        "CartPole-v1",
        100,
        **small(),
        learning_rate=lambda progress: 1e-3 * (0.5 + 0.5 * progress),
        learning_starts=20,
    )
    lrs = {g["lr"] for g in model.policy.optimizer.param_groups}
    assert len(lrs) == 1
    (lr,) = lrs
    assert math.isclose(lr, model.lr_schedule(model._current_progress_remaining))
    assert 5e-4 <= lr < 6e-4


def test_target_network_copies_decayed_weights() -> None:
    model = trained(
        FadeDQN,
        "CartPole-v1",
        100,
        **small(),
        learning_starts=20,
        target_update_interval=50,
        fade_kwargs=dict(init_decay=0.05),
    )
    online, target = model.q_net.q_net[-1].weight, model.q_net_target.q_net[-1].weight
    assert not th.equal(online, target)  # FADE trained (and decayed) the head since the last copy
    model._n_calls = model.target_update_interval - 1
    model._on_step()  # SB3's target update
    assert th.equal(online, target)


def test_fade_kwargs_reach_the_optimizer() -> None:
    model = FadeSAC(
        "MlpPolicy",
        "Pendulum-v1",
        policy_kwargs=small(),
        fade_kwargs=dict(meta_lr=0.25, init_decay=1e-3, log_decay_bounds=(-12.0, -1.0)),
    )
    group = model.critic.optimizer.param_groups[-1]
    assert group["meta_lr"] == 0.25
    assert group["init_decay"] == 1e-3
    assert group["log_decay_bounds"] == (-12.0, -1.0)
    rates = model.fade_decay_rates()
    assert all(th.allclose(r, th.full_like(r, 1e-3)) for r in rates.values())


def test_policy_optimizer_kwargs_carry_over() -> None:
    model = FadeTD3(
        "MlpPolicy",
        "Pendulum-v1",
        policy_kwargs=dict(net_arch=[16], optimizer_kwargs=dict(eps=1e-5, betas=(0.8, 0.9))),
    )
    body_group, head_group = model.critic.optimizer.param_groups
    for group in (body_group, head_group):
        assert group["eps"] == 1e-5 and tuple(group["betas"]) == (0.8, 0.9)
    sgd = FadeDQN(
        "MlpPolicy", "CartPole-v1", policy_kwargs=dict(net_arch=[16], optimizer_class=th.optim.SGD)
    )
    assert sgd.policy.optimizer.param_groups[-1]["base"] == "sgd"
    assert type(sgd.policy.optimizer.body) is th.optim.SGD


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(fade_kwargs=dict(lr=1e-3)), "learning_rate"),
        (dict(fade_kwargs=dict(meta_rate=1.0)), "unknown fade_kwargs"),
        (dict(fade_kwargs=dict(init_decay=2.0)), "init_decay"),
    ],
)
def test_bad_configuration_is_a_clear_error(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FadeDQN("MlpPolicy", "CartPole-v1", **kwargs)


def test_custom_net_arch_and_no_hidden_layer() -> None:
    model = FadeDQN("MlpPolicy", "CartPole-v1", learning_starts=20, policy_kwargs=dict(net_arch=[]))
    (group,) = model.policy.optimizer.param_groups  # FlattenExtractor has no parameters
    assert group["fade"]
    model.learn(60)
    assert model.fade_heads["q_net"].in_features == 4


def test_cnn_policy_trains() -> None:
    env = gym.make("CartPole-v1")  # observations are replaced by small images below

    class ImageObs(gym.ObservationWrapper):
        def __init__(self, env: gym.Env) -> None:
            super().__init__(env)
            self.observation_space = gym.spaces.Box(0, 255, (36, 36, 1), np.uint8)

        def observation(self, obs: np.ndarray) -> np.ndarray:
            image = np.zeros((36, 36, 1), np.uint8)
            image[:, : int(np.clip(18 + 10 * obs[2], 0, 35)), 0] = 255
            return image

    model = FadeDQN(
        "CnnPolicy",
        ImageObs(env),
        learning_starts=20,
        batch_size=8,
        buffer_size=500,
        policy_kwargs=dict(features_extractor_kwargs=dict(features_dim=32)),
    )
    model.learn(40)
    head = model.fade_heads["q_net"]
    assert head.in_features == 32
    hidden = model.policy.optimizer.param_groups[0]["params"]
    assert any(p.dim() == 4 for p in hidden)  # the CNN is in the base group
    assert model.fade_optimizer.state[head.weight]["step"] > 0


def test_multi_input_policy_trains() -> None:
    class DictObs(gym.ObservationWrapper):
        def __init__(self, env: gym.Env) -> None:
            super().__init__(env)
            self.observation_space = gym.spaces.Dict(
                {
                    "a": gym.spaces.Box(-np.inf, np.inf, (2,)),
                    "b": gym.spaces.Box(-np.inf, np.inf, (1,)),
                }
            )

        def observation(self, obs: np.ndarray) -> dict:
            return {"a": obs[:2].astype(np.float32), "b": obs[2:].astype(np.float32)}

    model = FadeSAC(
        "MultiInputPolicy",
        DictObs(gym.make("Pendulum-v1")),
        learning_starts=20,
        batch_size=8,
        policy_kwargs=small(),
    )
    model.learn(40)
    assert all(model.fade_optimizer.state[h.weight]["step"] > 0 for h in model.fade_heads.values())


def test_logging_scalars_and_histogram(tmp_path: object) -> None:
    model = FadeTD3(
        "MlpPolicy", "Pendulum-v1", learning_starts=20, batch_size=16, policy_kwargs=small()
    )
    model.set_logger(configure(str(tmp_path), ["csv", "stdout", "tensorboard"]))
    model._record_fade_stats()
    values = dict(model.logger.name_to_value)
    excluded = dict(model.logger.name_to_excluded)
    for head in ("qf0", "qf1"):
        for stat in ("mean", "min", "q10", "q50", "q90", "max"):
            assert math.isclose(values[f"fade/{head}/lambda_{stat}"], 1e-4, rel_tol=1e-6)
        histogram = values[f"fade/{head}/lambda"]
        assert isinstance(histogram, th.Tensor) and histogram.numel() == 33
        assert (
            "csv" in excluded[f"fade/{head}/lambda"]
            and "tensorboard" not in excluded[f"fade/{head}/lambda"]
        )
    model.logger.dump()  # the text formats skip the histogram, TensorBoard writes it
    # learn() records the fade keys at each log interval, next to SB3's train/ keys.
    model.learn(400, log_interval=1)

    with open(f"{tmp_path}/progress.csv") as f:
        rows = list(csv.DictReader(f))
    keys = set(rows[-1])
    assert {"fade/qf0/lambda_mean", "fade/qf1/lambda_q90", "train/critic_loss"} <= keys
    assert rows[-1]["fade/qf0/lambda_mean"] != ""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(tmp_path), size_guidance={"histograms": 0}).Reload()
    assert {"fade/qf0/lambda", "fade/qf1/lambda"} <= set(events.Tags()["histograms"])
    assert "fade/qf0/lambda_q50" in events.Tags()["scalars"]


@pytest.mark.skipif(not th.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("algorithm", [FadeDQN, FadeSAC])
def test_cuda_device(algorithm: type) -> None:
    env = "CartPole-v1" if algorithm is FadeDQN else "Pendulum-v1"
    model = algorithm("MlpPolicy", env, learning_starts=20, batch_size=16, device="cuda")
    model.learn(60)
    head = next(iter(model.fade_heads.values()))
    assert head.weight.is_cuda
    assert model.fade_optimizer.state[head.weight]["log_decay"].is_cuda


def test_vanilla_classes_are_the_sb3_bases() -> None:
    assert FadeDQN.sb3_class is DQN and FadeSAC.sb3_class is SAC and FadeTD3.sb3_class is TD3
    assert issubclass(FadeDQN, DQN) and issubclass(FadeSAC, SAC) and issubclass(FadeTD3, TD3)
