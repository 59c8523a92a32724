"""One-off migration: stamp digests on suite data written before digests, once it checks out.

Suite folders written before :mod:`~fade_rl.experiments.suite.provenance` existed hold
``references/<setting>.json`` and ``protocol.json`` without digests, which a report
refuses. :func:`restamp` recomputes each such file's numbers from the runs it came from
and stamps it only where they match:

* references: every ceiling (mean of its task's ceiling runs' returns, each run's return
  as recorded) and every floor (the random policy rolled out again on the task frozen as
  its ceiling runs' ``config.yaml`` says, for each reference seed);
* ``protocol.json``: every tuning score (the mean score of the tuning runs of each grid
  value against the checked references) and every chosen value (the selection rule).

* ``held_out.json`` and ``sensitivity.json`` (the digests of those phases' runs, which a
  report refuses to read without): these runs cannot be recomputed, so they are stamped
  **as found**, after only checking that every held-out run ran the value ``protocol.json``
  chose; the stamp proves they are not edited after the migration, not before it.

Any mismatch is refused in one line that names the file, and nothing is written. A file
that already carries valid digests is left alone, so a rerun writes nothing. Run it as::

    python -m fade_rl.experiments.suite.restamp benchmarks/results/suite
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fade_rl.experiments.runs.atomic import write_atomic
from fade_rl.experiments.runs.config import read_yaml
from fade_rl.experiments.runs.folder import CONFIG, RunError, run_name
from fade_rl.experiments.runs.validate import ReportInputError, read_json
from fade_rl.experiments.suite.provenance import (
    STAMPED_PHASES,
    check_held_out,
    phase_run_dirs,
    read_phase,
    read_protocol,
    read_references,
    stamp,
    verify,
)
from fade_rl.experiments.suite.selection import choose, mean_tuning_score

__all__ = ["main", "restamp"]

_FIX = "the file does not match its runs: rerun that phase of `fade-rl suite` instead"


def _close(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)


def _load(path: Path) -> dict[str, Any]:
    data, problem = read_json(path)
    if problem is not None or not isinstance(data, dict):
        raise ReportInputError(f"{path}: {problem or 'not a JSON object'}; {_FIX}")
    return data


def _stamped(path: Path, data: Mapping[str, Any], folder: Path) -> bool:
    if "provenance" not in data:
        return False
    verify(path, data, folder, _FIX)  # stamped but wrong: refused, not stamped again
    return True


def _check_references(folder: Path, path: Path, data: Mapping[str, Any]) -> list[Path]:
    """The ceiling run folders of ``data``, once its ceilings and floors match them."""
    from fade_rl.experiments.runs.config import ExperimentConfig
    from fade_rl.experiments.suite.references import (
        _ceiling_return,
        ceiling_run_dir,
        random_floor,
    )

    run_dirs: list[Path] = []
    for i, task in enumerate(data["tasks"]):
        seeds = task["seeds"]
        runs = [ceiling_run_dir(folder, data["setting"], i, s) for s in seeds]
        ceilings = [_ceiling_return(run) for run in runs]
        if not all(map(_close, ceilings, task["ceiling_returns"])) or not _close(
            float(np.mean(ceilings)), task["ceiling"]
        ):
            raise ReportInputError(
                f"{path}: task {i}'s ceiling is not its runs' ({ceilings}); {_FIX}"
            )
        frozen = ExperimentConfig.model_validate(read_yaml(runs[0] / CONFIG))
        floors = [random_floor(frozen, task["steps"], s) for s in seeds]
        if not all(map(_close, floors, task["floor_returns"])) or not _close(
            float(np.mean(floors)), task["floor"]
        ):
            raise ReportInputError(
                f"{path}: task {i}'s floor is not the random policy's ({floors}); {_FIX}"
            )
        run_dirs += runs
    return run_dirs


def _check_protocol(
    folder: Path, path: Path, data: Mapping[str, Any], references: Mapping[str, Any]
) -> list[Path]:
    """The tuning run folders of ``data``, once its scores and choices match them."""
    from fade_rl.experiments.suite import TUNING
    from fade_rl.experiments.sweeps import grid_name

    run_dirs: list[Path] = []
    for setting, methods in data["chosen"].items():
        if setting not in references:
            raise ReportInputError(f"{path}: {setting} has no references to score it; {_FIX}")
        for method, pick in methods.items():
            grid = data["grids"][setting][method]
            table = []
            for value in grid["values"]:
                name = grid_name(setting, [(grid["key"], value)])
                runs = [
                    folder / TUNING / name / method / run_name(seed)
                    for seed in data["tuning_seeds"]
                ]
                try:
                    table.append((mean_tuning_score(runs, references[setting]), value))
                except (RunError, ReportInputError) as exc:
                    raise ReportInputError(f"{path}: {exc}; {_FIX}") from None
                run_dirs += runs
            recomputed = choose(grid["key"], table)
            recorded = [s["mean_score"] for s in pick["tuning_scores"]]
            means = [s["mean_score"] for s in recomputed["tuning_scores"]]
            if not all(map(_close, means, recorded)) or pick["value"] != recomputed["value"]:
                raise ReportInputError(
                    f"{path}: {setting}/{method}'s tuning scores or choice are not its runs' "
                    f"(scores {means}, choice {recomputed['value']!r}); {_FIX}"
                )
    return run_dirs


def _phase_stamps(folder: Path, protocol: Mapping[str, Any]) -> list[tuple[Path, dict[str, Any]]]:
    """``held_out.json`` and ``sensitivity.json`` for phases with runs and none: as found."""
    from fade_rl.experiments.suite import HELD_OUT

    out = []
    for phase in STAMPED_PHASES:
        path, run_dirs = folder / f"{phase}.json", phase_run_dirs(folder, phase)
        if path.exists() or not run_dirs:
            read_phase(folder, phase)  # stamped: checked, before anything is written
            continue
        if phase == HELD_OUT:
            runs = []
            for run in run_dirs:
                config = read_yaml(run / CONFIG) if (run / CONFIG).is_file() else {}
                runs.append((run, str(config.get("name")), str(config.get("method")), config))
            check_held_out(protocol, runs)
        out.append((path, stamp({"phase": phase}, folder, run_dirs)))
    return out


def restamp(folder: str | Path) -> list[Path]:
    """Check and stamp the unstamped references, protocol and phases of ``folder``; the files
    written.

    Raises:
        ReportInputError: a file whose numbers are not its runs' (nothing is written).
    """
    from fade_rl.experiments.suite import PROTOCOL

    folder = Path(folder)
    todo: list[tuple[Path, dict[str, Any]]] = []
    references: dict[str, dict[str, Any]] = {}
    for path in sorted((folder / "references").glob("*.json")):
        data = _load(path)
        if not _stamped(path, data, folder):
            data = stamp(data, folder, _check_references(folder, path, data))
            todo.append((path, data))
        references[data["setting"]] = data
    path, protocol = folder / PROTOCOL, {}
    if path.is_file():
        protocol = _load(path)
        if not _stamped(path, protocol, folder):
            run_dirs = _check_protocol(folder, path, protocol, references)
            protocol = stamp(protocol, folder, run_dirs)
            todo.append((path, protocol))
    todo += _phase_stamps(folder, protocol)
    for path, data in todo:
        write_atomic(path, json.dumps(data, indent=1))
    read_references(folder), read_protocol(folder)  # what a report will read, strays included
    for phase in STAMPED_PHASES:
        read_phase(folder, phase)
    return [p for p, _ in todo]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m fade_rl.experiments.suite.restamp FOLDER``: 0 stamped or nothing to do,
    2 refused."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1 or not Path(args[0]).is_dir():
        print("usage: python -m fade_rl.experiments.suite.restamp SUITE_FOLDER", file=sys.stderr)
        return 2
    try:
        written = restamp(args[0])
    except ReportInputError as exc:
        print(f"fade-rl: error: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(f"stamped {path}")
    if not written:
        print(f"{args[0]}: every file already carries valid digests; nothing written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
