"""Agents tests run small networks: one torch thread is faster, and fair to neighbours."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch as th


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    threads = th.get_num_threads()
    th.set_num_threads(1)
    yield
    th.set_num_threads(threads)
