"""One run: a (setting, method, seed) trained into its own, resumable run folder.

Layout of ``<log_folder>/<setting>/<method>/seed_<seed>/``:

``config.yaml``      the resolved config (``fade-rl train --config`` on it repeats the run)
``command.txt``      the command line(s) that made or resumed it, with the working directory
``versions.json``    python, platform and package versions
``events.out.tfevents.*``  TensorBoard (SB3's keys, ``episode/return``, ``env/segment``,
                     ``plasticity/*``, ``fade/*``)
``episodes.jsonl``   every finished episode and every shift
``checkpoints/``     ``step_<n>/`` with the model (FADE state included), replay buffer,
                     environment and callback state; ``checkpoint.json`` names the latest
``lambda.npz``       FADE's final decay rates per head (method ``fade``)
``summary.json``     written last: final and per-segment returns, steps per second

A run killed mid-way and started again with the same config continues from the latest
checkpoint: everything logged after it (TensorBoard events, episode lines) is cut away
first, so no step is logged twice.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shlex
import shutil
import sys
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from fade_rl.experiments.config import ExperimentConfig, validate_config

if TYPE_CHECKING:
    from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm

__all__ = [
    "RunError",
    "is_complete",
    "package_versions",
    "read_episodes",
    "run_dir_for",
    "train_run",
]

SUMMARY = "summary.json"
CHECKPOINT = "checkpoint.json"
EPISODES = "episodes.jsonl"


class RunError(RuntimeError):
    """A run cannot start or continue (e.g. its folder holds a different config)."""


def run_dir_for(log_folder: str | Path, config: ExperimentConfig) -> Path:
    """``<log_folder>/<setting>/<method>/seed_<seed>``: the run's folder and TensorBoard run."""
    return Path(log_folder) / config.name / config.method / f"seed_{config.seed}"


def is_complete(run_dir: str | Path) -> bool:
    """Whether ``run_dir`` holds a finished run (a summary with status ``completed``)."""
    path = Path(run_dir) / SUMMARY
    if not path.is_file():
        return False
    try:
        return json.loads(path.read_text()).get("status") == "completed"
    except (OSError, json.JSONDecodeError):
        return False


def package_versions() -> dict[str, str]:
    """Versions of python, the platform and the packages a run depends on."""
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in ("fade-rl", "torch", "stable-baselines3", "gymnasium", "numpy"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


# --------------------------------------------------------------------------- building
def make_env(config: ExperimentConfig) -> Any:
    """The run's vectorized environment (``n_envs`` copies, each under ``Monitor``)."""
    from stable_baselines3.common.env_util import make_vec_env

    import fade_rl.envs  # noqa: F401  (registers the ids)

    return make_vec_env(
        config.env.id,
        n_envs=config.env.n_envs,
        seed=config.seed,
        env_kwargs=dict(config.env.kwargs),
    )


def algorithm_class(config: ExperimentConfig) -> type[OffPolicyAlgorithm]:
    """FadeDQN/FadeSAC/FadeTD3 for method ``fade``, SB3's DQN/SAC/TD3 otherwise."""
    from stable_baselines3 import DQN, SAC, TD3

    from fade_rl.agents import FadeDQN, FadeSAC, FadeTD3

    table: dict[str, tuple[type[OffPolicyAlgorithm], type[OffPolicyAlgorithm]]] = {
        "dqn": (DQN, FadeDQN),
        "sac": (SAC, FadeSAC),
        "td3": (TD3, FadeTD3),
    }
    return table[config.algo.name][config.method == "fade"]


def build_model(config: ExperimentConfig, env: Any) -> Any:
    """A new model for ``config`` on ``env``."""
    kwargs = dict(config.algo.hyperparams)
    if config.method == "fade":
        kwargs["fade_kwargs"] = {k: v for k, v in config.method_params().items() if v is not None}
    return algorithm_class(config)(
        config.algo.policy, env, seed=config.seed, device=config.device, verbose=0, **kwargs
    )


def method_callbacks(config: ExperimentConfig) -> list[Any]:
    """The SB3 callback that applies the run's baseline method (none for ``none``/``fade``)."""
    from fade_rl.agents.baselines import (
        ReDoCallback,
        ResetCallback,
        ShrinkPerturbCallback,
        WeightDecayCallback,
    )

    p = config.method_params()
    if config.method == "wd":
        return [WeightDecayCallback(p["weight_decay"], target=p["target"])]
    if config.method == "reset":
        if p["every"] is None and not p["at_shift"]:
            raise RunError("methods.reset: set every (steps) and/or at_shift: true")
        key = "shift" if p["at_shift"] else None
        return [ResetCallback(target=p["target"], every=p["every"], shift_info_key=key)]
    if config.method == "snp":
        return [ShrinkPerturbCallback(p["alpha"], p["every"], target=p["target"])]
    if config.method == "redo":
        return [ReDoCallback(tau=p["tau"], every=p["every"], batch_size=p["batch_size"])]
    return []


# ----------------------------------------------------------------------- checkpoints
_COUNTERS = ("n_resets", "n_applied", "n_recycled")


def _callback_state(callbacks: Sequence[Any]) -> list[dict[str, Any]]:
    out = []
    for cb in callbacks:
        state = {"class": type(cb).__name__}
        if hasattr(cb, "state"):
            state.update(cb.state())
        for name in _COUNTERS:
            if hasattr(cb, name):
                state[name] = getattr(cb, name)
        out.append(state)
    return out


def _restore_callback_state(callbacks: Sequence[Any], states: Sequence[dict[str, Any]]) -> None:
    for cb, state in zip(callbacks, states, strict=False):
        if state.get("class") != type(cb).__name__:
            raise RunError(
                f"checkpoint callback {state.get('class')} does not match {type(cb).__name__}"
            )
        for key, value in state.items():
            if key != "class" and hasattr(cb, key):
                setattr(cb, key, value)


class _Checkpointer:
    """Saves everything a resume needs every ``interval`` steps (an SB3 callback)."""

    def __init__(self, run_dir: Path, interval: int, keep: int, extra: dict[str, Any]) -> None:
        from stable_baselines3.common.callbacks import BaseCallback

        outer = self

        class _CB(BaseCallback):
            def _on_training_start(self) -> None:
                outer._next = (self.num_timesteps // interval + 1) * interval

            def _on_step(self) -> bool:
                if self.num_timesteps >= outer._next:
                    while outer._next <= self.num_timesteps:
                        outer._next += interval
                    outer.save(self.model)
                return True

        self.callback = _CB()
        self.run_dir = run_dir
        self.keep = keep
        self.extra = extra  # "callbacks", "recorder", "plasticity", "wall_time", "session_start"
        self._next = interval

    def save(self, model: Any) -> None:
        """Write ``checkpoints/step_<n>/`` and then mark it in ``checkpoint.json``."""
        import cloudpickle
        import torch as th

        step = int(model.num_timesteps)
        root = self.run_dir / "checkpoints"
        folder = root / f"step_{step}"
        tmp = root / f".step_{step}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        model.save(tmp / "model.zip")
        if getattr(model, "replay_buffer", None) is not None:
            model.save_replay_buffer(tmp / "replay_buffer.pkl")
        env_saved = True
        try:
            with (tmp / "env.pkl").open("wb") as fh:
                cloudpickle.dump(model.get_env(), fh)
        except Exception:
            env_saved = False
            (tmp / "env.pkl").unlink(missing_ok=True)
        plasticity = self.extra.get("plasticity")
        if plasticity is not None:
            th.save(plasticity.state_dict(), tmp / "plasticity.pt")
        recorder = self.extra["recorder"]
        recorder.flush()
        wall = self.extra["wall_time"] + (time.perf_counter() - self.extra["session_start"])
        state = {
            "step": step,
            "env_saved": env_saved,
            "callbacks": _callback_state(self.extra["callbacks"]),
            "recorder": recorder.state(),
            "wall_time": wall,
            "resumed_at": self.extra["resumed_at"],
        }
        (tmp / "state.json").write_text(json.dumps(state, indent=1))
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp, folder)
        _write_atomic(
            self.run_dir / CHECKPOINT, json.dumps({"step": step, "path": str(folder.name)})
        )
        old = sorted((p for p in root.glob("step_*") if p != folder), key=lambda p: int(p.name[5:]))
        for path in old[: max(0, len(old) - (self.keep - 1))]:
            shutil.rmtree(path, ignore_errors=True)


#: Tags logged at the step *before* the one that logged them (a shift's first step).
_EARLY_TAGS = frozenset({"env/segment"})


def truncate_events(run_dir: Path, step: int) -> int:
    """Rewrite the run's TensorBoard event files, keeping what was logged up to ``step``.

    That is events at ``<= step``, except for :data:`_EARLY_TAGS` (stamped with the step
    before the one that logged them): those at ``< step``. Returns the number of events
    dropped. File-level events (no summary) are kept.
    """
    from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader
    from tensorboard.compat.proto import event_pb2
    from tensorboard.summary.writer.record_writer import RecordWriter

    dropped = 0
    for path in sorted(run_dir.glob("events.out.tfevents.*")):
        records = list(RawEventFileLoader(str(path)).Load())
        kept = []
        for raw in records:
            event = event_pb2.Event.FromString(raw)
            if event.HasField("summary") and (
                event.step > step
                or (event.step == step and any(v.tag in _EARLY_TAGS for v in event.summary.value))
            ):
                dropped += 1
                continue
            kept.append(raw)
        if len(kept) == len(records):
            continue
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("wb") as fh:
            writer = RecordWriter(fh)
            for raw in kept:
                writer.write(raw)
        os.replace(tmp, path)
    return dropped


def truncate_episodes(path: Path, step: int) -> None:
    """Keep the lines of ``episodes.jsonl`` logged at ``<= step`` (and drop a torn last line)."""
    if not path.is_file():
        return
    kept = []
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if record["kind"] == "episode" and record["step"] > step:
            continue
        if record["kind"] == "shift" and record["step"] >= step:
            continue
        kept.append(line)
    _write_atomic(path, "".join(line + "\n" for line in kept))


def read_episodes(run_dir: str | Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``(episodes, shifts)`` recorded in a run folder's ``episodes.jsonl``."""
    path = Path(run_dir) / EPISODES
    episodes: list[dict[str, Any]] = []
    shifts: list[dict[str, Any]] = []
    if path.is_file():
        for line in path.read_text().splitlines():
            record = json.loads(line)
            (episodes if record["kind"] == "episode" else shifts).append(record)
    return episodes, shifts


# --------------------------------------------------------------------------- summary
def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def summarize(
    run_dir: Path, config: ExperimentConfig, steps: int, wall_time: float, initial_values: Any
) -> dict[str, Any]:
    """The run's ``summary.json`` content, from ``episodes.jsonl``."""
    from fade_rl.metrics.shifts import Episode, Shift, shift_statistics

    episodes, shifts = read_episodes(run_dir)
    returns = [e["return"] for e in episodes]
    eps = [Episode(end_step=e["step"], ret=e["return"], length=e["length"]) for e in episodes]
    sh = [Shift(step=s["step"], segment=s["segment"], values=_freeze(s["values"])) for s in shifts]
    segments = shift_statistics(
        eps,
        sh,
        window=10,
        recovery_window=5,
        reference="same_values",
        end=steps,
        initial_values=_freeze(initial_values),
    )
    tail = returns[-10:]
    return {
        "status": "completed",
        "setting": config.name,
        "method": config.method,
        "seed": config.seed,
        "env_id": config.env.id,
        "algo": config.algo.name,
        "n_timesteps": steps,
        "n_episodes": len(returns),
        "final_return": float(np.mean(tail)) if tail else None,
        "mean_return": float(np.mean(returns)) if returns else None,
        "wall_time_s": round(wall_time, 3),
        "steps_per_second": round(steps / wall_time, 2) if wall_time > 0 else None,
        "shifts": [{"step": s["step"], "segment": s["segment"]} for s in shifts],
        "segments": [s.as_dict() for s in segments],
    }


# ------------------------------------------------------------------------------- run
def _check_same_config(run_dir: Path, config: ExperimentConfig) -> None:
    """Refuse a run folder that holds a run of another config."""
    saved = run_dir / "config.yaml"
    if saved.is_file() and yaml.safe_load(saved.read_text()) != config.to_dict():
        raise RunError(
            f"{run_dir} holds a run of a different config ({saved}); "
            "use another --log-folder or --name, or delete that folder"
        )


def _prepare_folder(run_dir: Path, config: ExperimentConfig, resume: bool) -> dict | None:
    """Check the folder against ``config``; return the checkpoint to resume from, if any."""
    _check_same_config(run_dir, config)
    marker = run_dir / CHECKPOINT
    if resume and marker.is_file():
        info = json.loads(marker.read_text())
        if (run_dir / "checkpoints" / info["path"] / "state.json").is_file():
            return info
    # No usable checkpoint: start over in a clean folder.
    if run_dir.exists():
        shutil.rmtree(run_dir)
    return None


def train_run(
    config: ExperimentConfig,
    log_folder: str | Path = "runs",
    resume: bool = True,
    progress: bool | None = None,
    command: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Train one run into ``run_dir_for(log_folder, config)``; return its summary.

    A completed run is not repeated (its summary is returned). With ``resume`` (default)
    a run with a checkpoint continues from it; otherwise the folder is started afresh.

    Args:
        config: the validated config (its ``method`` and ``seed`` pick the run).
        log_folder: the root of all runs.
        resume: continue from the latest checkpoint when there is one.
        progress: show a progress bar (default: ``config.logging.progress_bar``).
        command: the command line to record (default: ``sys.argv``).
    """
    import torch as th
    from stable_baselines3.common.callbacks import CallbackList
    from stable_baselines3.common.logger import configure

    from fade_rl.experiments.callbacks import EpisodeRecorder, ProgressBar
    from fade_rl.metrics import PlasticityCallback
    from fade_rl.metrics.tensorboard import write_hparams, write_layout

    run_dir = run_dir_for(log_folder, config)
    _check_same_config(run_dir, config)
    if is_complete(run_dir):
        return json.loads((run_dir / SUMMARY).read_text())
    if not resume and run_dir.exists():
        shutil.rmtree(run_dir)  # --restart: the same config, started afresh
    checkpoint = _prepare_folder(run_dir, config, resume)
    run_dir.mkdir(parents=True, exist_ok=True)
    th.set_num_threads(config.torch_threads)

    _write_atomic(run_dir / "config.yaml", yaml.safe_dump(config.to_dict(), sort_keys=False))
    argv = list(command) if command is not None else [Path(sys.argv[0]).name, *sys.argv[1:]]
    with (run_dir / "command.txt").open("a") as fh:
        verb = "resumed at step " + str(checkpoint["step"]) if checkpoint else "started"
        fh.write(f"# {verb} {time.strftime('%Y-%m-%d %H:%M:%S')} in {os.getcwd()}\n")
        fh.write(shlex.join(argv) + "\n")
    _write_atomic(run_dir / "versions.json", json.dumps(package_versions(), indent=1))

    recorder = EpisodeRecorder(run_dir / EPISODES)
    plasticity = None
    log = config.logging
    if log.plasticity_interval > 0:
        plasticity = PlasticityCallback(
            interval=log.plasticity_interval,
            batch_size=log.plasticity_batch,
            probe_interval=log.probe_interval,
            histogram_interval=log.histogram_interval,
            memory=log.memory_probe,
            shift_reference="same_values",
            seed=config.seed,
        )
    methods = method_callbacks(config)
    wall_time = 0.0
    resumed_at: list[int] = []
    if checkpoint is None:
        env = make_env(config)
        model = build_model(config, env)
    else:
        model, env, wall_time, resumed_at = _load_checkpoint(
            run_dir, config, checkpoint, recorder, methods
        )
        saved = run_dir / "checkpoints" / checkpoint["path"] / "plasticity.pt"
        if plasticity is not None and saved.is_file():
            plasticity.load_state_dict(th.load(saved, weights_only=True))
    model.set_logger(configure(str(run_dir), ["tensorboard"]))
    if checkpoint is None:
        write_layout(model)  # TensorBoard's custom-scalars panels (return, plasticity, FADE)

    session_start = time.perf_counter()
    extra = {
        "callbacks": methods,
        "recorder": recorder,
        "plasticity": plasticity,
        "wall_time": wall_time,
        "session_start": session_start,
        "resumed_at": resumed_at,
    }
    checkpointer = _Checkpointer(
        run_dir, config.logging.checkpoint_interval, config.logging.keep_checkpoints, extra
    )
    callbacks = [*methods, recorder]
    if plasticity is not None:
        callbacks.append(plasticity)
    callbacks.append(checkpointer.callback)
    show = config.logging.progress_bar if progress is None else progress
    if show:
        desc = f"{config.name}/{config.method}/seed_{config.seed}"
        callbacks.append(ProgressBar(config.budget.n_timesteps, desc))
    total = config.budget.n_timesteps
    done = int(model.num_timesteps)
    try:
        if total > done:
            model.learn(
                total - done,
                callback=CallbackList(callbacks),
                log_interval=config.logging.log_interval,
                reset_num_timesteps=checkpoint is None,
            )
        wall_time += time.perf_counter() - session_start
        if plasticity is not None:  # TensorBoard's HPARAMS tab: the run's settings and results
            hparams = {"algo": config.algo.name, **config.method_params()}
            hparams.update(config.algo.hyperparams)
            write_hparams(
                model,
                config.method,
                config.env.id,
                config.seed,
                hparams,
                plasticity.final_metrics(),
            )
    finally:
        with contextlib.suppress(Exception):
            model.logger.close()
        env.close()

    if config.method == "fade" and hasattr(model, "fade_decay_rates"):
        rates = {k: v.detach().cpu().numpy() for k, v in model.fade_decay_rates().items()}
        np.savez_compressed(run_dir / "lambda.npz", **rates)
    model.save(run_dir / "final_model.zip")
    summary = summarize(
        run_dir, config, int(model.num_timesteps), wall_time, recorder.initial_values
    )
    summary["resumed_at"] = resumed_at
    _write_atomic(run_dir / SUMMARY, json.dumps(summary, indent=1))
    return summary


def _load_checkpoint(
    run_dir: Path,
    config: ExperimentConfig,
    checkpoint: dict[str, Any],
    recorder: Any,
    methods: Sequence[Any],
) -> tuple[Any, Any, float, list[int]]:
    """Load model, replay buffer, environment and callback state; cut later logs away.

    Returns the model, its environment, the wall time so far and the steps of every resume
    (this one included).
    """
    import warnings

    import cloudpickle

    folder = run_dir / "checkpoints" / checkpoint["path"]
    state = json.loads((folder / "state.json").read_text())
    step = int(state["step"])
    truncate_events(run_dir, step)
    truncate_episodes(run_dir / EPISODES, step)
    if state["env_saved"]:
        with (folder / "env.pkl").open("rb") as fh:
            env = cloudpickle.load(fh)
    else:
        warnings.warn(
            f"{run_dir}: the environment could not be saved; it restarts its schedules at step 0",
            stacklevel=2,
        )
        env = make_env(config)
    cls = algorithm_class(config)
    model = cls.load(folder / "model.zip", env=env, device=config.device, force_reset=False)
    if (folder / "replay_buffer.pkl").is_file():
        model.load_replay_buffer(folder / "replay_buffer.pkl")
    if int(model.num_timesteps) != step:
        raise RunError(f"{folder}: model at step {model.num_timesteps}, checkpoint says {step}")
    _restore_callback_state(methods, state["callbacks"][: len(methods)])
    rec = state["recorder"]
    recorder.n_episodes = rec["n_episodes"]
    recorder.n_shifts = rec["n_shifts"]
    recorder.initial_values = rec["initial_values"]
    return model, env, float(state["wall_time"]), [*state.get("resumed_at", []), step]


def load_run_config(run_dir: str | Path) -> ExperimentConfig:
    """The resolved config saved in a run folder."""
    path = Path(run_dir) / "config.yaml"
    return validate_config(yaml.safe_load(path.read_text()), str(path))
