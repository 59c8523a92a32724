"""pytest collects the docstring examples of every module of fade_rl (``--doctest-modules``).

An example that needs MuJoCo or the Atari ROMs is skipped where those are not installed;
``__main__`` modules are not imported (importing one runs the CLI).
"""

from __future__ import annotations

import importlib.util

import pytest
from _pytest.doctest import DoctestItem

collect_ignore_glob = ["fade_rl/**/__main__.py", "fade_rl/__main__.py"]

#: words in an example -> the module it needs
_NEEDS = {
    "mujoco": "mujoco",
    "HalfCheetah": "mujoco",
    "Hopper": "mujoco",
    "Walker": "mujoco",
    "Ant-": "mujoco",
    "ALE/": "ale_py",
    "ale_py": "ale_py",
}


def _missing(module: str) -> bool:
    return importlib.util.find_spec(module) is None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if not isinstance(item, DoctestItem) or item.dtest is None:
            continue
        source = "".join(example.source for example in item.dtest.examples)
        for word, module in _NEEDS.items():
            if word in source and _missing(module):
                item.add_marker(pytest.mark.skip(reason=f"the example needs {module}"))
                break
