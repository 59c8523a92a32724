"""A run's logs: reading ``episodes.jsonl`` and cutting logs back to a checkpoint's step.

When a killed run resumes from the checkpoint at step ``s``, everything it logged after
``s`` is cut away first (TensorBoard events and episode lines), so no step is logged twice.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

from fade_rl.experiments.runs.atomic import atomic_path, write_atomic
from fade_rl.experiments.runs.folder import EPISODES, EPISODES_GZ, EVENTS
from fade_rl.experiments.runs.validate import parse_json

__all__ = [
    "EPISODES",
    "EPISODES_GZ",
    "cut_logs",
    "read_episodes",
    "truncate_episodes",
    "truncate_events",
]

#: Tags logged at the step *before* the one that logged them (a shift's first step).
_EARLY_TAGS = frozenset({"env/segment"})
#: Tag prefixes written only once a run's training is over (its final phase): a resume
#: always writes them again, so they never survive a cut.
_FINAL_PREFIXES = ("final/", "_hparams_/")


def _dropped(event: Any, step: int) -> bool:
    tags = [v.tag for v in event.summary.value]
    if any(t.startswith(_FINAL_PREFIXES) for t in tags):
        return True
    return event.step > step or (event.step == step and any(t in _EARLY_TAGS for t in tags))


def truncate_events(run_dir: Path, step: int) -> int:
    """Rewrite the run's TensorBoard event files, keeping what was logged up to ``step``.

    That is events at ``<= step``, except for tags stamped with the step before the one
    that logged them (``env/segment``: those at ``< step``) and the final phase's tags
    (``final/*`` and the hparams summary: none). Returns the number of events dropped.
    File-level events (no summary) are kept.
    """
    from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader
    from tensorboard.compat.proto import event_pb2
    from tensorboard.summary.writer.record_writer import RecordWriter

    dropped = 0
    for path in sorted(run_dir.glob(EVENTS)):
        records = list(RawEventFileLoader(str(path)).Load())
        kept = []
        for raw in records:
            event = event_pb2.Event.FromString(raw)
            if event.HasField("summary") and _dropped(event, step):
                dropped += 1
                continue
            kept.append(raw)
        if len(kept) == len(records):
            continue
        with atomic_path(path) as tmp, tmp.open("wb") as fh:
            writer = RecordWriter(fh)
            for raw in kept:
                writer.write(raw)
            fh.flush()
    return dropped


def cut_logs(run_dir: Path, step: int) -> int:
    """Cut TensorBoard events and episode lines back to ``step``; return events dropped."""
    dropped = truncate_events(run_dir, step)
    truncate_episodes(run_dir / EPISODES, step)
    return dropped


def truncate_episodes(path: Path, step: int) -> None:
    """Keep the lines of ``episodes.jsonl`` logged at ``<= step`` (and drop a torn last line)."""
    if not path.is_file():
        return
    kept = []
    for line in path.read_text().splitlines():
        record, _ = parse_json(line)
        if not isinstance(record, dict):  # a torn last line
            continue
        if record["kind"] == "episode" and record["step"] > step:
            continue
        if record["kind"] == "shift" and record["step"] >= step:
            continue
        kept.append(line)
    write_atomic(path, "".join(line + "\n" for line in kept))


def read_episodes(run_dir: str | Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``(episodes, shifts)`` recorded in a run folder's ``episodes.jsonl``.

    A compact run folder (no ``episodes.jsonl``) is read from its ``episodes.jsonl.gz``.
    """
    path, packed = Path(run_dir) / EPISODES, Path(run_dir) / EPISODES_GZ
    episodes: list[dict[str, Any]] = []
    shifts: list[dict[str, Any]] = []
    text = ""
    if path.is_file():
        text = path.read_text()
    elif packed.is_file():
        text = gzip.decompress(packed.read_bytes()).decode()
    if text:
        for n, line in enumerate(text.splitlines(), 1):
            record, why = parse_json(line)
            if why is not None:
                raise ValueError(f"{path if path.is_file() else packed}: line {n}: {why}")
            (episodes if record["kind"] == "episode" else shifts).append(record)
    return episodes, shifts
