"""Run every ``benchmarks/bench_*.py`` module's ``main()`` in name order."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path


def main() -> None:
    here = Path(__file__).resolve().parent
    for info in sorted(pkgutil.iter_modules([str(here)]), key=lambda m: m.name):
        if info.name.startswith("bench_"):
            print(f"== benchmarks.{info.name}", flush=True)
            importlib.import_module(f"benchmarks.{info.name}").main()


if __name__ == "__main__":
    main()
