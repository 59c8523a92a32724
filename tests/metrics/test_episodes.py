"""EpisodeLog: the one episode/shift bookkeeping, its global-step records, sharing, switch-off."""

from __future__ import annotations

from typing import Any

import pytest
from stable_baselines3 import DQN

from fade_rl.metrics import PlasticityCallback
from fade_rl.metrics.episodes import EpisodeLog
from fade_rl.metrics.shifts import Episode, Shift


def test_events_use_the_global_step_clock_of_the_episode_file() -> None:
    """Two copies: episodes at num_timesteps, env 0's shift at num_timesteps - n_envs."""
    log = EpisodeLog(n_envs=2)
    assert not log.track([{}, {}], num_timesteps=2)
    shifted = log.track(
        [{"shift": True, "segment": 1, "shift_values": {"g": 15.0}}, {"shift": True}],
        num_timesteps=4,
    )
    assert shifted
    assert log.events == [{"kind": "shift", "step": 2, "segment": 1, "values": {"g": 15.0}}]
    log.track([{}, {"episode": {"r": 3.0, "l": 3}}], num_timesteps=6)
    assert log.events == [{"kind": "episode", "step": 6, "env": 1, "return": 3.0, "length": 3}]
    # the statistics keep each copy's own clock (third step: index 2, episode ends at 3)
    assert log.shifts[1] == [Shift(step=1, segment=1, values=None)]
    assert log.episodes[1] == [Episode(end_step=3, ret=3.0, length=3)]


def test_a_step_tracked_twice_counts_once() -> None:
    log = EpisodeLog(n_envs=1)
    infos = [{"shift": True, "episode": {"r": 1.0, "l": 1}}]
    assert log.track(infos, num_timesteps=1)
    assert log.track(infos, num_timesteps=1)  # a second callback sharing the log
    assert len(log.episodes[0]) == 1 and len(log.shifts[0]) == 1 and log.env_steps == 1
    assert log.take_pending_returns() == {1: 1.0}


def _drive(callback: PlasticityCallback, model: Any, step: int, info: dict[str, Any]) -> None:
    model.num_timesteps = step
    callback.update_locals({"infos": [info]})
    callback.on_step()


@pytest.mark.parametrize("log_returns", [True, False])
def test_plasticity_callback_shares_the_log_and_can_leave_returns_to_another(
    log_returns: bool,
) -> None:
    model = DQN("MlpPolicy", "CartPole-v1", learning_starts=10, buffer_size=500, seed=0)
    model.learn(40)
    shared = EpisodeLog(share=0.5)
    callback = PlasticityCallback(
        interval=10_000, probe_interval=None, episode_log=shared, log_returns=log_returns
    )
    callback.init_callback(model)
    callback.on_training_start({}, {})
    assert callback.episode_log is shared
    _drive(callback, model, 41, {"episode": {"r": 7.0, "l": 7}})
    shared.track([{"episode": {"r": 7.0, "l": 7}}], 41)  # the other callback: no double count
    callback.on_training_end()
    assert [e.ret for e in shared.episodes[0]] == [7.0]
    written = [tags for _, tags in callback.history if "shift/episode_return" in tags]
    assert len(written) == (1 if log_returns else 0)


def test_episode_log_of_another_type_is_refused() -> None:
    with pytest.raises(TypeError, match=r"episode_log must be a fade_rl\.metrics\.episodes"):
        PlasticityCallback(episode_log={"episodes": []})  # type: ignore[arg-type]
