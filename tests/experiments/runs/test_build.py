"""Building a run's environment and policy from its config (fade_rl/experiments/runs/build.py)."""

from __future__ import annotations

import pytest
import torch as th
from stable_baselines3 import PPO

from fade_rl.experiments.runs.build import make_env
from fade_rl.experiments.runs.checks import ConfigError
from fade_rl.experiments.runs.config import validate_config
from fade_rl.experiments.runs.policies import CriticConfig, check_policy, resolve_policy


def _episode(scale: float) -> tuple[float, float]:
    """(sum of the rewards the agent sees, Monitor's logged return) of one CartPole episode."""
    config = validate_config({"env": {"id": "CartPole-v1", "reward_scale": scale}, "seed": 3}, "t")
    env = make_env(config)
    env.reset()
    seen = 0.0
    while True:
        _, reward, done, info = env.step([0])
        seen += float(reward[0])
        if done[0]:
            env.close()
            return seen, info[0]["episode"]["r"]


def test_reward_scale_scales_what_the_agent_sees_and_not_what_is_logged() -> None:
    seen, logged = _episode(0.05)
    plain_seen, plain_logged = _episode(1.0)
    assert logged == plain_logged == plain_seen  # CartPole pays 1 per step
    assert seen == pytest.approx(0.05 * logged, rel=1e-6)


def test_default_reward_scale_keeps_old_config_identities() -> None:
    """Configs saved before reward_scale existed have no such key: the default adds none."""
    plain = validate_config({"env": {"id": "CartPole-v1"}}, "t").to_dict()
    assert "reward_scale" not in plain["env"]
    scaled = validate_config({"env": {"id": "CartPole-v1", "reward_scale": 0.05}}, "t")
    assert scaled.to_dict()["env"]["reward_scale"] == 0.05
    assert validate_config(scaled.to_dict(), "t") == scaled


@pytest.mark.parametrize("bad", [0, -1.0, float("inf"), float("nan")])
def test_bad_reward_scale_is_refused(bad: float) -> None:
    with pytest.raises(ConfigError, match=r"env\.reward_scale"):
        validate_config({"env": {"id": "CartPole-v1", "reward_scale": bad}}, "t")


def test_named_activation_builds_that_module_in_every_layer() -> None:
    kwargs = {"activation_fn": "leaky_relu_0.1", "net_arch": {"pi": [8, 8], "vf": [8]}}
    policy, resolved = resolve_policy("MlpPolicy", kwargs, CriticConfig(), PPO)
    model = PPO(policy, "CartPole-v1", policy_kwargs=resolved, device="cpu")
    modules = model.policy.mlp_extractor.modules()
    activations = [m for m in modules if isinstance(m, th.nn.LeakyReLU)]
    assert len(activations) == 3 and all(m.negative_slope == 0.1 for m in activations)
    assert kwargs["activation_fn"] == "leaky_relu_0.1"  # the config's own dict is untouched


def test_unknown_activation_is_refused_with_the_names_to_use() -> None:
    config = validate_config({"env": {"id": "CartPole-v1"}}, "t")
    algo = config.algo.model_copy(
        update={"hyperparams": {"policy_kwargs": {"activation_fn": "swish"}}}
    )
    with pytest.raises(ConfigError, match=r"activation_fn: unknown activation 'swish'; use one"):
        check_policy(algo)


@pytest.mark.parametrize("method", ["none", "fade"])
def test_the_config_check_builds_a_small_replay_buffer_for_fade_classes_too(method: str) -> None:
    """FadeDQN's own signature has no buffer_size: the check used to build the full buffer."""
    from fade_rl.experiments.runs.build import _small_buffer

    config = validate_config({"env": {"id": "CartPole-v1"}, "method": method}, "t")
    assert _small_buffer(config) == {"buffer_size": 10}
    ppo = validate_config({"env": {"id": "CartPole-v1"}, "algo": {"name": "ppo"}}, "t")
    assert _small_buffer(ppo) == {}


def test_an_activation_that_is_not_a_name_is_refused_in_one_line() -> None:
    config = validate_config({"env": {"id": "CartPole-v1"}}, "t")
    algo = config.algo.model_copy(
        update={"hyperparams": {"policy_kwargs": {"activation_fn": ["relu"]}}}
    )
    with pytest.raises(ConfigError, match=r"activation_fn: unknown activation \['relu'\]"):
        check_policy(algo)
