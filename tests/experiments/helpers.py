"""Tiny but real configs (CartPole reward flip every 500 steps) for the experiments tests."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

FLIP = {"reward": {"sign": {"type": "periodic", "values": [1, -1], "period": 500}}}

SMALL: dict[str, Any] = {
    "name": "tiny_flip",
    "env": {"id": "fade_rl/CartPole-RewardFlip-v0", "kwargs": FLIP},
    "algo": {
        "name": "dqn",
        "hyperparams": {
            "learning_rate": 0.001,
            "buffer_size": 5000,
            "learning_starts": 100,
            "batch_size": 32,
            "train_freq": 4,
            "target_update_interval": 100,
            "policy_kwargs": {"net_arch": [32, 32]},
        },
    },
    "methods": {"snp": {"every": 300}, "redo": {"every": 300, "batch_size": 64}},
    "budget": {"n_timesteps": 1500},
    "logging": {
        "checkpoint_interval": 500,
        "plasticity_interval": 250,
        "plasticity_batch": 64,
        "probe_interval": 750,
        "histogram_interval": 750,
        "progress_bar": False,
    },
}


def small_config(**changes: Any) -> dict[str, Any]:
    """A deep copy of :data:`SMALL` with top-level keys replaced."""
    data = copy.deepcopy(SMALL)
    data.update(changes)
    return data


def write_config(path: Path, data: dict[str, Any]) -> Path:
    """Write ``data`` as YAML to ``path`` and return it."""
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def fast_config(n_timesteps: int = 600, **changes: Any) -> dict[str, Any]:
    """:data:`SMALL` without plasticity measurements: the cheapest real run."""
    data = small_config(budget={"n_timesteps": n_timesteps}, **changes)
    data["logging"] = {**data["logging"], "plasticity_interval": 0, "checkpoint_interval": 300}
    return data


def run_summary(
    final_return: Any, segment_returns: tuple[Any, Any], **extra: Any
) -> dict[str, Any]:
    """A completed run's summary: 200 steps, the reward's sign flipped at step 100, two segments
    with the given mean returns; ``extra`` keys stand right after ``n_timesteps``."""
    return {
        "status": "completed",
        "n_timesteps": 200,
        **extra,
        "final_return": final_return,
        "wall_time_s": 1.5,
        "steps_per_second": 100.0,
        "shifts": [{"step": 100, "segment": 1}],
        "segments": [
            {
                "segment": k,
                "start": 100 * k,
                "end": 100 * (k + 1),
                "n_episodes": 5,
                "mean_return": segment_returns[k],
                "values": {"reward.sign": 1.0 - 2 * k},
                "return_before": None,
                "return_after": None,
                "reference_return": None,
                "recovery_steps": None,
            }
            for k in (0, 1)
        ],
    }


_RAY_HEAD = """
import sys, ray
ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
print(ray.get_runtime_context().gcs_address, flush=True)
sys.stdin.read()  # keep the cluster up until the test closes stdin
ray.shutdown()
"""


@contextmanager
def local_ray() -> Iterator[str]:
    """A throwaway Ray cluster on this machine, owned by a helper process: its address.

    Token authentication is off (Ray >= 2.5x enables it by default for clusters that
    ``ray.init`` starts); set ``RAY_AUTH_MODE=disabled`` in the test's environment too.
    """
    head = subprocess.Popen(
        [sys.executable, "-c", _RAY_HEAD],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1", "RAY_AUTH_MODE": "disabled"},
    )
    try:
        assert head.stdout is not None and head.stdin is not None
        address = head.stdout.readline().strip()
        assert address, "the helper could not start Ray"
        yield address
    finally:
        assert head.stdin is not None
        head.stdin.close()
        head.wait(timeout=60)


def assert_refused(
    capsys: pytest.CaptureFixture, runs: Path, argv: list[str], expected: str
) -> None:
    """``fade-rl ARGV -f RUNS`` exits 2 with one line holding ``expected``, writing nothing."""
    from fade_rl.cli import main

    code = main([*argv, "-f", str(runs)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert expected in err, err
    assert err.count("\n") == 1, err
    assert not runs.exists()
