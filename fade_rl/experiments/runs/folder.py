"""The one owner of a run folder: its file names, lock, config identity, status and resumes.

Every piece of code that reads or writes a run folder (``train``, ``compare``, ``sweep``,
:func:`~fade_rl.experiments.sweeps.backends.run_jobs`,
:func:`~fade_rl.experiments.sweeps.jobs.execute_job`, the reports) asks a :class:`RunFolder`. It

* names the folder: ``<log_folder>/<setting>/<method>/seed_<seed>`` (:func:`run_dir_for`);
* holds an exclusive lock (``fcntl.flock`` on ``run.lock``) for the whole training, so a
  second process on the same folder stops with "run folder X is in use by pid N";
* compares the saved ``config.yaml`` with the run's config *before* it looks at
  completion: a changed config is refused, never reported as complete;
* knows whether the run is complete (:meth:`RunFolder.status`, what a new start does) and
  how it ended (:meth:`RunFolder.outcome`: completed, failed, unfinished or corrupt, what a
  report and the suite's selection read), and records every resume as it starts
  (``resumes.jsonl``);
* names every file a run folder holds (the constants below: no other module spells them);
* deletes nothing unless told to (:meth:`RunFolder.clear`, the ``--restart`` flag).

Checkpoints and their fallback live in :mod:`fade_rl.experiments.runs.checkpoint`, the
logs in :mod:`fade_rl.experiments.runs.logs`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from fade_rl.experiments.runs.atomic import append_synced
from fade_rl.experiments.runs.checks import ConfigError
from fade_rl.experiments.runs.strict_yaml import YamlError, load_yaml
from fade_rl.experiments.runs.validate import parse_json, read_json, summary_problem

if TYPE_CHECKING:
    from fade_rl.experiments.runs.config import ExperimentConfig

__all__ = [
    "COMPLETED",
    "CORRUPT",
    "FAILED",
    "INVALID",
    "UNFINISHED",
    "DamagedRunError",
    "FolderBusyError",
    "Outcome",
    "RunError",
    "RunFolder",
    "is_complete",
    "run_dir_for",
    "run_name",
]

# ------------------------------------------------------------- every file of a run folder
CONFIG = "config.yaml"  # the run's config (its identity)
VERSIONS = "versions.json"  # package versions and the device
COMMAND = "command.txt"  # every command line that made or resumed the run
SUMMARY = "summary.json"  # the run's outcome (written last)
FAILURE = "failure.json"  # a sweep's record of a run that failed to start or died
LOCK = "run.lock"
RESUMES = "resumes.jsonl"
EPISODES = "episodes.jsonl"  # one line per episode or shift
EVENTS = "events.out.tfevents.*"  # TensorBoard (a glob)
LAMBDA = "lambda.npz"  # FADE's final decay rates
FINAL_MODEL = "final_model.zip"
CHECKPOINT = "checkpoint.json"  # names the newest checkpoint folder
CHECKPOINTS = "checkpoints"  # checkpoints/step_<n>/, each holding:
MODEL = "model.zip"
REPLAY_BUFFER = "replay_buffer.pkl"
ENV_STATE = "env.pkl"
PLASTICITY_STATE = "plasticity.pt"
CALLBACK_TENSORS = "callback_{}.pt"  # a method callback's tensors, by its index
CHECKPOINT_STATE = "state.json"  # every file's SHA-256
CHECKPOINT_SIGNATURE = CHECKPOINT_STATE + ".hmac"  # its HMAC under the run key
# a compact run folder (fade_rl.experiments.reports.compact) keeps CONFIG, VERSIONS,
# SUMMARY, COMMAND, FAILURE and LAMBDA, plus:
EPISODES_GZ = EPISODES + ".gz"
SCALARS_CSV = "scalars.csv.gz"
COMPACT_MANIFEST = "compact.json"

# ----------------------------------------------------------------- how a run ended
COMPLETED, FAILED, UNFINISHED, CORRUPT = "completed", "failed", "unfinished", "corrupt"
INVALID = "invalid"

#: Files that say nothing about a run's content (a lock; a sweep's record of a failed start).
_BOOKKEEPING = frozenset({LOCK, FAILURE})
#: Keys of a config that do not change what a run computes (a run may resume elsewhere).
_NOT_IDENTITY = ("device",)


class RunError(RuntimeError):
    """A run cannot start or continue (its folder is in use, holds another config, ...).

    Example (a folder that holds files but no ``config.yaml`` is not taken over):
        >>> import tempfile
        >>> from pathlib import Path
        >>> from fade_rl.experiments.runs.config import validate_config
        >>> path = Path(tempfile.mkdtemp())
        >>> _ = (path / "notes.txt").write_text("mine")
        >>> RunFolder(path).status(validate_config({"env": {"id": "CartPole-v1"}}, "example"))
        Traceback (most recent call last):
        ...
        fade_rl.experiments.runs.folder.RunError: ...holds files but no config.yaml; pick ...
    """


class DamagedRunError(RunError, ConfigError):
    """The folder's ``summary.json`` is unreadable or its values fail validation.

    A bad input (exit 2 from the CLI, nothing written), and a :class:`RunError` for the
    callers that catch those: the message names the file, the problem and ``--restart``.

    Example:
        >>> import tempfile
        >>> import yaml
        >>> from fade_rl.experiments.runs.config import validate_config
        >>> config = validate_config({"env": {"id": "CartPole-v1"}}, "example")
        >>> path = Path(tempfile.mkdtemp())
        >>> _ = (path / CONFIG).write_text(yaml.safe_dump(config.to_dict()))
        >>> _ = (path / SUMMARY).write_text('{"status": "completed"}')
        >>> RunFolder(path).is_complete()
        False
        >>> RunFolder(path).status(config)
        Traceback (most recent call last):
        ...
        fade_rl.experiments.runs.folder.DamagedRunError: ...final_return is missing; rerun ...
    """


class FolderBusyError(RunError):
    """The run folder is locked by another process (which owns everything in it).

    Example (a second lock on a held folder, as a second ``train`` on it would take):
        >>> import tempfile
        >>> path = tempfile.mkdtemp()
        >>> with RunFolder(path):
        ...     RunFolder(path).lock()
        Traceback (most recent call last):
        ...
        fade_rl.experiments.runs.folder.FolderBusyError: run folder ... is in use by pid ...
        >>> issubclass(FolderBusyError, RunError)
        True
    """


def run_name(seed: int) -> str:
    """The name of a seed's run folder: ``seed_<seed>`` (made by metrics' ``seed_folder``)."""
    from fade_rl.metrics.tensorboard import seed_folder

    return seed_folder(seed)


def run_dir_for(log_folder: str | Path, config: ExperimentConfig | dict[str, Any]) -> Path:
    """``<log_folder>/<setting>/<method>/seed_<seed>``: the run's folder and TensorBoard run."""
    c = config if isinstance(config, dict) else config.to_dict()
    return Path(log_folder) / c["name"] / c["method"] / run_name(int(c["seed"]))


def _identity(data: Any) -> Any:
    if not isinstance(data, dict):
        return data
    return {k: v for k, v in data.items() if k not in _NOT_IDENTITY}


class RunFolder:
    """One run folder and everything a run may do to it.

    Use it as a context manager to hold its lock::

        >>> import tempfile
        >>> from fade_rl.experiments.runs.folder import RunFolder
        >>> root = tempfile.mkdtemp()
        >>> with RunFolder(root + "/demo/none/seed_0") as folder:
        ...     folder.is_complete()
        False
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock_fd: int | None = None

    # ------------------------------------------------------------------------ lock
    def lock(self) -> None:
        """Take the folder's exclusive lock (creating the folder), or raise :class:`RunError`."""
        import fcntl

        if self._lock_fd is not None:
            return
        self.path.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise FolderBusyError(
                f"run folder {self.path} is in use by pid {holder}; wait for that run to end "
                "or stop it"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd

    def unlock(self) -> None:
        """Release the lock (the lock file stays; it holds nothing of the run)."""
        import fcntl

        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> RunFolder:
        self.lock()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.unlock()

    # ------------------------------------------------------------------- identity
    @property
    def config_path(self) -> Path:
        """The folder's ``config.yaml``."""
        return self.path / CONFIG

    def has_content(self) -> bool:
        """Whether the folder holds anything besides its lock and a failed start's record."""
        return self.path.is_dir() and any(p.name not in _BOOKKEEPING for p in self.path.iterdir())

    def check_config(self, config: ExperimentConfig) -> None:
        """Refuse a folder that holds a run of another config (or files but no config).

        The device is not part of a run's identity: a run may resume on another device.
        """
        if not self.has_content():
            return
        hint = "pick another -f/--log-folder or --name, or pass --restart to discard it"
        if not self.config_path.is_file():
            raise RunError(f"{self.path} holds files but no config.yaml; {hint}")
        try:
            saved = load_yaml(self.config_path.read_text(), str(self.config_path))
        except (OSError, UnicodeDecodeError, YamlError) as exc:
            why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise RunError(f"{self.config_path} is unreadable ({why}); {hint}") from None
        if _identity(saved) != _identity(config.to_dict()):
            raise RunError(
                f"{self.path} holds a run of a different config ({self.config_path}); {hint}"
            )

    # ----------------------------------------------------------------- completion
    def summary(self) -> dict[str, Any] | None:
        """The folder's ``summary.json``, or ``None`` when absent or unreadable."""
        path = self.path / SUMMARY
        if not path.is_file():
            return None
        data, _ = read_json(path)
        return data if isinstance(data, dict) else None

    def is_complete(self) -> bool:
        """Whether the folder holds a finished run (its :meth:`outcome` is completed: a
        summary with status ``completed`` whose values pass the report's validation)."""
        return self.outcome().status == COMPLETED

    def status(self, config: ExperimentConfig) -> str:
        """``"complete"``, ``"resume"`` or ``"new"`` for ``config``.

        Raises :class:`RunError` on another config, and :class:`DamagedRunError` on a
        ``summary.json`` that is unreadable or fails validation (a new start would skip it
        as complete or train over it: ``--restart`` is the explicit way out).
        """
        self.check_config(config)
        outcome = self.outcome()
        if outcome.status in (CORRUPT, INVALID):
            raise DamagedRunError(str(outcome.error))
        if outcome.status == COMPLETED:
            return "complete"
        return "resume" if self.config_path.is_file() else "new"

    # ------------------------------------------------------------------ deletion
    def clear(self) -> None:
        """Delete everything in the folder but its lock (only on an explicit ``--restart``)."""
        if not self.path.is_dir():
            return
        for entry in self.path.iterdir():
            if entry.name == LOCK:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()

    # ------------------------------------------------------------------- resumes
    def record_resume(self, step: int) -> None:
        """Note, as it starts, that the run resumes from ``step``."""
        line = json.dumps({"step": int(step), "time": time.strftime("%Y-%m-%d %H:%M:%S")})
        append_synced(self.path / RESUMES, line + "\n")

    def resumes(self) -> list[int]:
        """The step of every resume so far, in order (torn lines are skipped)."""
        path = self.path / RESUMES
        steps = []
        if path.is_file():
            for line in path.read_text().splitlines():
                with contextlib.suppress(ValueError, KeyError, TypeError):
                    steps.append(int(parse_json(line)[0]["step"]))
        return steps

    # ------------------------------------------------------------------- outcome
    def outcome(self, warn: Callable[[str], None] | None = None) -> Outcome:
        """How the run ended: :data:`COMPLETED`, :data:`FAILED`, :data:`UNFINISHED`,
        :data:`CORRUPT` (an unreadable ``summary.json``) or :data:`INVALID` (a summary whose
        values fail :func:`~fade_rl.experiments.runs.validate.summary_problem`: a report
        lists it with the problem and keeps it out of every statistic), with its summary
        and error.

        ``warn`` is told about each unreadable file (naming it).

        >>> import tempfile
        >>> RunFolder(tempfile.mkdtemp()).outcome().status
        'unfinished'
        """
        summary_path, failure = self.path / SUMMARY, self.path / FAILURE
        fix = "rerun the run (--restart) or remove it"
        if summary_path.is_file():
            summary = _read_json(summary_path, warn)
            if summary is None:
                why = read_json(summary_path)[1] or "not a JSON object"
                return Outcome(CORRUPT, {}, f"{summary_path} is unreadable ({why}); {fix}")
            problem = summary_problem(summary)
            if problem is not None:
                error = f"{summary_path}: {problem}; {fix}"
                if warn is not None:
                    warn(f"{error}; the run is kept out of the statistics")
                return Outcome(INVALID, {}, error)
            if summary.get("status") == COMPLETED:
                return Outcome(COMPLETED, summary)
            if summary.get("status") == FAILED:
                return Outcome(FAILED, summary, summary.get("reason"))
        else:
            summary = {}
        if failure.is_file():
            data = _read_json(failure, warn) or {}
            return Outcome(FAILED, summary, data.get("error", f"{failure} is unreadable"))
        return Outcome(UNFINISHED, summary)


@dataclass
class Outcome:
    """How a run ended (:meth:`RunFolder.outcome`): its status, summary and error.

    >>> Outcome(FAILED, error="non-finite reward at step 300").status
    'failed'
    """

    status: str
    summary: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def _read_json(path: Path, warn: Callable[[str], None] | None) -> dict[str, Any] | None:
    """The JSON object in ``path``; ``None`` (and a warning naming it) when unreadable."""
    data, why = read_json(path)
    if why is None and isinstance(data, dict):
        return data
    if warn is not None:
        warn(f"{path}: {why or 'not a JSON object'}; the run is listed as corrupt")
    return None


def is_complete(run_dir: str | Path) -> bool:
    """Whether ``run_dir`` holds a finished run (see :meth:`RunFolder.is_complete`)."""
    return RunFolder(run_dir).is_complete()
