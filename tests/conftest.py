"""Every test runs on one torch thread: the networks are small, and `make test` runs two
pytest workers on two cores, so more threads would only fight each other."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True, scope="session")
def _run_key(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Runs sign their checkpoints with a key of the test session, never the user's own
    (``~/.config/fade-rl/run-key``); subprocesses inherit it through the environment."""
    import os

    name = "FADE_RL_RUN_KEY_FILE"
    previous = os.environ.get(name)
    os.environ[name] = str(tmp_path_factory.mktemp("run-key") / "run-key")
    yield
    if previous is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = previous
