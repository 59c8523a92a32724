"""Run every speed benchmark: each benchmarks/bench_*.py module's main(), in name order.

``bench_methods`` (each method's time per gradient step against ``none``, DQN and SAC side
by side) runs with the small sizes in :data:`ARGS`, so that ``make bench`` stays short; run
``python -m benchmarks.bench_methods`` for its full defaults.
"""

import importlib
import pkgutil

import benchmarks

#: Command-line arguments of each benchmark under ``make bench`` (none: its defaults).
ARGS: dict[str, list[str]] = {"bench_methods": ["--steps", "50", "--rounds", "5"]}


def main() -> None:
    for info in sorted(pkgutil.iter_modules(benchmarks.__path__), key=lambda i: i.name):
        if info.name.startswith("bench_"):
            print(f"\n=== benchmarks.{info.name} ===", flush=True)
            importlib.import_module(f"benchmarks.{info.name}").main(ARGS.get(info.name, []))


if __name__ == "__main__":
    main()
