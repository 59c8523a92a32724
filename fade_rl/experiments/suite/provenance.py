"""Suite data that proves where it came from: digests on references, floors and the protocol.

``references/<setting>.json`` and ``protocol.json`` are computed from runs (the ceiling
runs; the tuning runs). Each carries a ``provenance`` block written with it
(:func:`stamp`):

* ``runs``: for every run it was computed from, the SHA-256 of that run's ``config.yaml``
  and ``summary.json`` (or ``failure.json``), by folder relative to the suite folder;
* ``content``: the SHA-256 of the file's own data (all but ``content``, canonical JSON).

A reader (:func:`read_references`, :func:`read_protocol`) refuses, in one line naming the
file and the fix, a file that is truncated or not JSON, has no or a wrong digest (an edited
ceiling, an edited chosen value), was computed from runs that are gone or changed since, or
lies beside it unasked (a stray or duplicate ``references/*.json``). The suite's config is
tied in too: a references file must hold the environment and budget its ``digest`` names,
and :func:`check_held_out` refuses a held-out run whose config did not run the value
``protocol.json`` chose (or whose method it chose none for).

The held-out and sensitivity runs are read by the report directly: when their phase
finishes, ``<suite folder>/held_out.json`` and ``sensitivity.json`` stamp every run folder
of the phase (:func:`write_phase_stamp`), and :func:`read_phase` refuses an edited, missing
or extra run, or a damaged stamp. Files written before digests existed are stamped once, after
checking them against their runs, by :mod:`fade_rl.experiments.suite.restamp`.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> folder = Path(tempfile.mkdtemp())
    >>> data = stamp({"setting": "demo", "tasks": []}, folder, [])
    >>> sorted(data["provenance"]), verify(folder / "x.json", data, folder, "fix it")
    (['content', 'runs'], None)
    >>> data["tasks"] = [{"ceiling": 1e9}]
    >>> try:
    ...     verify(folder / "x.json", data, folder, "fix it")
    ... except ReportInputError as exc:
    ...     print(str(exc).split(": ", 1)[1])
    its content does not match its digest (edited since it was written); fix it
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from fade_rl.experiments.runs.atomic import write_atomic
from fade_rl.experiments.runs.folder import CONFIG, FAILURE, SUMMARY
from fade_rl.experiments.runs.validate import ReportInputError, read_json

__all__ = [
    "PROTOCOL",
    "PROVENANCE",
    "TIMING",
    "check_held_out",
    "content_digest",
    "env_digest",
    "phase_run_dirs",
    "read_floors",
    "read_phase",
    "read_protocol",
    "read_references",
    "run_digests",
    "stamp",
    "stamp_finished_phase",
    "verify",
    "write_phase_stamp",
]

PROVENANCE = "provenance"
#: A suite folder's files (here, not in phases, which imports this module).
PROTOCOL = "protocol.json"  # the tuning phase's chosen values
TIMING = "timing.jsonl"  # each phase's wall-clock time
#: The files of a run that a stamp ties to (those present).
RUN_FILES = (CONFIG, SUMMARY, FAILURE)
#: The phases whose runs a report reads directly: each stamps ``<suite folder>/<phase>.json``.
STAMPED_PHASES = ("held_out", "sensitivity")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def content_digest(data: Mapping[str, Any]) -> str:
    """SHA-256 of ``data`` as canonical JSON, leaving out ``provenance.content`` itself."""
    body = dict(data)
    prov = body.get(PROVENANCE)
    if isinstance(prov, Mapping):
        body[PROVENANCE] = {k: v for k, v in prov.items() if k != "content"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return _sha256(text.encode())


def run_digests(folder: Path, run_dirs: Iterable[Path]) -> dict[str, dict[str, str]]:
    """``{run folder relative to folder: {file: sha256}}`` for each run's :data:`RUN_FILES`."""
    out: dict[str, dict[str, str]] = {}
    for run_dir in run_dirs:
        files = {
            name: _sha256((Path(run_dir) / name).read_bytes())
            for name in RUN_FILES
            if (Path(run_dir) / name).is_file()
        }
        out[Path(run_dir).relative_to(folder).as_posix()] = files
    return dict(sorted(out.items()))


def stamp(data: Mapping[str, Any], folder: Path, run_dirs: Iterable[Path]) -> dict[str, Any]:
    """``data`` with its ``provenance``: the digests of ``run_dirs`` and of the content."""
    out = {k: v for k, v in data.items() if k != PROVENANCE}
    out[PROVENANCE] = {"runs": run_digests(Path(folder), run_dirs)}
    out[PROVENANCE]["content"] = content_digest(out)
    return out


def verify(path: Path, data: Any, folder: Path, fix: str) -> None:
    """Refuse ``data`` (read from ``path``) unless its digests match it and its runs.

    Raises:
        ReportInputError: one line naming ``path``, what does not match, and ``fix``.
    """
    prov = data.get(PROVENANCE) if isinstance(data, Mapping) else None
    if not isinstance(prov, Mapping) or not isinstance(prov.get("runs"), Mapping):
        raise ReportInputError(
            f"{path}: no provenance digest (written before digests, or edited); {fix}; or "
            f"`python -m fade_rl.experiments.suite.restamp {folder}` checks old data against its "
            "runs and stamps it"
        )
    if prov.get("content") != content_digest(data):
        raise ReportInputError(
            f"{path}: its content does not match its digest (edited since it was written); {fix}"
        )
    for run, files in prov["runs"].items():
        run_dir = folder / run
        for name, digest in (files or {}).items():
            if not (run_dir / name).is_file():
                raise ReportInputError(
                    f"{path}: it was computed from {run_dir / name}, which is gone; {fix}"
                )
            if _sha256((run_dir / name).read_bytes()) != digest:
                raise ReportInputError(
                    f"{path}: it was computed from {run_dir / name}, which has changed since; {fix}"
                )


def env_digest(config: Any) -> str:
    """SHA-256 of a config's environment and budget: what references depend on.

    The algorithm is left out: tuning a method's learning rate must not orphan them.
    """
    data = config.to_dict() if hasattr(config, "to_dict") else dict(config)
    part = {"env": data["env"], "budget": data["budget"]}
    return hashlib.sha256(json.dumps(part, sort_keys=True).encode()).hexdigest()[:16]


def _read(path: Path, fix: str) -> dict[str, Any]:
    data, problem = read_json(path)
    if problem is not None:
        raise ReportInputError(f"{path}: {problem}; {fix}")
    if not isinstance(data, dict):
        raise ReportInputError(f"{path}: not a JSON object; {fix}")
    return data


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _references_problem(data: Mapping[str, Any]) -> str | None:
    keys = data.get("task_keys")
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        return "task_keys is not a list of names"
    tasks = data.get("tasks")
    if not isinstance(tasks, list) or not tasks:
        return "tasks is not a non-empty list"
    for i, task in enumerate(tasks):
        if not isinstance(task, Mapping) or not isinstance(task.get("values"), Mapping):
            return f"tasks[{i}] has no values"
        for key in ("floor", "ceiling"):
            if not _finite(task.get(key)):
                return f"tasks[{i}].{key} is not a finite number ({task.get(key)!r})"
    if not isinstance(data.get("env"), Mapping) or not isinstance(data.get("budget"), Mapping):
        return "env or budget is missing"
    if data.get("digest") != env_digest(data):
        return "its digest is not that of the environment and budget it holds"
    return None


def read_references(folder: str | Path) -> dict[str, dict[str, Any]]:
    """Every ``references/<setting>.json`` under ``folder``, verified, by setting name.

    ``references/`` may hold only ``<setting>.json`` files and the ceiling run folders
    (``<setting>__task<i>``): anything else is a stray or duplicate file, refused.
    """
    folder = Path(folder)
    ref_dir = folder / "references"
    out: dict[str, dict[str, Any]] = {}
    if not ref_dir.is_dir():
        return out
    fix = (
        f"rerun `fade-rl references -f {folder}` (with the suite's --tier and --settings) "
        "to rewrite it from its runs"
    )
    for path in sorted(ref_dir.iterdir()):
        if path.is_dir() and "__task" in path.name:
            continue
        if path.is_dir() or path.suffix != ".json":
            raise ReportInputError(
                f"{path}: a stray file among the references; move it out of {ref_dir}"
            )
        data = _read(path, fix)
        setting = data.get("setting")
        if not isinstance(setting, str) or path.name != f"{setting}.json":
            raise ReportInputError(
                f"{path}: a stray or duplicate references file (it names setting {setting!r}); "
                f"keep only {ref_dir}/<setting>.json and move it out"
            )
        problem = _references_problem(data)
        if problem is not None:
            raise ReportInputError(f"{path}: {problem}; {fix}")
        verify(path, data, folder, fix)
        out[setting] = data
    return out


def read_floors(path: Path, folder: str | Path) -> dict[str, Any]:
    """A many-level setting's ``floors/<setting>.json``, verified against its digest
    (:class:`ReportInputError` in one line if it was edited or damaged)."""
    fix = f"rerun `fade-rl suite -f {folder} --phase floors` (with its --manifest and --tier)"
    data = _read(path, fix)
    verify(path, data, Path(folder), fix)
    return data


def read_protocol(folder: str | Path) -> dict[str, Any]:
    """``<folder>/protocol.json``, verified (empty when there is none: a tier without tuning)."""
    folder = Path(folder)
    path = folder / PROTOCOL
    if not path.exists():
        return {}
    fix = (
        f"rerun `fade-rl suite -f {folder} --phase tuning` (with the suite's --tier) to "
        "select again from the tuning runs"
    )
    data = _read(path, fix)
    chosen = data.get("chosen", {})
    levels = data.get("kind") == "levels"  # the many-level suite picks a point of its grid
    shape = "point" if levels else "key, value"

    def picked(p: Any) -> bool:
        if levels:
            return isinstance(p, Mapping) and isinstance(p.get("point"), list)
        return isinstance(p, Mapping) and isinstance(p.get("key"), str)

    if not isinstance(chosen, Mapping) or not all(
        isinstance(methods, Mapping) and all(picked(p) for p in methods.values())
        for methods in chosen.values()
    ):
        raise ReportInputError(f"{path}: chosen is not setting -> method -> {shape}; {fix}")
    verify(path, data, folder, fix)
    return data


def _dig(data: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(data, Mapping) or part not in data:
            return None
        data = data[part]
    return data


def _same(a: Any, b: Any) -> bool:
    if _finite(a) and _finite(b):
        return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=0.0)
    return bool(a == b)


def check_held_out(
    protocol: Mapping[str, Any], runs: Sequence[tuple[Path, str, str, Mapping[str, Any]]]
) -> None:
    """Refuse a held-out run whose config did not run the value ``protocol.json`` chose
    (the single-change suite's ``key`` and ``value``, or the many-level suite's ``point``).

    Args:
        runs: ``(run folder, setting, method, config)`` per held-out run.
    """
    chosen = protocol.get("chosen", {})
    for path, setting, method, config in runs:
        pick = chosen.get(setting, {}).get(method)
        if pick is None and chosen:  # a tier without tuning has no protocol, so no choice
            raise ReportInputError(
                f"{path}: protocol.json has no chosen value for {setting}/{method}, so nothing "
                "says this run is held out at a tuned value; run the tuning phase for it "
                "(`fade-rl suite --phase tuning`), or move the run out"
            )
        if pick is None:
            continue
        point = pick["point"] if "point" in pick else [(pick["key"], pick.get("value"))]
        for key, value in point:
            ran = _dig(config, key)
            if not _same(ran, value):
                raise ReportInputError(
                    f"{path}/{CONFIG} ran {key}={ran!r} but {PROTOCOL} chose {value!r} for "
                    f"{setting}/{method}; rerun the held_out phase (`fade-rl suite --phase "
                    f"held_out`), or restore {PROTOCOL}"
                )


def phase_run_dirs(folder: str | Path, phase: str) -> list[Path]:
    """Every run folder under ``<folder>/<phase>``: each folder holding one of :data:`RUN_FILES`."""
    root = Path(folder) / phase
    if not root.is_dir():
        return []
    return sorted({p.parent for name in RUN_FILES for p in root.rglob(name) if p.is_file()})


def write_phase_stamp(folder: str | Path, phase: str) -> Path:
    """Stamp ``<folder>/<phase>.json`` over every run folder of the phase, as they are now."""
    folder = Path(folder)
    data = stamp({"phase": phase}, folder, phase_run_dirs(folder, phase))
    write_atomic(folder / f"{phase}.json", json.dumps(data, indent=1))
    return folder / f"{phase}.json"


def stamp_finished_phase(folder: str | Path, phase: str, run_dirs: Sequence[Path]) -> Path | None:
    """:func:`write_phase_stamp` once every one of the phase's ``run_dirs`` (all shards') has
    ended, with a ``summary.json`` or ``failure.json``; else ``None``."""
    if all(any((Path(r) / f).is_file() for f in RUN_FILES[1:]) for r in run_dirs):
        return write_phase_stamp(folder, phase)
    print(f"{phase}.json waits for the {phase} runs still going (another shard's)")
    return None


def read_phase(folder: str | Path, phase: str) -> None:
    """Refuse the runs of ``phase`` unless ``<folder>/<phase>.json`` stamps exactly them.

    Raises:
        ReportInputError: the stamp is missing (while runs are there), damaged or edited,
            or a run's files are gone, changed, or not among those stamped (an extra run).
    """
    folder = Path(folder)
    path = folder / f"{phase}.json"
    runs = phase_run_dirs(folder, phase)
    fix = (
        f"rerun `fade-rl suite -f {folder} --phase {phase}` (with the suite's --tier) to "
        "finish its runs and stamp them again"
    )
    if not path.exists():
        if runs:
            raise ReportInputError(f"{path}: no digest of the {phase} runs; {fix}")
        return
    data = _read(path, fix)
    verify(path, data, folder, fix)
    stamped = data[PROVENANCE]["runs"]
    for run_dir in runs:
        files = stamped.get(run_dir.relative_to(folder).as_posix())
        for name in RUN_FILES:
            if (run_dir / name).is_file() and name not in (files or {}):
                what = run_dir if files is None else run_dir / name
                raise ReportInputError(f"{path}: {what} is not among the runs it stamps; {fix}")
