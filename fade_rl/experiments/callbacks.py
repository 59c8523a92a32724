"""SB3 callbacks of a run: episode/shift recording, plasticity measurements, progress bar.

They write straight into the TensorBoard writer of the run's SB3 logger (so they need no
``logger.dump`` and do not disturb SB3's own log intervals) and keep their state in plain
attributes that :mod:`fade_rl.experiments.run` saves in checkpoints.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import torch as th
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import TensorBoardOutputFormat

from fade_rl.metrics import functional as F

__all__ = ["EpisodeRecorder", "PlasticityLogger", "ProgressBar", "tensorboard_writer"]


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
    """

    def __init__(self, path: str | Path) -> None:
        super().__init__(0)
        self.path = Path(path)
        self.n_episodes = 0
        self.n_shifts = 0
        self.initial_values: dict[str, Any] | None = None
        self._file: TextIO | None = None

    def _on_training_start(self) -> None:
        self._file = self.path.open("a")
        self._writer = tensorboard_writer(self)

    def _write(self, record: dict[str, Any]) -> None:
        assert self._file is not None
        self._file.write(json.dumps(_jsonable(record)) + "\n")

    def _on_step(self) -> bool:
        infos: list[dict[str, Any]] = self.locals.get("infos", [])
        step = self.num_timesteps
        n_envs = max(1, len(infos))
        for i, info in enumerate(infos):
            if i == 0 and self.initial_values is None and "shift_values" in info:
                self.initial_values = _jsonable(info["shift_values"])
            if i == 0 and info.get("shift"):
                self.n_shifts += 1
                shift_step = step - n_envs
                self._write(
                    {
                        "kind": "shift",
                        "step": shift_step,
                        "segment": int(info.get("segment", self.n_shifts)),
                        "values": info.get("shift_values"),
                    }
                )
                if self._writer is not None:
                    self._writer.add_scalar("env/segment", info.get("segment", 0), shift_step)
            episode = info.get("episode")
            if episode is not None:
                self.n_episodes += 1
                ret, length = float(episode["r"]), int(episode["l"])
                self._write(
                    {"kind": "episode", "step": step, "env": i, "return": ret, "length": length}
                )
                if self._writer is not None:
                    self._writer.add_scalar("episode/return", ret, step)
        return True

    def flush(self) -> None:
        """Push buffered lines and TensorBoard events to disk (before a checkpoint is marked)."""
        if self._file is not None:
            self._file.flush()
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


def _critic_parts(model: Any) -> tuple[th.nn.Module, th.nn.Module, Any]:
    """``(body, whole critic, inputs_fn)``: ``body(inputs_fn(batch))`` are the head's features."""
    from fade_rl.agents import split_head

    policy = model.policy
    if hasattr(policy, "q_net") and hasattr(policy.q_net, "q_net"):  # DQN
        qnet = policy.q_net
        body, _ = split_head(qnet.q_net, "q_net")

        def dqn_inputs(batch: Any) -> th.Tensor:
            return qnet.extract_features(batch.observations, qnet.features_extractor)

        return body, qnet, dqn_inputs
    critic = model.critic  # SAC / TD3
    body, _ = split_head(critic.q_networks[0], "critic.qf0")

    def critic_inputs(batch: Any) -> th.Tensor:
        features = critic.extract_features(batch.observations, critic.features_extractor)
        return th.cat([features, batch.actions], dim=1)

    return body, critic, critic_inputs


class PlasticityLogger(BaseCallback):
    """Every ``every`` steps, measure the first critic's head features on a replay batch.

    TensorBoard scalars under ``plasticity/``: ``dormant_tau0``, ``dormant_tau0.1``
    (Sokar et al. dormant ratio at tau = 0 and 0.1), ``active_units``, ``srank``
    (delta = 0.01), ``effective_rank``, ``feature_norm``, ``weight_norm`` (whole critic)
    and ``distance_from_init``. The metric functions are :mod:`fade_rl.metrics.functional`.
    """

    def __init__(self, every: int, batch_size: int = 256) -> None:
        super().__init__(0)
        self.every = every
        self.batch_size = batch_size
        self._next = every
        self._initial: list[th.Tensor] | None = None

    def _on_training_start(self) -> None:
        self._writer = tensorboard_writer(self)
        self._next = (self.num_timesteps // self.every + 1) * self.every
        self._body, self._critic, self._inputs = _critic_parts(self.model)
        if self._initial is None:
            self._initial = [p.detach().clone() for p in self._critic.parameters()]

    def measure(self) -> dict[str, float]:
        """The metrics on a fresh replay batch (empty dict while the buffer is empty)."""
        buffer = self.model.replay_buffer
        if buffer is None or buffer.size() == 0:
            return {}
        batch = buffer.sample(min(self.batch_size, buffer.size()))
        with th.no_grad():
            phi = self._body(self._inputs(batch)).float().cpu()
        params = [p.detach() for p in self._critic.parameters()]
        out = {
            "dormant_tau0": F.dormant_ratio(phi, 0.0),
            "dormant_tau0.1": F.dormant_ratio(phi, 0.1),
            "active_units": F.active_units(phi),
            "srank": float(F.srank(phi)),
            "effective_rank": F.effective_rank(phi),
            "feature_norm": F.feature_norm(phi),
            "weight_norm": F.weight_norm(params),
        }
        if self._initial is not None:
            out["distance_from_init"] = F.distance_from_init(params, self._initial)
        return out

    def _on_step(self) -> bool:
        if self.num_timesteps >= self._next:
            while self._next <= self.num_timesteps:
                self._next += self.every
            if self._writer is not None:
                for key, value in self.measure().items():
                    self._writer.add_scalar(f"plasticity/{key}", value, self.num_timesteps)
        return True

    def state(self) -> dict[str, Any]:
        """Nothing but the initial weights matter across a resume; they go in a .pt file."""
        return {}


class ProgressBar(BaseCallback):
    """A tqdm bar over environment steps that starts where a resumed run left off."""

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
