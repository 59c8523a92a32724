"""Crash-consistent writes: a kill (or a power cut) leaves a file's old version or its new one.

Every file that a run, a sweep or a report writes goes through this module. A file is
written to a temporary file in the same folder (hidden, ending in ``.tmp``, so no glob of
a run folder's files picks it up), flushed and ``fsync``-ed, renamed over its target with
``os.replace`` (atomic on POSIX), and then the folder itself is ``fsync``-ed so the rename
is on disk too. A folder (a checkpoint) is made the same way: its files are written into a
temporary folder, each one and the folder are synced, and the folder is renamed into place.

Append-only logs are not rewritten: their readers drop a torn last line. Short ones
(``resumes.jsonl``, ``command.txt``, a suite's ``timing.jsonl``) take each record in one
synced ``write`` (:func:`append_synced`); ``episodes.jsonl`` is synced before a checkpoint
that counts on it is marked.

    >>> import tempfile
    >>> from pathlib import Path
    >>> from fade_rl.experiments.runs.atomic import write_atomic
    >>> path = Path(tempfile.mkdtemp()) / "summary.json"
    >>> write_atomic(path, '{"status": "completed"}')
    >>> path.read_text(), sorted(p.name for p in path.parent.iterdir())
    ('{"status": "completed"}', ['summary.json'])
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "append_synced",
    "atomic_path",
    "remove_temporaries",
    "replace_dir",
    "sync_dir",
    "sync_file",
    "temporary_name",
    "write_atomic",
]


def temporary_name(path: Path) -> Path:
    """The temporary file beside ``path`` that a write of ``path`` goes through."""
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def sync_dir(path: Path) -> None:
    """``fsync`` a folder, so the names created, renamed or removed in it are on disk."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    except OSError:  # some file systems cannot sync a folder; nothing more can be done there
        pass
    finally:
        os.close(fd)


def sync_file(path: Path) -> None:
    """``fsync`` a file written by someone else's writer (SB3, torch, numpy)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write ``path``'s new content to; put it in place on success.

    For writers that take a path (``torch.save``, ``np.savez``, SB3's ``save``). When the
    block raises, the temporary file is removed and ``path`` keeps its old content.
    """
    target = Path(path)
    tmp = temporary_name(target)
    try:
        yield tmp
        sync_file(tmp)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    sync_dir(target.parent)


def write_atomic(path: str | Path, data: str | bytes) -> None:
    """Write ``data`` (text as UTF-8) to ``path`` so that a kill leaves the old or the new."""
    with atomic_path(path) as tmp, tmp.open("wb") as fh:
        fh.write(data.encode() if isinstance(data, str) else data)
        fh.flush()


def append_synced(path: str | Path, text: str) -> None:
    """Append ``text`` (whole lines) to a log in one ``write``, and sync it.

    A kill cannot split one ``write`` of a regular file; a power cut may leave a torn last
    line, which the log's reader drops.
    """
    data = text.encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        while data:
            data = data[os.write(fd, data) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def _aside_name(target: Path) -> Path:
    """Where :func:`replace_dir` moves the old ``target`` while the new one is renamed in."""
    return target.with_name(f".{target.name}{_ASIDE}")


#: The suffix of a replaced folder moved aside (hidden; :func:`remove_temporaries` clears it).
_ASIDE = ".old.tmp"


def replace_dir(tmp: Path, target: Path) -> None:
    """Sync the folder ``tmp`` (each file in it, and itself), then rename it to ``target``.

    A ``target`` that exists (a superseded copy of the same content) is renamed aside
    first and removed only once the new folder is in place: a kill in between leaves the
    old folder under a hidden name, which :func:`remove_temporaries` puts back.
    """
    for path in sorted(tmp.iterdir()):
        if path.is_file():
            sync_file(path)
    sync_dir(tmp)
    aside = _aside_name(target)
    if aside.exists():  # from a kill after the last swap's new folder was in place
        shutil.rmtree(aside)
    if target.exists():
        os.replace(target, aside)
    os.replace(tmp, target)
    sync_dir(target.parent)
    if aside.exists():
        shutil.rmtree(aside)


def remove_temporaries(*folders: Path) -> list[Path]:
    """Remove what killed writes left in ``folders``; return it.

    Only for the folders' owner (a run holding its lock): the temporary files of
    :func:`temporary_name`, half-written folders (a checkpoint's ``.step_<n>.tmp``), and
    folders :func:`replace_dir` moved aside. One whose new version never took its place
    is put back instead.
    """
    found = [p for folder in folders for p in folder.glob(".*.tmp")]
    for path in found:
        original = path.with_name(path.name[1 : -len(_ASIDE)])
        if path.name.endswith(_ASIDE) and path.is_dir() and not original.exists():
            os.replace(path, original)
            sync_dir(path.parent)
        elif path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    return found
