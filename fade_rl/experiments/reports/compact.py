"""Compact copies of run folders: what a report needs, small enough to commit.

A compact run folder keeps ``config.yaml``, ``versions.json``, ``summary.json``,
``command.txt``, ``failure.json`` (if any), ``episodes.jsonl`` gzipped as
``episodes.jsonl.gz`` (every line), ``lambda.npz`` when it is under
:data:`LAMBDA_LIMIT` bytes, and ``scalars.csv.gz``: the TensorBoard scalars as
``step,tag,value`` rows, each tag thinned to at most :data:`MAX_POINTS` evenly spaced
points (first and last always kept), values to 6 significant digits. ``episode/return``
(:data:`WHOLE_TAGS`) is kept whole: the report's return curves bin it, and thinning
it would change them (it is one row per episode, like ``episodes.jsonl``). Models,
checkpoints, replay buffers, locks and the raw events files are left out.
``compact.json`` lists the source, the files kept and skipped, the sizes before and
after, and the tags thinned. The readers fall back on the compact files
(:func:`fade_rl.experiments.reports.load.read_scalars` on ``scalars.csv.gz``,
:func:`fade_rl.experiments.runs.logs.read_episodes` on ``episodes.jsonl.gz``), so
``fade-rl report`` works on a compact tree.

Tags left out (:data:`DROPPED_TAGS`, nothing reads them): ``time/fps``,
``rollout/exploration_rate``.

Only completed or failed runs are compacted; a compact folder whose ``summary.json``
and ``failure.json`` match the source's is left alone (a rerun writes nothing).

Example (the suite's folder into the committed results)::

    >>> from fade_rl.experiments.reports.compact import compact_tree
    >>> written = compact_tree("runs/suite_standard", "benchmarks/results/suite")  # doctest: +SKIP
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from fade_rl.experiments.reports.load import Problems, find_runs, read_scalars
from fade_rl.experiments.runs.atomic import write_atomic
from fade_rl.experiments.runs.folder import (
    COMMAND,
    COMPACT_MANIFEST,
    COMPLETED,
    CONFIG,
    EPISODES,
    EPISODES_GZ,
    FAILED,
    FAILURE,
    LAMBDA,
    SCALARS_CSV,
    SUMMARY,
    VERSIONS,
)
from fade_rl.experiments.suite.levels_phases import FLOORS
from fade_rl.experiments.suite.phases import HELD_OUT, PROTOCOL, SENSITIVITY, TIMING
from fade_rl.experiments.suite.references import REFERENCES

__all__ = [
    "DROPPED_TAGS",
    "LAMBDA_LIMIT",
    "MANIFEST",
    "MAX_POINTS",
    "WHOLE_TAGS",
    "compact_run",
    "compact_tree",
    "thin_scalars",
]

MAX_POINTS = 200
LAMBDA_LIMIT = 64 * 1024
DROPPED_TAGS = frozenset({"time/fps", "rollout/exploration_rate"})
WHOLE_TAGS = frozenset({"episode/return"})
MANIFEST = COMPACT_MANIFEST
#: Files copied as they are (when present).
_COPIED = (CONFIG, VERSIONS, SUMMARY, COMMAND, FAILURE)
#: Every file a compact run folder may hold (stale ones are replaced on a rewrite).
_MANAGED = (*_COPIED, EPISODES_GZ, LAMBDA, SCALARS_CSV, MANIFEST)
#: The suite's own files, copied as they are (globs relative to the suite folder).
_SUITE_FILES: tuple[str, ...] = (PROTOCOL, TIMING, "*_results*.json", f"{REFERENCES}/*.json")
_SUITE_FILES += (f"{HELD_OUT}.json", f"{SENSITIVITY}.json")  # the runs' digests (provenance)
_SUITE_FILES += (f"{FLOORS}/*.json",)  # the many-level suite's random floors


def thin_scalars(frame: Any, max_points: int = MAX_POINTS) -> Any:
    """``frame`` (long: step, tag, value) without :data:`DROPPED_TAGS`, each tag but
    :data:`WHOLE_TAGS` thinned to at most ``max_points`` evenly spaced rows (its first and
    last always among them).

    >>> import pandas as pd
    >>> f = pd.DataFrame({"step": range(10), "tag": ["a"] * 10, "value": range(10)})
    >>> list(thin_scalars(f, 4)["step"])
    [0, 3, 6, 9]
    """
    import pandas as pd

    if max_points < 2:
        raise ValueError(f"max_points must be >= 2 (first and last), got {max_points}")
    if len(frame) == 0:
        return frame
    parts = []
    for tag, rows in frame[~frame["tag"].isin(DROPPED_TAGS)].groupby("tag", sort=True):
        rows = rows.sort_values("step", kind="stable")
        if len(rows) > max_points and tag not in WHOLE_TAGS:
            keep = np.unique(np.round(np.linspace(0, len(rows) - 1, max_points)).astype(int))
            rows = rows.iloc[keep]
        parts.append(rows)
    if not parts:
        return frame.iloc[:0]
    return pd.concat(parts).reset_index(drop=True)


def _gzip_bytes(text: str) -> bytes:
    """``text`` gzipped with no timestamp or name (same text, same bytes)."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", filename="", mtime=0) as fh:
        fh.write(text.encode())
    return buffer.getvalue()


def _scalars_csv(frame: Any) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["step", "tag", "value"])
    for step, tag, value in zip(frame["step"], frame["tag"], frame["value"], strict=True):
        writer.writerow([int(step), tag, f"{float(value):.6g}"])
    return out.getvalue()


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _up_to_date(run_dir: Path, dest: Path) -> bool:
    """The compact folder was finished from the same ``summary.json`` and ``failure.json``."""
    if not (dest / MANIFEST).is_file():
        return False
    for name in (SUMMARY, FAILURE):
        src, out = run_dir / name, dest / name
        if src.is_file() != out.is_file():
            return False
        if src.is_file() and src.read_bytes() != out.read_bytes():
            return False
    return True


def _status(run_dir: Path) -> str:
    records = [r for r in find_runs([run_dir]) if r.path == run_dir]
    if not records:
        raise ValueError(f"{run_dir}: not a run folder (needs {CONFIG} and {VERSIONS})")
    return records[0].status


def compact_run(run_dir: str | Path, dest_dir: str | Path) -> Path:
    """Write the compact copy of the completed or failed run ``run_dir`` into ``dest_dir``.

    Returns ``dest_dir``. Leaves it alone when it already holds the same ``summary.json``
    (and ``failure.json``).

    Raises:
        ValueError: ``run_dir`` is not a run folder, or is unfinished or corrupt.
    """
    run_dir, dest = Path(run_dir), Path(dest_dir)
    status = _status(run_dir)
    if status not in (COMPLETED, FAILED):
        raise ValueError(
            f"{run_dir}: the run is {status}; only completed or failed runs are compacted "
            "(finish or resume it first)"
        )
    if _up_to_date(run_dir, dest):
        return dest
    dest.mkdir(parents=True, exist_ok=True)
    (dest / MANIFEST).unlink(missing_ok=True)  # written last: its absence marks a torn copy
    kept: list[str] = []
    skipped: dict[str, str] = {}
    for name in _COPIED:
        if (run_dir / name).is_file():
            write_atomic(dest / name, (run_dir / name).read_bytes())
            kept.append(name)
    if (run_dir / EPISODES).is_file():
        write_atomic(dest / EPISODES_GZ, _gzip_bytes((run_dir / EPISODES).read_text()))
        kept.append(EPISODES_GZ)
    lam = run_dir / LAMBDA
    if lam.is_file():
        if lam.stat().st_size < LAMBDA_LIMIT:
            write_atomic(dest / lam.name, lam.read_bytes())
            kept.append(lam.name)
        else:
            skipped[lam.name] = f"{lam.stat().st_size} bytes, over the {LAMBDA_LIMIT} limit"
    problems = Problems()
    frame = read_scalars(run_dir, problems)
    thinned = thin_scalars(frame, MAX_POINTS)
    write_atomic(dest / SCALARS_CSV, _gzip_bytes(_scalars_csv(thinned)))
    kept.append(SCALARS_CSV)
    for name in _MANAGED:
        if name not in kept and name != MANIFEST:
            (dest / name).unlink(missing_ok=True)  # stale from an earlier compaction
    counts = frame["tag"].value_counts() if len(frame) else {}
    source = os.path.relpath(run_dir)
    manifest = {
        "source": source if not source.startswith("..") else str(run_dir.resolve()),
        "status": status,
        "kept": kept,
        "skipped": skipped,
        "original_bytes": _size(run_dir),
        "compact_bytes": sum((dest / name).stat().st_size for name in kept),
        "tags_dropped": sorted(t for t in DROPPED_TAGS if t in counts),
        "tags_thinned": {
            str(t): [int(n), MAX_POINTS]
            for t, n in sorted(dict(counts).items())
            if t not in DROPPED_TAGS | WHOLE_TAGS and n > MAX_POINTS
        },
        "warnings": problems.lines,
    }
    write_atomic(dest / MANIFEST, json.dumps(manifest, indent=1) + "\n")
    return dest


def compact_tree(src_root: str | Path, dest_root: str | Path) -> list[Path]:
    """Compact every completed or failed run folder under ``src_root`` into the same
    relative path under ``dest_root``, and copy the suite's own files (``protocol.json``,
    ``timing.jsonl``, ``<phase>_results*.json``, ``references/*.json``, ``held_out.json``,
    ``sensitivity.json``, the many-level suite's ``floors/*.json``) as they are.

    Returns what it wrote (new or changed): compact run folders and copied files.
    Unfinished and corrupt runs are skipped (a later call picks them up once done).

    Raises:
        FileNotFoundError: ``src_root`` does not exist.
    """
    src, dest = Path(src_root), Path(dest_root)
    if not src.is_dir():
        raise FileNotFoundError(f"{src}: no such folder (the suite folder to compact)")
    written: list[Path] = []
    for record in find_runs([src]):
        if record.status not in (COMPLETED, FAILED):
            continue
        out = dest / record.path.relative_to(src)
        if not _up_to_date(record.path, out):
            written.append(compact_run(record.path, out))
    for pattern in _SUITE_FILES:
        for path in sorted(src.glob(pattern)):
            out = dest / path.relative_to(src)
            data = path.read_bytes()
            if out.is_file() and out.read_bytes() == data:
                continue
            out.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(out, data)
            written.append(out)
    return written
