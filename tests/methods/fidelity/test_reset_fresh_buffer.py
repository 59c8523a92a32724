"""Reset with ``fresh_buffer``: the oracle of continual RL (fresh networks, optimizer and
replay buffer), which waits ``learning_starts`` steps before training again."""

from __future__ import annotations

import pytest
from stable_baselines3 import DQN, PPO, SAC
from stable_baselines3.common.callbacks import BaseCallback

from fade_rl.experiments.runs.callback_state import restore_callback_state, save_callback_state
from fade_rl.methods import ResetCallback


class _Updates(BaseCallback):
    """The model's gradient-step count after each environment step."""

    def __init__(self) -> None:
        super().__init__()
        self.after_step: dict[int, int] = {}

    def _on_step(self) -> bool:
        self.after_step[self.num_timesteps] = self.model._n_updates
        return True


def _model(cls: type) -> DQN | SAC:
    env = "CartPole-v1" if cls is DQN else "Pendulum-v1"
    return cls(
        "MlpPolicy",
        env,
        learning_starts=20,
        train_freq=1,
        gradient_steps=1,
        batch_size=8,
        policy_kwargs={"net_arch": [8]},
        seed=0,
        device="cpu",
    )


@pytest.mark.parametrize("cls", [DQN, SAC])
def test_fresh_buffer_empties_the_buffer_and_waits_learning_starts_again(cls) -> None:
    model = _model(cls)
    reset = ResetCallback(target="all", every=100, fresh_buffer=True)
    updates = _Updates()
    model.learn(160, callback=[reset, updates])
    # SB3 trains after step t when t > learning_starts. The reset comes as step 100 is
    # taken, before its transition is stored and before its training: steps 21..99 train
    # (79), then learning_starts is 100 + 20 and steps 121..160 train (40).
    assert model._n_updates == 79 + 40
    # updates.after_step[t] is read in the step's callback, before that step's training
    assert updates.after_step[100] == updates.after_step[121] == 79
    assert updates.after_step[122] == 80
    assert model.replay_buffer.size() == 61  # the transitions of steps 100..160
    assert model.learning_starts == 120 and reset.learning_starts == 20


def test_without_fresh_buffer_the_buffer_and_learning_starts_are_kept() -> None:
    model = _model(DQN)
    model.learn(160, callback=ResetCallback(target="all", every=100))
    assert model.replay_buffer.size() == 160
    assert model.learning_starts == 20 and model._n_updates == 140


def test_a_resumed_callback_waits_the_models_own_learning_starts(tmp_path) -> None:
    """The model's copy moved at the reset; the checkpointed callback keeps the original."""
    model = _model(DQN)
    reset = ResetCallback(target="all", every=100, fresh_buffer=True)
    model.learn(150, callback=reset)
    states = save_callback_state([reset], [], tmp_path)
    resumed = ResetCallback(target="all", every=100, fresh_buffer=True)
    restore_callback_state([resumed], states, tmp_path, "cpu")
    model.learn(60, callback=resumed, reset_num_timesteps=False)  # reset at 200 again
    assert resumed.learning_starts == 20
    assert model.learning_starts == 200 + 20


def test_fresh_buffer_is_refused_on_ppo_in_one_line() -> None:
    model = PPO("MlpPolicy", "CartPole-v1", n_steps=32, batch_size=32, device="cpu")
    with pytest.raises(ValueError, match=r"PPO has none .*drop fresh_buffer$"):
        model.learn(32, callback=ResetCallback(target="all", every=64, fresh_buffer=True))
