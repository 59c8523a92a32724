"""Copy SB3's own test files here, with fade_rl's FadePPO in place of SB3's PPO.

    python tests/sb3/vendor.py /path/to/stable-baselines3/.git [commit]

Each file listed in :data:`FILES` (SB3's tests that run PPO) is written to ``tests/sb3/``
as it is at ``commit``, with one change: ``PPO`` leaves its ``from stable_baselines3
import ...`` line and comes from ``from fade_rl import FadePPO as PPO`` instead, so every
test of the file that builds, trains, saves or loads a PPO does it with FadePPO.
``conftest.py`` then keeps only the tests that run PPO.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

#: SB3's test files that run PPO.
FILES = (
    "test_callbacks",
    "test_cnn",
    "test_custom_policy",
    "test_deterministic",
    "test_dict_env",
    "test_distributions",
    "test_gae",
    "test_identity",
    "test_logger",
    "test_predict",
    "test_run",
    "test_save_load",
    "test_sde",
    "test_spaces",
    "test_tensorboard",
    "test_train_eval_mode",
    "test_vec_envs",
    "test_vec_extract_dict_obs",
    "test_vec_monitor",
)

_IMPORT = re.compile(r"^from stable_baselines3 import ([^\n(]+)$", re.MULTILINE)


def with_fade_ppo(source: str) -> str:
    """``source`` with SB3's ``PPO`` import replaced by ``FadePPO as PPO``."""

    def replace(match: re.Match[str]) -> str:
        names = [name.strip() for name in match.group(1).split(",")]
        if "PPO" not in names:
            return match.group(0)
        rest = [name for name in names if name != "PPO"]
        ours = "from fade_rl import FadePPO as PPO"
        return f"from stable_baselines3 import {', '.join(rest)}\n\n{ours}" if rest else ours

    changed = _IMPORT.sub(replace, source)
    if "FadePPO as PPO" not in changed:
        raise ValueError("no `from stable_baselines3 import ... PPO` line to replace")
    return changed


def main(git_dir: str, commit: str = "HEAD") -> None:
    here = Path(__file__).parent
    commit = subprocess.run(
        ["git", "--git-dir", git_dir, "rev-parse", commit],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    for name in FILES:
        source = subprocess.run(
            ["git", "--git-dir", git_dir, "show", f"{commit}:tests/{name}.py"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        header = (
            f"# SB3's tests/{name}.py (DLR-RM/stable-baselines3 {commit[:10]}, MIT license,\n"
            "# Copyright (c) 2019 Antonin Raffin), with fade_rl's FadePPO as PPO: written by\n"
            "# tests/sb3/vendor.py, not edited by hand.\n"
        )
        (here / f"{name}.py").write_text(header + with_fade_ppo(source))
    print(f"wrote {len(FILES)} files from {commit}")


if __name__ == "__main__":
    main(*sys.argv[1:])
