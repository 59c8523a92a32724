"""Speed benchmarks: ``python -m benchmarks`` runs each ``benchmarks/bench_*.py`` main()."""
