"""Reading run folders for a report (which runs there are, their summaries and scalars) and
writing a report's files.

Nothing unreadable is dropped silently: a corrupt ``summary.json`` or ``failure.json``, an
empty, truncated or corrupt TensorBoard events file each give a warning that names the
file (collected in :class:`Problems`, printed on stderr and listed in ``report.md``). A
``summary.json`` whose values fail :func:`~fade_rl.experiments.runs.validate.summary_problem`
(a non-finite or missing return, a wrong type) makes its run ``invalid``: listed with the
problem, kept out of every statistic.
"""

from __future__ import annotations

import struct
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fade_rl.experiments.runs.atomic import write_atomic
from fade_rl.experiments.runs.config import METHODS
from fade_rl.experiments.runs.folder import CONFIG, EVENTS, SCALARS_CSV, VERSIONS, RunFolder
from fade_rl.experiments.runs.strict_yaml import YamlError, load_yaml

__all__ = [
    "SCALARS_CSV",
    "Problems",
    "RunRecord",
    "check_events_file",
    "find_runs",
    "method_order",
    "read_scalars",
    "write_report_files",
]


@dataclass
class RunRecord:
    """One run folder as the report sees it.

    Example (:func:`find_runs` on a folder holding one completed run):
        >>> import json, tempfile
        >>> root = Path(tempfile.mkdtemp())
        >>> run = root / "demo" / "fade" / "seed_0"
        >>> run.mkdir(parents=True)
        >>> _ = (run / "config.yaml").write_text("name: demo\\nmethod: fade\\nseed: 0\\n")
        >>> _ = (run / "versions.json").write_text("{}")
        >>> summary = {"status": "completed", "n_timesteps": 100, "final_return": 21.0}
        >>> _ = (run / "summary.json").write_text(json.dumps(summary))
        >>> [record] = find_runs([root])
        >>> record.setting, record.method, record.seed, record.status, record.error
        ('demo', 'fade', 0, 'completed', None)
        >>> record.summary["final_return"], record.path.relative_to(root).as_posix()
        (21.0, 'demo/fade/seed_0')
    """

    path: Path
    setting: str
    method: str
    seed: int
    status: str
    summary: dict[str, Any]
    error: str | None = None
    config: dict[str, Any] = field(default_factory=dict)


@dataclass
class Problems:
    """Warnings about unreadable files, each naming its file (printed as they come).

    Example (a damaged ``summary.json``: the run is listed as corrupt, the file named):
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp())
        >>> run = root / "demo" / "none" / "seed_0"
        >>> run.mkdir(parents=True)
        >>> _ = (run / "config.yaml").write_text("name: demo\\nmethod: none\\nseed: 0\\n")
        >>> _ = (run / "versions.json").write_text("{}")
        >>> _ = (run / "summary.json").write_text('{"status": "compl')
        >>> problems = Problems()
        >>> [record.status for record in find_runs([root], problems)]
        ['corrupt']
        >>> len(problems.lines), problems.lines[0].endswith("the run is listed as corrupt")
        (1, True)
        >>> "summary.json: truncated or damaged JSON" in problems.lines[0]
        True
    """

    lines: list[str] = field(default_factory=list)

    def add(self, text: str) -> None:
        """Record ``text`` and print it on stderr."""
        self.lines.append(text)
        print(f"fade-rl: warning: {text}", file=sys.stderr)


def method_order(method: str) -> int:
    """A method's place in the shared vocabulary (unknown methods last)."""
    return METHODS.index(method) if method in METHODS else len(METHODS)


def find_runs(paths: list[str | Path], problems: Problems | None = None) -> list[RunRecord]:
    """Every run folder under ``paths`` (completed, unfinished, failed and corrupt)."""
    problems = problems if problems is not None else Problems()
    seen: set[Path] = set()
    records = []
    for root in map(Path, paths):
        if not root.exists():
            raise FileNotFoundError(f"{root}: no such folder")
        for config_path in sorted(root.rglob(CONFIG)):
            run_dir = config_path.parent
            if run_dir in seen or not (run_dir / VERSIONS).is_file():
                continue
            seen.add(run_dir)
            try:
                config = load_yaml(config_path.read_text(), str(config_path))
                name, method, seed = config["name"], config["method"], int(config["seed"])
                if not isinstance(name, str) or not isinstance(method, str):
                    raise TypeError("name and method must be strings")
            except YamlError as exc:  # names the file and the line
                problems.add(f"{exc}; run skipped")
                continue
            except Exception as exc:
                why = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                problems.add(
                    f"{config_path}: unreadable ({type(exc).__name__}: {why}); run skipped"
                )
                continue
            outcome = RunFolder(run_dir).outcome(problems.add)
            status, summary, error = outcome.status, outcome.summary, outcome.error
            records.append(
                RunRecord(run_dir, name, method, seed, status, summary, error, dict(config))
            )
    records.sort(key=lambda r: (r.setting, method_order(r.method), r.method, r.seed))
    return records


def check_events_file(path: Path) -> str | None:
    """What is wrong with a TensorBoard events file (``None``: every record intact).

    Walks the TFRecord framing (length, its CRC, data, its CRC) of every record.
    """
    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c

    data = path.read_bytes()
    if not data:
        return "empty file"
    pos = 0
    while pos < len(data):
        if pos + 12 > len(data):
            return f"truncated at byte {pos}"
        header = data[pos : pos + 8]
        (length,) = struct.unpack("<Q", header)
        (length_crc,) = struct.unpack("<I", data[pos + 8 : pos + 12])
        if masked_crc32c(header) != length_crc:
            return f"corrupt record header at byte {pos}"
        end = pos + 12 + length
        if end + 4 > len(data):
            return f"truncated at byte {pos}"
        (data_crc,) = struct.unpack("<I", data[end : end + 4])
        if masked_crc32c(data[pos + 12 : end]) != data_crc:
            return f"corrupt record at byte {pos}"
        pos = end + 4
    return None


def read_scalars(run_dir: Path, problems: Problems | None = None) -> Any:
    """The run's TensorBoard scalars as a long pandas frame (``step``, ``tag``, ``value``).

    Each damaged events file is named in ``problems`` (what is readable of it is kept).
    A compact run folder (no events file) is read from its ``scalars.csv.gz``.
    """
    import pandas as pd
    from tbparse import SummaryReader

    problems = problems if problems is not None else Problems()
    events = sorted(run_dir.glob(EVENTS))
    if not events and (run_dir / SCALARS_CSV).is_file():
        frame = pd.read_csv(run_dir / SCALARS_CSV, dtype={"tag": str})
        return frame.sort_values(["tag", "step"]).reset_index(drop=True)
    for path in events:
        issue = check_events_file(path)
        if issue is not None:
            problems.add(f"{path}: {issue}; its scalars are missing from the report")
    frame = SummaryReader(str(run_dir), pivot=False).scalars
    if len(frame) == 0:
        return frame
    return frame.sort_values(["tag", "step"]).reset_index(drop=True)


def write_report_files(
    out_dir: Path,
    lines: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
    run_rows: Sequence[Mapping[str, Any]],
    segment_rows: Sequence[Mapping[str, Any]],
) -> None:
    """Write ``report.md`` (``lines``) and ``report.csv``, ``runs.csv``, ``segments.csv``."""
    import pandas as pd

    write_atomic(out_dir / "report.md", "\n".join(lines) + "\n")
    for name, table in (("report", rows), ("runs", run_rows), ("segments", segment_rows)):
        write_atomic(out_dir / f"{name}.csv", pd.DataFrame(list(table)).to_csv(index=False))
