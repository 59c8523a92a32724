"""Run every benchmark module (``benchmarks/bench_*.py``) in turn: ``python -m benchmarks``."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path


def main() -> None:
    here = Path(__file__).parent
    for module in sorted(m.name for m in pkgutil.iter_modules([str(here)])):
        if module.startswith("bench_"):
            print(f"== benchmarks.{module}")
            importlib.import_module(f"benchmarks.{module}").main([])


if __name__ == "__main__":
    main()
