"""What a run writes about itself: ``versions.json`` and ``summary.json``."""

from __future__ import annotations

import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from fade_rl.experiments.runs.config import ExperimentConfig
from fade_rl.experiments.runs.logs import read_episodes

__all__ = ["package_versions", "summarize"]


def package_versions() -> dict[str, str]:
    """Versions of python, the platform and the packages a run depends on."""
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in ("fade-rl", "torch", "stable-baselines3", "gymnasium", "numpy"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


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
    values = [initial_values, *(s["values"] for s in shifts)]
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
        "segments": [{**s.as_dict(), "values": v} for s, v in zip(segments, values, strict=True)],
    }
