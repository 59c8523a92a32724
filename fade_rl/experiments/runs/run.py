"""One run: a (setting, method, seed) trained into its own, resumable run folder.

Layout of ``<log_folder>/<setting>/<method>/seed_<seed>/``:

``config.yaml``      the resolved config (``fade-rl train --config`` on it repeats the run)
``command.txt``      the command line(s) that made or resumed it, with the working directory
``versions.json``    python, platform and package versions, the device used (and GPU name)
``run.lock``         the lock a training process holds (its pid inside)
``resumes.jsonl``    one line per resume, written as the resume starts
``events.out.tfevents.*``  TensorBoard (SB3's keys, ``episode/return``, ``env/segment``,
                     ``plasticity/*``, ``fade/*``)
``episodes.jsonl``   every finished episode and every shift
``checkpoints/``     ``step_<n>/`` with the model (FADE state included), replay buffer,
                     environment, callback and random generators' state;
                     ``checkpoint.json`` names the latest
``lambda.npz``       FADE's final decay rates per head (method ``fade``)
``summary.json``     written last: final and per-segment returns, steps per second, device;
                     or status ``failed`` with the reason and step when training went NaN

A run killed mid-way and started again with the same config continues from the newest
intact checkpoint: everything logged after it is cut away first, so no step is logged twice,
and it ends as the run would have ended had it never been stopped.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shlex
import sys
import tempfile
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from fade_rl.experiments.runs.atomic import (
    append_synced,
    atomic_path,
    remove_temporaries,
    write_atomic,
)
from fade_rl.experiments.runs.build import (
    build_model,
    check_buildable,
    device_info,
    make_env,
    method_callbacks,
)
from fade_rl.experiments.runs.checkpoint import Checkpointer, load_checkpoint
from fade_rl.experiments.runs.config import (
    ConfigError,
    ExperimentConfig,
    read_yaml,
    validate_config,
)
from fade_rl.experiments.runs.folder import (
    CHECKPOINTS,
    COMMAND,
    CONFIG,
    EPISODES,
    FINAL_MODEL,
    LAMBDA,
    SUMMARY,
    VERSIONS,
    RunError,
    RunFolder,
    is_complete,
    run_dir_for,
)
from fade_rl.experiments.runs.guard import NonFiniteError, NonFiniteGuard
from fade_rl.experiments.runs.logs import cut_logs, read_episodes
from fade_rl.experiments.runs.summary import package_versions, summarize
from fade_rl.methods import REGISTRY
from fade_rl.optim import NonFiniteCurvatureError

__all__ = [
    "RunError",
    "check_log_folder",
    "is_complete",
    "load_run_config",
    "package_versions",
    "read_episodes",
    "run_dir_for",
    "train_run",
]


def check_log_folder(log_folder: str | Path) -> None:
    """Raise a one-line :class:`ConfigError` unless runs can be written under ``log_folder``.

    Creates nothing: the nearest existing folder on the path is probed with an anonymous
    temporary file.
    """
    path = Path(log_folder)
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    where = f"-f/--log-folder {log_folder}"
    if not existing.is_dir():
        raise ConfigError(f"{where}: {existing} is a file, not a folder; pick a folder")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        raise ConfigError(
            f"{where}: {existing} is not writable ({exc.strerror}); pick a writable folder"
        ) from None


def _plasticity(config: ExperimentConfig) -> Any:
    from fade_rl.metrics import PlasticityCallback

    log = config.logging
    if log.plasticity_interval <= 0:
        return None
    return PlasticityCallback(
        interval=log.plasticity_interval,
        batch_size=log.plasticity_batch,
        probe_interval=log.probe_interval,
        histogram_interval=log.histogram_interval,
        memory=log.memory_probe,
        shift_reference="same_values",
        seed=config.seed,
        log_returns=False,  # EpisodeRecorder writes each return once, as episode/return
    )


def _guard_interval(config: ExperimentConfig) -> int:
    """Steps between the guard's checks: it checks at every checkpoint and every plasticity
    measurement step, and runs before them, so a NaN is named by the guard and never surfaces
    as a failing SVD or an empty histogram inside a measurement."""
    log = config.logging
    intervals = [log.checkpoint_interval]
    if log.plasticity_interval > 0:
        measured = (log.plasticity_interval, log.probe_interval, log.histogram_interval)
        intervals += [interval for interval in measured if interval]
    return math.gcd(*intervals)


def train_run(
    config: ExperimentConfig,
    log_folder: str | Path = "runs",
    resume: bool = True,
    progress: bool | None = None,
    command: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Train one run into ``run_dir_for(log_folder, config)``; return its summary.

    The config is checked first by building its environment and model once
    (:func:`~fade_rl.experiments.runs.build.check_buildable`); nothing is written before that.
    Then the run folder is locked for the whole training. A completed run is not repeated
    (its summary is returned). With ``resume`` (default) a run continues from its newest
    intact checkpoint; ``resume=False`` (``--restart``) discards the folder's content and
    starts afresh. Training that goes non-finite (reward, loss, parameter or optimizer
    state) stops: ``summary.json`` gets status ``failed`` and :class:`RunError` is raised,
    the last good checkpoint kept.

    Raises:
        ConfigError: the config cannot be built, or ``log_folder`` is not writable.
        RunError: the folder is in use, holds another config or only unusable checkpoints,
            or training went non-finite.
        DamagedRunError: its ``summary.json`` is unreadable or invalid (pass ``--restart``).
    """
    check_log_folder(log_folder)
    check_buildable(config)
    with RunFolder(run_dir_for(log_folder, config)) as run:
        if resume:
            if run.status(config) == "complete":  # a damaged summary: DamagedRunError
                return run.outcome().summary
        else:
            run.clear()
        return _train_locked(run, config, progress, command)


def _train_locked(
    run: RunFolder,
    config: ExperimentConfig,
    progress: bool | None,
    command: Sequence[str] | None,
) -> dict[str, Any]:
    import torch as th
    from stable_baselines3.common.callbacks import CallbackList
    from stable_baselines3.common.logger import configure

    from fade_rl.experiments.runs.callbacks import EpisodeRecorder, ProgressBar
    from fade_rl.metrics.tensorboard import write_hparams, write_layout

    run_dir = run.path
    th.set_num_threads(config.torch_threads)
    recorder = EpisodeRecorder(run_dir / EPISODES)
    plasticity = _plasticity(config)
    methods = method_callbacks(config)
    guard = NonFiniteGuard(check_every=_guard_interval(config))
    remove_temporaries(run_dir, run_dir / CHECKPOINTS)  # what a kill left (old versions stand)
    existing = run.config_path.is_file()
    loaded = load_checkpoint(run, config, recorder, methods, plasticity) if existing else None
    if existing and loaded is None:
        warnings.warn(f"{run_dir}: no checkpoint yet; starting over from step 0", stacklevel=2)
        cut_logs(run_dir, 0)
    if existing:
        run.record_resume(loaded.step if loaded else 0)

    write_atomic(run.config_path, yaml.safe_dump(config.to_dict(), sort_keys=False))
    argv = list(command) if command is not None else [Path(sys.argv[0]).name, *sys.argv[1:]]
    verb = f"resumed at step {loaded.step if loaded else 0}" if existing else "started"
    stamp = f"# {verb} {time.strftime('%Y-%m-%d %H:%M:%S')} in {os.getcwd()}\n"
    append_synced(run_dir / COMMAND, stamp + shlex.join(argv) + "\n")

    if loaded is None:
        env = make_env(config)
        model = build_model(config, env)
        wall_time = 0.0
    else:
        model, env, wall_time = loaded.model, loaded.env, loaded.wall_time
    device = device_info(model)
    write_atomic(run_dir / VERSIONS, json.dumps({**package_versions(), **device}, indent=1))
    model.set_logger(configure(str(run_dir), ["tensorboard"]))
    if not existing:
        write_layout(model)  # TensorBoard's custom-scalars panels (return, plasticity, FADE)

    session_start = time.perf_counter()
    extra = {
        "callbacks": methods,
        "counters": REGISTRY[config.method].counters,
        "recorder": recorder,
        "plasticity": plasticity,
        "wall_time": wall_time,
        "session_start": session_start,
        "guard": guard,
    }
    log = config.logging
    checkpointer = Checkpointer(run, log.checkpoint_interval, log.keep_checkpoints, extra)
    checkpointer.saved_step = loaded.step if loaded else 0
    callbacks = [guard, *methods, recorder]
    if plasticity is not None:
        callbacks.append(plasticity)
    callbacks.append(checkpointer.callback)
    if log.progress_bar if progress is None else progress:
        desc = f"{config.name}/{config.method}/{run_dir.name}"
        callbacks.append(ProgressBar(config.budget.n_timesteps, desc))
    total = config.budget.n_timesteps
    done = int(model.num_timesteps)
    try:
        if total > done:
            model.learn(
                total - done,
                callback=CallbackList(callbacks),
                log_interval=log.log_interval,
                reset_num_timesteps=loaded is None,
            )
        guard.check_model(model)
        wall_time += time.perf_counter() - session_start
        if int(model.num_timesteps) > checkpointer.saved_step:
            checkpointer.save(model)  # the final phase below starts from a checkpoint
        metrics = plasticity.final_metrics() if plasticity is not None else {}
        if metrics:  # TensorBoard's HPARAMS tab: the run's settings and results (if any)
            hparams = {"algo": config.algo.name, **config.method_params()}
            hparams.update(config.algo.critic.model_dump())
            hparams.update(config.algo.hyperparams)
            write_hparams(model, config.method, config.env.id, config.seed, hparams, metrics)
    except (NonFiniteError, NonFiniteCurvatureError) as exc:
        # FADE raises a non-finite curvature at its next host read (a checkpoint, a log)
        kept = checkpointer.saved_step or None
        failed = {
            "status": "failed",
            "reason": str(exc),
            "step": getattr(exc, "step", int(model.num_timesteps)),
            "last_checkpoint": kept,
            **device,
        }
        write_atomic(run_dir / SUMMARY, json.dumps(failed, indent=1))
        raise RunError(
            f"{run_dir}: training stopped: {exc}; the last good checkpoint (step {kept}) is kept"
        ) from None
    finally:
        with contextlib.suppress(Exception):
            recorder.flush()
        with contextlib.suppress(Exception):
            model.logger.close()
        env.close()

    if REGISTRY[config.method].fade and hasattr(model, "fade_decay_rates"):
        rates = {k: v.detach().cpu().numpy() for k, v in model.fade_decay_rates().items()}
        with atomic_path(run_dir / LAMBDA) as tmp, tmp.open("wb") as fh:
            np.savez_compressed(fh, **rates)
    with atomic_path(run_dir / FINAL_MODEL) as tmp:
        model.save(tmp)
    summary = summarize(
        run_dir, config, int(model.num_timesteps), wall_time, recorder.initial_values
    )
    summary["resumed_at"] = run.resumes()
    summary.update(device)
    write_atomic(run_dir / SUMMARY, json.dumps(summary, indent=1))
    return summary


def load_run_config(run_dir: str | Path) -> ExperimentConfig:
    """The resolved config saved in a run folder."""
    path = Path(run_dir) / CONFIG
    return validate_config(read_yaml(path), str(path))
