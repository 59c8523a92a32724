"""Reference returns of a setting's tasks: the floor (random policy) and the ceiling (oracle).

For each task of a suite setting (:class:`~fade_rl.experiments.suite.manifest.TaskSpec`):

* the **floor** is a uniformly random policy's time-averaged return over the task's
  ``steps`` (the same measure as a segment's ``mean_return``), on the environment frozen
  at that task (``env_kwargs`` merged into the setting's), mean over the reference seeds;
* the **ceiling** is a fresh agent of the setting's algorithm and hyperparameters, method
  ``none``, trained on that frozen task alone for ``steps`` steps: its time-averaged return
  over that training, mean over the reference seeds. Those runs are ordinary run folders
  under ``<suite dir>/references/<setting>__task<i>/none/seed_<s>``, so they resume.

The result is ``<suite dir>/references/<setting>.json``, which records the config it
belongs to (the setting's environment and budget, and their digest): a report refuses
references whose digest differs from its runs'. It carries the digests of its ceiling runs
and of its own content (:mod:`~fade_rl.experiments.suite.provenance`); :func:`load_references`
verifies them.
"""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fade_rl.experiments.runs.atomic import write_atomic
from fade_rl.experiments.runs.config import ExperimentConfig, validate_config
from fade_rl.experiments.runs.folder import SUMMARY, run_name
from fade_rl.experiments.runs.validate import read_json, summary_problem
from fade_rl.experiments.suite.provenance import env_digest, read_references, stamp
from fade_rl.experiments.sweeps import Job
from fade_rl.methods import PLAIN

__all__ = [
    "REFERENCES",
    "ceiling_jobs",
    "ceiling_run_dir",
    "load_references",
    "random_floor",
    "random_level_returns",
    "random_rollout",
    "task_config",
    "task_name",
    "write_references",
]

#: The folder (under a suite folder) that holds references and their runs.
REFERENCES = "references"


def _merge(base: dict[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def task_name(setting: str, index: int) -> str:
    """The setting name of task ``index``'s ceiling runs (``<setting>__task<i>``)."""
    return f"{setting}__task{index}"


def ceiling_run_dir(folder: Path, setting: str, index: int, seed: int) -> Path:
    """Where one ceiling run of task ``index`` lives under a suite folder."""
    return folder / REFERENCES / task_name(setting, index) / PLAIN / run_name(seed)


def task_config(
    setting: ExperimentConfig, index: int, env_kwargs: Mapping[str, Any], steps: int, seed: int
) -> ExperimentConfig:
    """The config of a ceiling run: the task frozen, ``steps`` steps, method ``none``."""
    data = setting.to_dict()
    data["env"]["kwargs"] = _merge(data["env"]["kwargs"], env_kwargs)
    data.update(name=task_name(setting.name, index), method=PLAIN, seed=seed)
    data["budget"]["n_timesteps"] = steps
    logging = data["logging"]
    logging["checkpoint_interval"] = min(logging["checkpoint_interval"], steps)
    return validate_config(data, f"reference task {index} of {setting.name}")


def ceiling_jobs(
    setting: ExperimentConfig,
    tasks: Sequence[Any],
    seeds: Sequence[int],
    folder: str | Path,
    command: Sequence[str] = (),
) -> list[Job]:
    """One ceiling run per task and reference seed, under ``folder``."""
    log_folder = str(Path(folder) / REFERENCES)
    return [
        Job(task_config(setting, i, t.env_kwargs, t.steps, s).to_dict(), log_folder, tuple(command))
        for i, t in enumerate(tasks)
        for s in seeds
    ]


def random_rollout(config: ExperimentConfig, steps: int, seed: int) -> tuple[list[Any], list[int]]:
    """The episodes a uniformly random policy ends in ``steps`` steps of ``config``'s env,
    and where the env shifted, counted as a run's ``episodes.jsonl`` counts them.

    An episode's ``end_step`` (a :class:`~fade_rl.metrics.shifts.Episode`) is the step count
    after its last step; a shift's is the count before the first step under new values
    (``info["shift"]``). The env's clock (and so its schedule or levels) runs on across
    episodes, as in a run.

    Example:
        >>> from fade_rl.experiments.runs.config import validate_config
        >>> config = validate_config({"env": {"id": "fade_rl/CartPole-ObsOffsets-v0",
        ...     "kwargs": {"level_steps": 100}}, "algo": {"name": "dqn"}}, "example")
        >>> episodes, shifts = random_rollout(config, 300, seed=0)
        >>> shifts, 0 < episodes[0].end_step == episodes[0].length
        ([100, 200], True)
    """
    import gymnasium as gym

    import fade_rl.envs  # noqa: F401  (registers the ids)
    from fade_rl.envs.core import SHIFT
    from fade_rl.metrics.shifts import Episode

    env = gym.make(config.env.id, **config.env.kwargs)
    env.action_space.seed(seed)
    env.reset(seed=seed)
    episodes, shifts, ret, length = [], [], 0.0, 0
    for step in range(1, steps + 1):
        _, reward, terminated, truncated, info = env.step(env.action_space.sample())
        ret, length = ret + float(reward), length + 1
        if info.get(SHIFT):
            shifts.append(step - 1)
        if terminated or truncated:
            episodes.append(Episode(end_step=step, ret=ret, length=length))
            ret, length = 0.0, 0
            env.reset()
    env.close()
    return episodes, shifts


def random_level_returns(config: ExperimentConfig, seed: int) -> list[float | None]:
    """A uniformly random policy's time-averaged return on each level (segment) of a run of
    ``config``'s env and budget: the many-level score's floor (``None``: no episode ended).

    Example:
        >>> from fade_rl.experiments.runs.config import validate_config
        >>> config = validate_config({"env": {"id": "fade_rl/CartPole-ObsOffsets-v0",
        ...     "kwargs": {"level_steps": 500}}, "algo": {"name": "dqn"},
        ...     "budget": {"n_timesteps": 1000}}, "example")
        >>> [10 < r < 40 for r in random_level_returns(config, seed=0)]  # about 22 each
        [True, True]
    """
    from fade_rl.metrics.shifts import return_area

    steps = config.budget.n_timesteps
    episodes, shifts = random_rollout(config, steps, seed)
    bounds = [0, *shifts, steps]
    areas = [return_area(episodes, a, b) for a, b in itertools.pairwise(bounds)]
    return [None if a is None else a[1] for a in areas]


def random_floor(config: ExperimentConfig, steps: int, seed: int) -> float:
    """A uniformly random policy's time-averaged return over ``steps`` steps of ``config``'s env."""
    from fade_rl.metrics.shifts import return_area

    area = return_area(random_rollout(config, steps, seed)[0], 0, steps + 1)
    if area is None:
        raise ValueError(
            f"{config.name}: no random episode ended in {steps} steps; give the task more steps"
        )
    return area[1]


def _ceiling_return(run_dir: Path) -> float:
    summary, problem = read_json(run_dir / SUMMARY)
    problem = problem or summary_problem(summary)
    if problem is not None:
        raise ValueError(f"{run_dir / SUMMARY}: {problem}; rerun it with --restart")
    segments = summary["segments"]
    if len(segments) != 1:
        raise ValueError(
            f"{run_dir}: the reference run shifted {len(segments) - 1} time(s); the task's "
            "env_kwargs must freeze every schedule"
        )
    value = segments[0]["mean_return"]
    if value is None:
        raise ValueError(f"{run_dir}: no episode ended in the reference run; give it more steps")
    return float(value)


def write_references(
    setting: ExperimentConfig,
    task_keys: Sequence[str],
    tasks: Sequence[Any],
    seeds: Sequence[int],
    folder: str | Path,
    command: Sequence[str] = (),
) -> Path:
    """Compute the floors, read the finished ceiling runs, write ``<setting>.json``."""
    jobs = ceiling_jobs(setting, tasks, seeds, folder)
    out_tasks = []
    for i, task in enumerate(tasks):
        runs = [j for j in jobs if j.config["name"] == task_name(setting.name, i)]
        ceilings = [_ceiling_return(j.run_dir) for j in runs]
        frozen = task_config(setting, i, task.env_kwargs, task.steps, seeds[0])
        floors = [random_floor(frozen, task.steps, s) for s in seeds]
        out_tasks.append(
            {
                "values": task.values,
                "steps": task.steps,
                "env_kwargs": task.env_kwargs,
                "floor": float(np.mean(floors)),
                "ceiling": float(np.mean(ceilings)),
                "floor_returns": floors,
                "ceiling_returns": ceilings,
                "seeds": list(seeds),
            }
        )
    data = {
        "setting": setting.name,
        "digest": env_digest(setting),
        "env": setting.env.model_dump(mode="json"),
        "budget": setting.budget.model_dump(mode="json"),
        "algo": setting.algo.model_dump(mode="json"),
        "task_keys": list(task_keys),
        "tasks": out_tasks,
        "command": " ".join(command),
    }
    data = stamp(data, Path(folder), [j.run_dir for j in jobs])
    path = Path(folder) / REFERENCES / f"{setting.name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(data, indent=1))
    return path


def load_references(folder: str | Path) -> dict[str, dict[str, Any]]:
    """Every ``references/<setting>.json`` under ``folder``, verified, by setting name.

    Raises:
        ReportInputError: a truncated, edited, stray or duplicate file, or one whose
            ceiling runs changed (see :func:`~.provenance.read_references`).
    """
    return read_references(folder)
