"""Speed benchmarks (`make bench`) and the paper reproductions (`make bench-paper`)."""
