# The commands the README names. Everything runs inside .venv, which `make install` creates.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
TORCH  ?= torch==2.13.0

.PHONY: install demo test lint bench bench-paper clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# torch goes in first, pinned: a bare `torch` requirement would pull a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q "$(TORCH)"
	$(BIN)/pip install -q -e ".[dev]"
	touch $@

install: $(VENV)/.installed

# The headline of the plasticity suite, small: DQN on CartPole whose observations are
# permuted and sign-flipped anew every 10k steps, 5 levels. The plain agent (none) against
# the oracle (a fresh agent at every level), resets and FADE, one seed each, 2 runs at a
# time (timed in docs/experiments.md); prints the per-level table, the scores and the
# tensorboard command. Rerunning skips finished runs; `rm -rf runs/demo` starts over.
demo: install
	$(BIN)/fade-rl suite --manifest configs/suite_v2/suite.yaml --tier smoke --settings dqn_cartpole_permute --methods none,reset,fade --workers 2 -f runs/demo --no-progress

test: install
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

lint: install
	$(BIN)/ruff check fade_rl tests benchmarks
	$(BIN)/ruff format --check fade_rl tests benchmarks
	$(BIN)/mypy fade_rl

bench: install
	$(BIN)/python -m benchmarks

# The paper reproductions take hours on 2 cores; see docs/paper_reproduction.md.
bench-paper: install
	$(BIN)/python -m benchmarks.paper.linear_tracking
	$(BIN)/python -m benchmarks.paper.teacher_student

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache .mypy_cache
