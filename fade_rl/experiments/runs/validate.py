"""The one validator of what a report reads: JSON files, run summaries, config identity.

Every file a report reads goes through here, and every fault is one line that names the
file and the fix:

* :func:`read_json` reads a JSON file, bounded in size and depth (a truncated, unreadable,
  huge or deeply nested file is a problem, never a traceback; the readers then check each
  value, ``NaN`` and ``Infinity`` included); :func:`parse_json` reads one line of a log;
* :func:`summary_problem` checks the values a report takes from a ``summary.json``
  (status, returns, steps, segments: each of the right type and finite). A run whose
  summary fails is listed as ``invalid`` with the problem and kept out of every statistic;
* :func:`check_one_config` refuses to pool runs of different configs: the runs of one
  setting and method must share their config identity (:func:`config_identity`:
  everything in ``config.yaml`` but the seed and what does not change the experiment).
  Refused rather than reported apart: one folder holding two configs under one setting
  name comes from rerunning into it with a changed config (a sweep names each grid point
  apart), and the suite's aggregates assume one config per setting and method.

A refusal is a :class:`ReportInputError` (a :class:`~fade_rl.experiments.checks.ConfigError`:
exit 2 from the CLI, nothing written).

Example:
    >>> summary_problem({"status": "completed", "final_return": float("nan")})
    'final_return is not a finite number (nan)'
    >>> summary_problem({"status": "completed", "n_timesteps": 10, "n_episodes": 1,
    ...                  "final_return": 9.0, "segments": []}) is None
    True
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from fade_rl.experiments.runs.checks import ConfigError
from fade_rl.experiments.runs.strict_yaml import MAX_BYTES

__all__ = [
    "NOT_IDENTITY",
    "ReportInputError",
    "check_one_config",
    "config_identity",
    "parse_json",
    "read_json",
    "read_timing",
    "summary_problem",
]

#: Config keys (dotted) that do not change what a run computes: not part of its identity.
NOT_IDENTITY = (
    "seed",
    "device",
    "torch_threads",
    "logging.progress_bar",
    "logging.keep_checkpoints",
    "logging.checkpoint_interval",
)


#: A segment's numbers (``null`` where there is none: no episode, no shift before it).
_SEGMENT_VALUES = (
    "mean_return",
    "return_before",
    "return_after",
    "reference_return",
    "recovery_steps",
)


class ReportInputError(ConfigError):
    """A file a report must not use: the message names the file and the fix.

    Example (two runs of one setting and method whose budgets differ):
        >>> check_one_config([
        ...     (Path("runs/a"), "demo", "fade", {"seed": 0, "budget": {"n_timesteps": 100}}),
        ...     (Path("runs/b"), "demo", "fade", {"seed": 1, "budget": {"n_timesteps": 200}})])
        Traceback (most recent call last):
        ...
        fade_rl.experiments.runs.validate.ReportInputError: runs/a and runs/b hold demo/fade ...
    """


def read_json(path: Path) -> tuple[Any, str | None]:
    """``(data, None)``, or ``(None, what is wrong)`` for a missing, truncated or bad file.

    The one reader of a run folder's JSON: bounded like a YAML config (at most
    :data:`~fade_rl.experiments.runs.strict_yaml.MAX_BYTES`; nesting too deep for the
    parser is a problem, not a ``RecursionError``).
    """
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            return None, f"larger than {MAX_BYTES} bytes ({size}); not a file fade-rl wrote"
        text = path.read_text()
    except FileNotFoundError:
        return None, "missing"
    except OSError as exc:  # its message without the path, which the caller names
        return None, f"unreadable ({exc.strerror or _one_line(exc)})"
    except UnicodeDecodeError as exc:
        return None, f"unreadable ({_one_line(exc)})"
    return parse_json(text)


def parse_json(text: str) -> tuple[Any, str | None]:
    """``(data, None)``, or ``(None, what is wrong)``: :func:`read_json` of a text (one line
    of a ``.jsonl`` log), never an exception.

    >>> print(parse_json('[1, 2')[1])
    truncated or damaged JSON (Expecting ',' delimiter: line 1 column 6)
    >>> parse_json("[" * 100_000)[1]
    'nested too deeply to read; not a file fade-rl wrote'
    """
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, f"truncated or damaged JSON ({exc.msg}: line {exc.lineno} column {exc.colno})"
    except RecursionError:
        return None, "nested too deeply to read; not a file fade-rl wrote"
    except ValueError as exc:  # e.g. an integer too long to convert
        return None, f"damaged JSON ({_one_line(exc)})"


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _finite_number(value: Any) -> bool:
    return _is_number(value) and math.isfinite(float(value))


def read_timing(path: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """``timing.jsonl``'s records, and a line naming each damaged one (left out)."""
    records: list[dict[str, Any]] = []
    damaged: list[str] = []
    if not path.is_file():
        return records, damaged
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        record, _ = parse_json(line)
        fields = [record.get(k) for k in ("seconds", "started")] if isinstance(record, dict) else []
        if isinstance(record, dict) and len(fields) == 2 and all(map(_finite_number, fields)):
            records.append(record)
        else:
            damaged.append(f"{path}: line {n} is damaged; left out of the wall-clock table")
    return records, damaged


def _finite(value: Any, name: str, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not _is_number(value):
        return f"{name} is not a number ({value!r})"
    if not math.isfinite(value):
        return f"{name} is not a finite number ({value!r})"
    return None


def _segment_problem(k: int, seg: Any) -> str | None:
    if not isinstance(seg, Mapping):
        return f"segments[{k}] is not an object"
    for key in ("start", "end"):
        value = seg.get(key)
        if not _finite_number(value):
            return f"segments[{k}].{key} is not a finite number ({value!r})"
    for key in _SEGMENT_VALUES:
        if key not in seg:
            return f"segments[{k}].{key} is missing"
        problem = _finite(seg[key], f"segments[{k}].{key}", optional=True)
        if problem:
            return problem
    if not isinstance(seg.get("values", {}), (Mapping, type(None))):
        return f"segments[{k}].values is not an object"
    return None


def summary_problem(summary: Any) -> str | None:
    """What is wrong with a ``summary.json``'s values (``None``: fit for a report).

    A completed run needs a finite ``final_return`` (``null`` only when no episode ended),
    a whole ``n_timesteps``, and segments with finite bounds and returns; the optional
    ``wall_time_s`` and ``steps_per_second`` must be finite numbers when given.
    """
    if not isinstance(summary, Mapping):
        return "not a JSON object"
    status = summary.get("status")
    if not isinstance(status, str):
        return f"status is not a string ({status!r})"
    if status != "completed":
        return None
    episodes = summary.get("n_episodes")
    if "final_return" not in summary:
        return "final_return is missing"
    no_episode = summary["final_return"] is None and episodes == 0
    problem = None if no_episode else _finite(summary["final_return"], "final_return")
    if problem:
        return problem
    steps = summary.get("n_timesteps")
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 0:
        return f"n_timesteps is not a whole number of steps ({steps!r})"
    for key in ("mean_return", "wall_time_s", "steps_per_second"):
        problem = _finite(summary.get(key), key, optional=True)
        if problem:
            return problem
    segments = summary.get("segments", [])
    if not isinstance(segments, list):
        return "segments is not a list"
    for k, seg in enumerate(segments):
        problem = _segment_problem(k, seg)
        if problem:
            return problem
    if not isinstance(summary.get("shifts", []), list):
        return "shifts is not a list"
    return None


def _without(data: Mapping[str, Any], dotted: str) -> dict[str, Any]:
    head, _, rest = dotted.partition(".")
    out = dict(data)
    if not rest:
        out.pop(head, None)
    elif isinstance(out.get(head), Mapping):
        out[head] = _without(out[head], rest)
    return out


def config_identity(config: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` without the keys in :data:`NOT_IDENTITY` (what makes two runs comparable)."""
    out = dict(config)
    for dotted in NOT_IDENTITY:
        out = _without(out, dotted)
    return out


def _differing(a: Any, b: Any, prefix: str = "") -> str:
    """The first dotted key where ``a`` and ``b`` differ."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        for key in sorted(set(a) | set(b), key=str):
            if a.get(key) != b.get(key):
                return _differing(a.get(key), b.get(key), f"{prefix}{key}.")
    return prefix.rstrip(".") or "(the whole config)"


def check_one_config(runs: Iterable[tuple[Path, str, str, Mapping[str, Any]]]) -> None:
    """Refuse runs of one setting and method whose configs differ (but for the seed).

    Args:
        runs: ``(run folder, setting, method, config)`` per run.

    Raises:
        ReportInputError: naming two such folders and the first key that differs.
    """
    first: dict[tuple[str, str], tuple[Path, dict[str, Any]]] = {}
    for path, setting, method, config in runs:
        identity = config_identity(config)
        seen = first.setdefault((setting, method), (path, identity))
        if seen[1] != identity:
            key = _differing(seen[1], identity)
            raise ReportInputError(
                f"{seen[0]} and {path} hold {setting}/{method} runs of different configs "
                f"({key}: {_dig(seen[1], key)!r} vs {_dig(identity, key)!r}); a report never "
                "pools them: move one group to another folder, or rerun it under another --name"
            )


def _dig(data: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(data, Mapping):
            return None
        data = data.get(part)
    return data
