"""A run's checkpoints: saving everything a resume needs, and loading the newest intact one.

``checkpoints/step_<n>/`` holds ``model.zip`` (FADE's state included), ``replay_buffer.pkl``,
``env.pkl``, ``plasticity.pt``, ``state.json`` and ``state.json.hmac``; ``state.json`` is
written last and lists the size and SHA-256 of every other file, and ``state.json.hmac`` is
its HMAC-SHA256 under the user's run key (:mod:`~fade_rl.experiments.run_key`): a resume
checks it before anything is unpickled and refuses a folder it does not match (made by
another user or machine, or edited), since pickles run code as they load. A checkpoint
whose ``state.json`` is missing or unreadable, or whose files do not match it, or that
fails to load, is skipped with a warning, and the newest intact older one is used.
Skipped checkpoints are renamed to ``checkpoints/unusable_step_<n>_<time>`` (kept, never
deleted). Every load maps tensors to the current run's device.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fade_rl.experiments.runs.atomic import replace_dir, write_atomic
from fade_rl.experiments.runs.callback_state import restore_callback_state, save_callback_state
from fade_rl.experiments.runs.folder import (
    CHECKPOINT,
    CHECKPOINT_SIGNATURE,
    CHECKPOINT_STATE,
    CHECKPOINTS,
    ENV_STATE,
    MODEL,
    PLASTICITY_STATE,
    REPLAY_BUFFER,
    RunError,
    RunFolder,
)
from fade_rl.experiments.runs.logs import cut_logs
from fade_rl.experiments.runs.rng_state import restore_rng_state, rng_state
from fade_rl.experiments.runs.run_key import KEY_ENV, RunKey, UntrustedRunError
from fade_rl.experiments.runs.validate import read_json
from fade_rl.methods import REGISTRY

__all__ = ["CHECKPOINT", "Checkpointer", "LoadedCheckpoint", "load_checkpoint"]

#: Checkpoint files that a resume unpickles (SB3 reads ``model.zip``'s data with cloudpickle).
_PICKLED = (MODEL, REPLAY_BUFFER, ENV_STATE)


def _digest(path: Path) -> dict[str, Any]:
    sha = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            sha.update(block)
    return {"size": path.stat().st_size, "sha256": sha.hexdigest()}


class Checkpointer:
    """Saves everything a resume needs every ``interval`` steps (its ``callback`` is SB3's):
    at the first rollout start from each multiple of ``interval`` on, and at the end of
    training, so a checkpoint holds a whole step (stored, trained on) and the random
    generators' states, and a resumed run is the same run as an uninterrupted one.

    ``extra`` holds ``callbacks`` (the method's), ``counters`` (the method's
    :attr:`~fade_rl.methods.MethodSpec.counters`), ``recorder``,
    ``plasticity`` (or ``None``), ``wall_time``, ``session_start`` and ``guard`` (a
    NonFiniteGuard or ``None``: checked before every save, so a checkpoint never holds a
    non-finite parameter).

    Example (every 50 steps, keeping the newest checkpoint; the run key in a temp folder):
        >>> import tempfile
        >>> from stable_baselines3 import DQN
        >>> from fade_rl.experiments.runs.callbacks import EpisodeRecorder
        >>> root = Path(tempfile.mkdtemp())
        >>> run = RunFolder(root / "demo" / "none" / "seed_0")
        >>> run.path.mkdir(parents=True)
        >>> recorder = EpisodeRecorder(run.path / "episodes.jsonl")
        >>> extra = {"callbacks": [], "counters": (), "recorder": recorder, "plasticity": None,
        ...          "wall_time": 0.0, "session_start": time.perf_counter(), "guard": None}
        >>> checkpointer = Checkpointer(run, interval=50, keep=1, extra=extra)
        >>> checkpointer.key = RunKey(root / "run-key")
        >>> model = DQN("MlpPolicy", "CartPole-v1", learning_starts=50, buffer_size=200,
        ...             policy_kwargs={"net_arch": [8]}, seed=0)
        >>> _ = model.learn(100, callback=[recorder, checkpointer.callback])
        >>> checkpointer.saved_step, [p.name for p in (run.path / CHECKPOINTS).iterdir()]
        (100, ['step_100'])
        >>> sorted(p.name for p in (run.path / CHECKPOINTS / "step_100").iterdir())
        ['env.pkl', 'model.zip', 'replay_buffer.pkl', 'state.json', 'state.json.hmac']
    """

    def __init__(self, folder: RunFolder, interval: int, keep: int, extra: dict[str, Any]) -> None:
        from stable_baselines3.common.callbacks import BaseCallback

        outer = self

        class _CB(BaseCallback):
            def _on_training_start(self) -> None:
                outer._next = (self.num_timesteps // interval + 1) * interval

            def _on_step(self) -> bool:
                return True

            # Saved where the model is whole: at a rollout's start (the previous rollout
            # stored and trained on) or at the end; never mid-rollout (SB3's on_step comes
            # before the step's transition is stored, and before its rollout's train())
            def _on_rollout_start(self) -> None:
                outer._maybe_save(self.model)

            def _on_training_end(self) -> None:
                outer._maybe_save(self.model)

        self.callback = _CB()
        self.folder = folder
        self.keep = keep
        self.interval = interval
        self.extra = extra
        self._next = interval
        #: The step of the newest checkpoint this run has (0: none yet).
        self.saved_step = 0
        self.key = RunKey()  # signs state.json, so only this user's resume unpickles the files

    def _maybe_save(self, model: Any) -> None:
        step = int(model.num_timesteps)
        if step >= self._next:
            while self._next <= step:
                self._next += self.interval
            self.save(model)

    def save(self, model: Any) -> None:
        """Write ``checkpoints/step_<n>/`` and then mark it in ``checkpoint.json``."""
        import cloudpickle
        import torch as th

        guard = self.extra.get("guard")
        if guard is not None:
            guard.check_model(model)
        step = int(model.num_timesteps)
        root = self.folder.path / CHECKPOINTS
        folder = root / f"step_{step}"
        tmp = root / f".step_{step}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)  # our own half-written save
        tmp.mkdir(parents=True)
        model.save(tmp / MODEL)
        if getattr(model, "replay_buffer", None) is not None:
            model.save_replay_buffer(tmp / REPLAY_BUFFER)
        env_saved = True
        try:
            with (tmp / ENV_STATE).open("wb") as fh:
                cloudpickle.dump(model.get_env(), fh)
        except Exception:
            env_saved = False
            (tmp / ENV_STATE).unlink(missing_ok=True)
        plasticity = self.extra.get("plasticity")
        if plasticity is not None:
            th.save(plasticity.state_dict(), tmp / PLASTICITY_STATE)
        recorder = self.extra["recorder"]
        recorder.flush()
        wall = self.extra["wall_time"] + (time.perf_counter() - self.extra["session_start"])
        state = {
            "step": step,
            "env_saved": env_saved,
            "callbacks": save_callback_state(self.extra["callbacks"], self.extra["counters"], tmp),
            "recorder": recorder.state(),
            "rng": rng_state(model),
            "wall_time": wall,
            "files": {p.name: _digest(p) for p in sorted(tmp.iterdir())},
        }
        (tmp / CHECKPOINT_STATE).write_text(json.dumps(state, indent=1))
        (tmp / CHECKPOINT_SIGNATURE).write_text(self.key.sign(tmp / CHECKPOINT_STATE))
        replace_dir(tmp, folder)  # synced; a checkpoint of this very step is superseded
        write_atomic(self.folder.path / CHECKPOINT, json.dumps({"step": step, "path": folder.name}))
        self.saved_step = step
        old = sorted(
            (p for p in root.glob("step_*") if p != folder and p.name[5:].isdigit()),
            key=lambda p: int(p.name[5:]),
        )
        for path in old[: max(0, len(old) - (self.keep - 1))]:
            shutil.rmtree(path, ignore_errors=True)


@dataclass
class LoadedCheckpoint:
    """A checkpoint loaded into a run: model, environment, wall time so far and step.

    Example (:func:`load_checkpoint` picks the newest of the checkpoints kept, here those
    of steps 52 and 100 (the first rollout start from step 50 on, DQN's rollouts being
    4 steps, and the end); the run key is named by ``$FADE_RL_RUN_KEY_FILE`` for the example's
    length only):
        >>> import tempfile
        >>> from unittest import mock
        >>> from stable_baselines3 import DQN
        >>> from fade_rl.experiments.runs.callbacks import EpisodeRecorder
        >>> from fade_rl.experiments.runs.config import validate_config
        >>> config = validate_config({"name": "demo", "env": {"id": "CartPole-v1"},
        ...                           "method": "none"}, "example")
        >>> model = DQN("MlpPolicy", "CartPole-v1", learning_starts=50, buffer_size=200,
        ...             policy_kwargs={"net_arch": [8]}, seed=0)
        >>> from fade_rl.experiments.runs.folder import run_dir_for
        >>> root = Path(tempfile.mkdtemp())
        >>> run = RunFolder(run_dir_for(root, config))  # root/demo/none/seed_0
        >>> run.path.mkdir(parents=True)
        >>> recorder = EpisodeRecorder(run.path / "episodes.jsonl")
        >>> extra = {"callbacks": [], "counters": (), "recorder": recorder, "plasticity": None,
        ...          "wall_time": 0.0, "session_start": time.perf_counter(), "guard": None}
        >>> with mock.patch.dict(os.environ, {KEY_ENV: str(root / "run-key")}):
        ...     checkpointer = Checkpointer(run, interval=50, keep=2, extra=extra)
        ...     _ = model.learn(100, callback=[recorder, checkpointer.callback])
        ...     loaded = load_checkpoint(run, config, recorder, methods=[])
        >>> sorted(p.name for p in (run.path / CHECKPOINTS).iterdir())
        ['step_100', 'step_52']
        >>> loaded.step, loaded.folder.name, type(loaded.model).__name__, loaded.wall_time > 0
        (100, 'step_100', 'DQN', True)
        >>> loaded.model.num_timesteps, loaded.env.num_envs
        (100, 1)
        >>> loaded.env.close()
    """

    model: Any
    env: Any
    wall_time: float
    step: int
    folder: Path


def _candidates(run: RunFolder) -> list[Path]:
    """Checkpoint folders, newest first; says so when ``checkpoint.json`` is unreadable."""
    root = run.path / CHECKPOINTS
    found = sorted(
        (p for p in root.glob("step_*") if p.is_dir() and p.name[5:].isdigit()),
        key=lambda p: -int(p.name[5:]),
    )
    marker = run.path / CHECKPOINT
    if marker.is_file():
        data, why = read_json(marker)
        named = data.get("path") if isinstance(data, dict) else None
        if not isinstance(named, str):
            warnings.warn(
                f"{marker} is unreadable ({why or 'no checkpoint path'}); looking for the "
                "newest intact checkpoint instead",
                stacklevel=3,
            )
        else:
            if found and named != found[0].name:
                warnings.warn(
                    f"{marker} names {named}, but {found[0].name} is newer; trying that first",
                    stacklevel=3,
                )
    return found


def _untrusted(path: Path, key: RunKey, why: str) -> UntrustedRunError:
    return UntrustedRunError(
        f"{path} {why} ({key.path}), and resuming would unpickle files that can run any code: "
        "a run folder made by another user or machine, or before checkpoints were signed, "
        f"cannot resume; pass --restart to discard it, or set {KEY_ENV} to the key that made it"
    )


def _verify(folder: Path, key: RunKey) -> dict[str, Any]:
    """The checkpoint's ``state.json`` if every file it lists is intact; raise otherwise.

    ``state.json`` lists every file's SHA-256 and is itself signed (``state.json.hmac``,
    HMAC-SHA256 under the run key). Raises ValueError for damage (the caller falls back to
    an older checkpoint), and :class:`UntrustedRunError` when the signature does not match,
    or a pickle is not listed (the caller stops at once: nothing has been unpickled).
    """
    manifest = folder / CHECKPOINT_STATE
    state, why = read_json(manifest)
    if why is not None:
        raise ValueError(f"state.json: {why}")
    if not isinstance(state, dict) or int(state["step"]) != int(folder.name[5:]):
        raise ValueError("state.json names another step")
    signature = folder / CHECKPOINT_SIGNATURE
    if not signature.is_file() or not key.matches(manifest, signature.read_text().strip()):
        raise _untrusted(manifest, key, "is not signed by this user's run key")
    files = state.get("files", {})
    for name in _PICKLED:
        if (folder / name).exists() and name not in files:
            raise _untrusted(folder / name, key, "is not listed in the signed state.json")
    for name, expected in files.items():
        path = folder / name
        if not path.is_file():
            raise ValueError(f"{name} is missing")
        if _digest(path) != expected:
            raise ValueError(f"{name} is truncated or corrupt (size/SHA-256 mismatch)")
    return state


def _check_resumable(method: str, states: Sequence[dict[str, Any]]) -> None:
    """Refuse a checkpoint the method's spec cannot resume from (given its callbacks' counters)."""
    counters = {k: v for entry in states for k, v in entry.get("counters", {}).items()}
    reason = REGISTRY[method].cannot_resume(counters)
    if reason is not None:
        raise RunError(f"{reason}, so it cannot resume from this checkpoint")


def _load_one(
    folder: Path,
    state: dict[str, Any],
    config: Any,
    recorder: Any,
    methods: Sequence[Any],
    plasticity: Any,
) -> LoadedCheckpoint:
    import cloudpickle
    import torch as th

    from fade_rl.experiments.runs.build import algorithm_class, make_env, resolve_device

    step = int(state["step"])
    _check_resumable(config.method, state["callbacks"])
    device = resolve_device(config.device)
    if state["env_saved"]:
        with (folder / ENV_STATE).open("rb") as fh:
            env = cloudpickle.load(fh)
    else:
        warnings.warn(
            f"{folder}: the environment could not be saved; it restarts its schedules at step 0",
            stacklevel=3,
        )
        env = make_env(config)
    try:
        cls = algorithm_class(config)
        model = cls.load(folder / MODEL, env=env, device=device, force_reset=False)
        if REPLAY_BUFFER in state["files"]:  # only files _verify checked
            model.load_replay_buffer(folder / REPLAY_BUFFER)  # SB3 moves it to model.device
        if int(model.num_timesteps) != step:
            raise ValueError(f"model at step {model.num_timesteps}, state.json says {step}")
        saved = folder / PLASTICITY_STATE
        if plasticity is not None and saved.is_file():
            plasticity.load_state_dict(th.load(saved, map_location=model.device, weights_only=True))
        restore_callback_state(methods, state["callbacks"], folder, model.device)
        if "rng" in state:  # last: loading the model reseeded every generator
            restore_rng_state(model, state["rng"])
    except BaseException:
        env.close()
        raise
    rec = state["recorder"]
    recorder.n_episodes = rec["n_episodes"]
    recorder.n_shifts = rec["n_shifts"]
    recorder.initial_values = rec["initial_values"]
    return LoadedCheckpoint(model, env, float(state["wall_time"]), step, folder)


def load_checkpoint(
    run: RunFolder,
    config: Any,
    recorder: Any,
    methods: Sequence[Any],
    plasticity: Any = None,
) -> LoadedCheckpoint | None:
    """Load the newest intact checkpoint of ``run`` and cut its logs back to that step.

    Each unusable checkpoint is named in a warning and moved aside; ``None`` when the run
    has no checkpoint at all. Raises :class:`RunError` (naming ``--restart``) when it has
    checkpoints but none is usable.
    """
    candidates = _candidates(run)
    problems = []
    key = RunKey()
    for folder in candidates:
        try:
            state = _verify(folder, key)
            loaded = _load_one(folder, state, config, recorder, methods, plasticity)
        except UntrustedRunError:
            raise  # not damage: an older checkpoint of the same folder is no more trusted
        except Exception as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            problems.append(f"{folder.name} ({reason})")
            warnings.warn(
                f"{run.path}: checkpoint {folder.name} is unusable ({reason}); "
                "falling back to the next older one",
                stacklevel=2,
            )
            continue
        for bad in candidates[: candidates.index(folder)]:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            os.replace(bad, bad.with_name(f"unusable_{bad.name}_{stamp}"))
        if problems:
            warnings.warn(f"{run.path}: resuming from {folder.name}", stacklevel=2)
        cut_logs(run.path, loaded.step)
        write_atomic(run.path / CHECKPOINT, json.dumps({"step": loaded.step, "path": folder.name}))
        return loaded
    if problems:
        raise RunError(
            f"{run.path}: no usable checkpoint ({'; '.join(problems)}); "
            "pass --restart to discard this run and start it afresh"
        )
    return None
