"""The device contract of FadeDQN/FadeSAC/FadeTD3, checked without a GPU on the meta device.

On ``meta`` (see ``tests/device_contract.py``) any host read (``.item()``, ``float()``,
``.tolist()``) and any CPU tensor mixed in raises, as a sync or a device mix would on
CUDA. ``train()`` keeps its losses on the device and hands them to
``_record_train_means``, the one place that reads them on the host, once per call: the
tests replace that method by a recorder and run everything else on meta.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch as th
from torch.overrides import TorchFunctionMode

from fade_rl import FadeDQN
from fade_rl.algos import LossPass
from fade_rl.nets import CriticPass
from tests.algos.helpers import (
    FAMILY_CASES,
    LOSS_KEYS,
    on_policy,
    quick_kwargs,
    train_once,
    trained,
)
from tests.device_contract import META, model_to_meta, parameters_kept

CASES = [
    pytest.param(case.values[0].fade_class, case.values[1], id=case.id) for case in FAMILY_CASES
]


def _filled(algorithm: type, env_id: str, **kwargs: Any) -> Any:
    # 64 steps fill the replay buffer (PPO: collect a rollout of 32) on the CPU
    return trained(
        algorithm, env_id, 64, net_arch=[16], seed=0, **quick_kwargs(algorithm, 32, 8), **kwargs
    )


def _record_reads(model: Any) -> list[dict[str, list[th.Tensor]]]:
    reads: list[dict[str, list[th.Tensor]]] = []
    model._record_train_means = reads.append
    return reads


@pytest.mark.parametrize(("algorithm", "env_id"), CASES)
def test_train_runs_on_meta_and_reads_the_host_once(algorithm: type, env_id: str) -> None:
    model = model_to_meta(_filled(algorithm, env_id))
    reads = _record_reads(model)
    train_once(model, 4, 8)  # raises on any sync or CPU tensor; PPO: 32 / 8 minibatches

    assert len(reads) == 1  # one host read per train() call, not one per gradient step
    values = reads[0]
    assert len(values[LOSS_KEYS[model.family.name]]) == 4
    assert all(t.device == META for tensors in values.values() for t in tensors)
    optimizer = model.fade_optimizer
    for head in model.fade_heads.values():
        assert optimizer.state[head.weight]["log_decay"].device == META
    body = next(p for g in optimizer.param_groups if g.get("body") for p in g["params"])
    assert optimizer.state[body]["exp_avg"].device == META  # the body's optimizer ran too


@pytest.mark.parametrize(("algorithm", "env_id"), CASES)
def test_the_one_host_read_logs_the_means(algorithm: type, env_id: str) -> None:
    model = _filled(algorithm, env_id)
    reads = _record_reads(model)
    train_once(model, 3, 8)
    del model._record_train_means  # the real one, on what the recorder saw
    model._record_train_means(reads[0])
    logged = model.logger.name_to_value
    for name, tensors in reads[0].items():
        if tensors:
            expected = th.cat([t.reshape(-1) for t in tensors]).mean().item()
            assert logged[f"train/{name}"] == pytest.approx(expected, rel=1e-6), name


class _Calls(TorchFunctionMode):
    """The names of the torch functions and tensor methods called inside the block."""

    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        self.names.append(getattr(func, "__name__", repr(func)))
        return func(*args, **(kwargs or {}))


def _dqn_curvature_calls(device: th.device) -> list[str]:
    model = FadeDQN("MlpPolicy", "CartPole-v1", policy_kwargs=dict(net_arch=[16]), seed=0)
    if device == META:
        model_to_meta(model)
    head = model.fade_heads["q_net"]
    for p in (head.weight, head.bias):
        p.grad = th.zeros_like(p)
    passes = {"q_net": CriticPass(head_input=th.ones(8, 16, device=device))}
    batch = SimpleNamespace(actions=th.zeros(8, 1, dtype=th.long, device=device))
    q_values = {"q_net": th.zeros(8, 2, device=device)}
    taken = {"q_net": th.full((8, 1), 0.5, device=device)}  # td errors 0.5 against zeros
    targets = th.zeros(8, 1, device=device)
    total_norm = th.tensor(20.0, device=device)
    with _Calls() as calls:
        loss_pass = LossPass(batch, q_values, taken, targets)
        c = model.family.output_hessian(model, loss_pass, total_norm)
        model._set_heads_curvature(passes, c)
    return calls.names


def test_dqn_curvature_takes_one_code_path_on_cpu_and_on_meta() -> None:
    """Old code: the CPU read the clip factor with float(total_norm); other devices did not."""
    cpu = _dqn_curvature_calls(th.device("cpu"))
    assert cpu == _dqn_curvature_calls(META)
    assert "__float__" not in cpu and "item" not in cpu


@pytest.fixture
def cpu_checkpoint(algorithm: type, env_id: str, tmp_path: Path) -> tuple[Any, Path]:
    """A filled model of the test's ``algorithm`` and ``env_id``, and its checkpoint."""
    model = _filled(algorithm, env_id)
    model.save(tmp_path / "cpu.zip")
    return model, tmp_path / "cpu.zip"


def _train_on_from(loaded: Any, model: Any) -> None:
    """``loaded`` trains on ``model``'s replay buffer (PPO: rollout buffer), moved to its
    device, logs to its logger, and has its host reads recorded."""
    name = "rollout_buffer" if on_policy(type(model)) else "replay_buffer"
    setattr(loaded, name, getattr(model, name))
    getattr(loaded, name).device = loaded.device
    loaded.set_logger(model.logger)
    _record_reads(loaded)


@pytest.mark.parametrize(("algorithm", "env_id"), CASES)
def test_a_cpu_checkpoint_loads_onto_another_device_with_its_optimizer_state(
    algorithm: type, cpu_checkpoint: tuple[Any, Path]
) -> None:
    model, checkpoint = cpu_checkpoint
    with parameters_kept():
        loaded = algorithm.load(checkpoint, device="meta")

    assert loaded.device == META
    assert all(p.device == META for p in loaded.policy.parameters())
    saved, restored = model.fade_optimizer.state_dict(), loaded.fade_optimizer.state_dict()
    assert saved["state"].keys() == restored["state"].keys()
    for index, state in saved["state"].items():
        for key, value in state.items():
            other = restored["state"][index][key]
            if th.is_tensor(value) and key == "step":  # torch keeps Adam's step on the CPU
                assert other.device.type == "cpu", index
            elif th.is_tensor(value):
                assert other.device == META and other.shape == value.shape, (index, key)
            else:
                assert other == value and type(other) is int, (index, key)  # FADE's step
    _train_on_from(loaded, model)
    train_once(loaded, 2, 8)  # trains on the new device


@pytest.mark.skipif(th.cuda.is_available(), reason="checks the fallback on a machine without CUDA")
@pytest.mark.parametrize(("algorithm", "env_id"), CASES)
def test_cuda_without_cuda_warns_and_falls_back_to_cpu(algorithm: type, env_id: str) -> None:
    with pytest.warns(UserWarning, match=rf"{algorithm.__name__}: device='cuda' .* runs on cpu"):
        model = algorithm("MlpPolicy", env_id, policy_kwargs=dict(net_arch=[8]), device="cuda")
    assert model.device.type == "cpu"


@pytest.mark.skipif(not th.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize(("algorithm", "env_id"), CASES)
def test_cuda_train_has_no_sync_and_a_cpu_checkpoint_resumes_there(
    algorithm: type, cpu_checkpoint: tuple[Any, Path]
) -> None:
    model, checkpoint = cpu_checkpoint
    loaded = algorithm.load(checkpoint, device="cuda")
    _train_on_from(loaded, model)
    train_once(loaded, 2, 8)  # lazy state, cuBLAS handles
    th.cuda.set_sync_debug_mode("error")
    try:
        train_once(loaded, 2, 8)
    finally:
        th.cuda.set_sync_debug_mode("default")
