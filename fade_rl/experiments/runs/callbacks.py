"""SB3 callbacks of a run: episode/shift recording and a progress bar.

They write straight into the TensorBoard output of the run's SB3 logger (so they need no
``logger.dump`` and do not disturb SB3's own log intervals) and expose the state that
:mod:`fade_rl.experiments.runs.run` saves in checkpoints.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, TextIO

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import TensorBoardOutputFormat

from fade_rl.envs.core import SHIFT_VALUES
from fade_rl.metrics.episodes import EpisodeLog

__all__ = ["EpisodeRecorder", "ProgressBar", "tensorboard_writer"]


def tensorboard_writer(callback: BaseCallback) -> Any | None:
    """The ``SummaryWriter`` of the model's SB3 logger, or ``None`` without TensorBoard output."""
    for fmt in callback.model.logger.output_formats:
        if isinstance(fmt, TensorBoardOutputFormat):
            return fmt.writer
    return None


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


class EpisodeRecorder(BaseCallback):
    """Append every finished episode and every environment shift to ``episodes.jsonl``.

    Lines are ``{"kind": "episode", "step": t, "env": i, "return": r, "length": l}`` (``t``
    the global step count after the episode's last step) and ``{"kind": "shift", "step": t,
    "segment": k, "values": {...}}`` for shifts of environment copy 0 (``t`` the global step
    count before the step that first ran under new values, i.e. the first step of the new
    segment). Returns also go to TensorBoard as ``episode/return`` and shifts as
    ``env/segment``.

    Example:
        >>> import tempfile
        >>> from stable_baselines3 import DQN
        >>> path = Path(tempfile.mkdtemp()) / "episodes.jsonl"
        >>> model = DQN("MlpPolicy", "CartPole-v1", learning_starts=50, buffer_size=200,
        ...             policy_kwargs={"net_arch": [8]}, seed=0)
        >>> recorder = EpisodeRecorder(path)
        >>> _ = model.learn(100, callback=recorder)
        >>> recorder.state()
        {'n_episodes': 7, 'n_shifts': 0, 'initial_values': None}
        >>> path.read_text().splitlines()[0]
        '{"kind": "episode", "step": 18, "env": 0, "return": 18.0, "length": 18}'
    """

    def __init__(self, path: str | Path) -> None:
        super().__init__(0)
        self.path = Path(path)
        self.n_episodes = 0
        self.n_shifts = 0
        self.initial_values: dict[str, Any] | None = None
        self._file: TextIO | None = None
        # The library's episode/shift bookkeeping parses the infos; this callback writes it out.
        self._log = EpisodeLog()

    def _on_training_start(self) -> None:
        self._file = self.path.open("a")
        self._writer = tensorboard_writer(self)

    def _write(self, record: dict[str, Any]) -> None:
        assert self._file is not None
        self._file.write(json.dumps(_jsonable(record)) + "\n")

    def _on_step(self) -> bool:
        infos: list[dict[str, Any]] = self.locals.get("infos", [])
        if self.initial_values is None and infos and SHIFT_VALUES in infos[0]:
            self.initial_values = _jsonable(infos[0][SHIFT_VALUES])
        self._log.ensure_envs(max(1, len(infos)))
        self._log.track(infos, self.num_timesteps)
        for record in self._log.events:
            self._write(record)
            if record["kind"] == "shift":
                self.n_shifts += 1
                if self._writer is not None:
                    self._writer.add_scalar("env/segment", record["segment"], record["step"])
            else:
                self.n_episodes += 1
                if self._writer is not None:
                    self._writer.add_scalar("episode/return", record["return"], record["step"])
        return True

    def flush(self) -> None:
        """Push buffered lines and TensorBoard events to disk (before a checkpoint is marked)."""
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())  # on disk before the checkpoint that counts on it
        if self._writer is not None:
            self._writer.flush()

    def _on_training_end(self) -> None:
        self.flush()
        if self._file is not None:
            self._file.close()
            self._file = None

    def state(self) -> dict[str, Any]:
        """What a checkpoint keeps of this callback."""
        return {
            "n_episodes": self.n_episodes,
            "n_shifts": self.n_shifts,
            "initial_values": self.initial_values,
        }


class ProgressBar(BaseCallback):
    """A tqdm bar over environment steps that starts where a resumed run left off.

    Example (the bar goes to stderr; a resumed run passes its full budget as ``total``):
        >>> from stable_baselines3 import DQN
        >>> model = DQN("MlpPolicy", "CartPole-v1", learning_starts=50, buffer_size=200,
        ...             policy_kwargs={"net_arch": [8]}, seed=0)
        >>> bar = ProgressBar(total=100, description="demo/none/seed_0")
        >>> _ = model.learn(100, callback=bar)
        >>> bar.total, bar.num_timesteps
        (100, 100)
    """

    def __init__(self, total: int, description: str = "") -> None:
        super().__init__(0)
        self.total = total
        self.description = description
        self._bar: Any = None

    def _on_training_start(self) -> None:
        from tqdm.auto import tqdm

        self._bar = tqdm(
            total=self.total,
            initial=self.num_timesteps,
            desc=self.description,
            unit="step",
            dynamic_ncols=True,
        )
        self._shown = self.num_timesteps

    def _on_step(self) -> bool:
        if self.num_timesteps - self._shown >= 200:
            self._bar.update(self.num_timesteps - self._shown)
            self._shown = self.num_timesteps
        return True

    def _on_training_end(self) -> None:
        if self._bar is not None:
            self._bar.update(self.num_timesteps - self._shown)
            self._bar.close()
            self._bar = None
