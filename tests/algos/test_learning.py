"""Short learning checks: FADE agents train, their decay rates move, and react to a reward flip."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from stable_baselines3 import DQN
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.evaluation import evaluate_policy

from fade_rl import FadeDQN, FadeSAC, FadeTD3

from .helpers import RewardFlip, trained

#: The CartPole settings of both FadeDQN checks: a training step every step from step 200.
CARTPOLE_DQN: dict[str, Any] = dict(
    learning_starts=200, batch_size=64, target_update_interval=100, train_freq=1
)

#: What the two short training checks share: 64x64 networks, decay rates that start at 1e-4
#: and are meta-learned fast, seed 0.
FAST_META: dict[str, Any] = dict(
    net_arch=[64, 64], fade_kwargs=dict(meta_lr=100.0, init_decay=1e-4), seed=0
)


def _log_rates(model: object) -> th.Tensor:
    return th.cat([r.log() for r in model.fade_decay_rates().values()])  # type: ignore[attr-defined]


def test_fade_dqn_trains_on_cartpole_and_its_decay_rates_move() -> None:
    model = trained(FadeDQN, "CartPole-v1", 2000, learning_rate=1e-3, **CARTPOLE_DQN, **FAST_META)
    moved = (_log_rates(model) - np.log(1e-4)).abs()
    assert moved.max() > 0.5  # some decay rates changed by more than a factor 1.6
    assert (moved > 1e-3).float().mean() > 0.5  # and most moved at all
    assert th.isfinite(model.fade_heads["q_net"].weight).all()


@pytest.mark.parametrize("algorithm", [FadeSAC, FadeTD3])
def test_continuous_fade_agents_train_on_pendulum(algorithm: type) -> None:
    model = trained(algorithm, "Pendulum-v1", 500, learning_starts=100, batch_size=64, **FAST_META)
    for name, rates in model.fade_decay_rates().items():
        moved = (rates.log() - np.log(1e-4)).abs()
        assert moved.max() > 0.05, name
    assert all(th.isfinite(h.weight).all() for h in model.fade_heads.values())


class _MeanLogRateAt(BaseCallback):
    """Records the head's decay rates (log) at given steps."""

    def __init__(self, steps: tuple[int, ...]) -> None:
        super().__init__()
        self.steps = steps
        self.at: dict[int, th.Tensor] = {}

    def _on_step(self) -> bool:
        if self.num_timesteps in self.steps:
            self.at[self.num_timesteps] = _log_rates(self.model)
        return True


def test_decay_rates_rise_after_a_reward_flip() -> None:
    """CartPole's reward turns from +1 to -1 at step 1000; an identical twin keeps +1.

    The twin runs are identical up to the flip (same seed). Over the next 1000
    steps the flipped agent's head decay rates rise on average (log scale), and
    more of them rise than in the twin.
    """
    flip_at, total = 1000, 2000
    changes = {}
    for flipped in (True, False):
        env = RewardFlip(gym.make("CartPole-v1"), flip_at if flipped else 10**9)
        model = FadeDQN(
            "MlpPolicy",
            env,
            gamma=0.9,
            learning_rate=1e-2,
            exploration_fraction=0.2,
            **CARTPOLE_DQN,
            # SGD on the whole Q network (the body keeps optimizer_class; the head follows it)
            policy_kwargs=dict(net_arch=[64, 64], optimizer_class=th.optim.SGD),
            fade_kwargs=dict(meta_lr=10.0, init_decay=1e-4),
            seed=0,
        )
        record = _MeanLogRateAt((flip_at, total))
        model.learn(total, callback=record)
        changes[flipped] = record.at[total] - record.at[flip_at]
    assert changes[True].mean() > 0.0
    assert changes[True].mean() > changes[False].mean() + 0.05
    assert (changes[True] > 0).float().mean() > (changes[False] > 0).float().mean() + 0.1


@pytest.mark.slow
def test_fade_dqn_matches_dqn_on_cartpole() -> None:
    """Same budget and rl-zoo hyperparameters: FadeDQN's return is comparable to DQN's."""
    hyperparameters = dict(
        learning_rate=2.3e-3,
        batch_size=64,
        buffer_size=100_000,
        learning_starts=1000,
        gamma=0.99,
        target_update_interval=10,
        train_freq=256,
        gradient_steps=128,
        exploration_fraction=0.16,
        exploration_final_eps=0.04,
    )
    returns: dict[str, list[float]] = {"dqn": [], "fade": []}
    for seed in (0, 1):
        for name, algorithm in (("dqn", DQN), ("fade", FadeDQN)):
            kwargs: dict[str, Any] = dict(
                hyperparameters, policy_kwargs=dict(net_arch=[256, 256]), seed=seed
            )
            if algorithm is FadeDQN:
                kwargs["fade_kwargs"] = dict(meta_lr=1.0, init_decay=1e-4)
            model = algorithm("MlpPolicy", "CartPole-v1", **kwargs)
            model.learn(50_000)
            mean, _ = evaluate_policy(model, model.get_env(), n_eval_episodes=20)
            returns[name].append(float(mean))
    dqn, fade = np.mean(returns["dqn"]), np.mean(returns["fade"])
    print(f"mean evaluation return over 2 seeds: DQN {dqn:.1f}, FadeDQN {fade:.1f}: {returns}")
    assert dqn > 150, returns  # the budget is enough for DQN itself
    assert fade >= 0.8 * dqn, returns
