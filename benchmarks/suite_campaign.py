"""Commit a running suite campaign's finished runs, compacted, as they finish.

Every ``--every`` seconds: compact the suite folder ``--src`` into ``--dest``
(:func:`fade_rl.experiments.reports.compact.compact_tree`) and, when ``--dest`` has changes,
commit them, and only them (``git add -- DEST``, ``git commit -m ... -- DEST``): what
else is staged in the repository stays staged and uncommitted. While another git
command holds ``.git/index.lock`` the commit waits for the next pass (``--once``: it
retries for up to a minute). SIGTERM or SIGINT ends the loop after the current pass.

Run it from the repository root::

    python -m benchmarks.suite_campaign --src runs/suite_standard \\
        --dest benchmarks/results/suite --every 120
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from types import FrameType

from fade_rl.experiments.reports.compact import MANIFEST, compact_tree

_stop = False


def _on_signal(signum: int, frame: FrameType | None) -> None:
    global _stop
    _stop = True


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)


def _locked(repo: Path) -> bool:
    git_dir = _git(repo, "rev-parse", "--absolute-git-dir").stdout.strip()
    return (Path(git_dir) / "index.lock").exists()


def _summary(dest: Path) -> str:
    """``N in all: <phase> n, ...``: compact runs under ``dest`` by top-level folder."""
    phases = Counter(p.relative_to(dest).parts[0] for p in dest.rglob(MANIFEST))
    detail = ", ".join(f"{phase} {n}" for phase, n in sorted(phases.items()))
    return f"{sum(phases.values())} in all: {detail}" if phases else "0 in all"


def commit_dest(repo: Path, dest: Path) -> str:
    """Commit the changes under ``dest`` alone; returns what happened, in a few words."""
    if _locked(repo):
        return "commit postponed (index.lock held)"
    rel = str(dest.resolve().relative_to(repo))
    status = _git(repo, "status", "--porcelain", "--untracked-files=all", "--", rel)
    if status.returncode != 0:
        return f"git status failed: {status.stderr.strip()}"
    changed = [line[3:] for line in status.stdout.splitlines()]
    if not changed:
        return "nothing to commit"
    new_runs = sum(path.endswith("/" + MANIFEST) for path in changed)
    for args in (
        ("add", "--", rel),
        ("commit", "-q", "-m", f"suite campaign: +{new_runs} runs ({_summary(dest)})", "--", rel),
    ):
        done = _git(repo, *args)
        if done.returncode != 0:
            if "index.lock" in done.stderr:
                return "commit postponed (index.lock held)"
            return f"git {args[0]} failed: {done.stderr.strip()}"
    head = _git(repo, "rev-parse", "--short", "HEAD").stdout.strip()
    return f"committed {head}: +{new_runs} runs ({_summary(dest)})"


def one_pass(src: Path, dest: Path, repo: Path) -> str:
    """Compact, then commit; returns the pass's line."""
    written = compact_tree(src, dest)
    return f"{time.strftime('%H:%M:%S')} wrote {len(written)}; {commit_dest(repo, dest)}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--src", required=True, type=Path, help="the suite folder")
    parser.add_argument("--dest", required=True, type=Path, help="compact copy, committed")
    parser.add_argument("--every", type=float, default=120.0, help="seconds between passes")
    parser.add_argument("--once", action="store_true", help="one pass, then exit")
    args = parser.parse_args(argv)
    if not args.src.is_dir():
        parser.error(f"--src {args.src}: no such folder (the suite folder to compact)")
    if args.every <= 0:
        parser.error(f"--every must be > 0 seconds, got {args.every}")
    args.dest.mkdir(parents=True, exist_ok=True)
    top = _git(args.dest, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        parser.error(f"--dest {args.dest}: not inside a git repository")
    repo = Path(top.stdout.strip()).resolve()
    if args.once:
        for _ in range(30):
            line = one_pass(args.src, args.dest, repo)
            print(line, flush=True)
            if "postponed" not in line:
                return 1 if "failed" in line else 0
            time.sleep(2)
        return 1
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    while not _stop:
        print(one_pass(args.src, args.dest, repo), flush=True)
        deadline = time.monotonic() + args.every
        while not _stop and time.monotonic() < deadline:
            time.sleep(min(1.0, deadline - time.monotonic()))
    print(f"{time.strftime('%H:%M:%S')} stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
