"""Resuming never unpickles a file that the user's run key did not vouch for."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
from pathlib import Path
from typing import Any

import pytest

from fade_rl.experiments.runs.config import validate_config
from fade_rl.experiments.runs.folder import RunError
from fade_rl.experiments.runs.run import run_dir_for, train_run
from fade_rl.experiments.runs.run_key import RunKey

from ..helpers import fast_config

KEY_ENV = "FADE_RL_RUN_KEY_FILE"


class _Payload:
    """Unpickling it creates ``marker``: the code a hostile pickle would run."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.marker), "w"))


def _config() -> Any:
    data = fast_config(n_timesteps=600)
    data["logging"].update(checkpoint_interval=300, keep_checkpoints=2)
    return validate_config(data)


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished run with checkpoints at steps 300 and 600; returns its log folder."""
    root = tmp_path_factory.mktemp("signed")
    train_run(_config(), root)
    return root


def _killed_copy(finished: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the run as if killed after its last checkpoint: (log folder, checkpoint)."""
    root = tmp_path / "runs"
    shutil.copytree(finished, root)
    run_dir = run_dir_for(root, _config())
    (run_dir / "summary.json").unlink()
    return root, run_dir / "checkpoints" / "step_600"


def _plant(checkpoint: Path, name: str, marker: Path, listed: bool = True) -> None:
    """Replace ``name`` by a hostile pickle and rewrite its checksum in ``state.json``."""
    data = pickle.dumps(_Payload(marker))
    (checkpoint / name).write_bytes(data)
    state = json.loads((checkpoint / "state.json").read_text())
    if listed:
        state["files"][name] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    else:
        state["files"].pop(name, None)
    (checkpoint / "state.json").write_text(json.dumps(state, indent=1))


@pytest.mark.parametrize("name", ["env.pkl", "replay_buffer.pkl", "model.zip"])
def test_a_forged_checkpoint_is_refused_before_anything_is_unpickled(
    finished: Path, tmp_path: Path, name: str
) -> None:
    root, checkpoint = _killed_copy(finished, tmp_path)
    marker = tmp_path / "pwned"
    _plant(checkpoint, name, marker)
    with pytest.raises(RunError) as info:
        train_run(_config(), root)
    message = str(info.value)
    assert not marker.exists(), "a forged pickle was unpickled"
    assert "\n" not in message and "state.json" in message
    assert "--restart" in message and KEY_ENV in message
    assert checkpoint.is_dir()  # refused, not taken for damage and moved aside


def test_a_pickle_the_signed_state_does_not_list_is_refused(finished: Path, tmp_path: Path) -> None:
    root, checkpoint = _killed_copy(finished, tmp_path)
    marker = tmp_path / "pwned"
    _plant(checkpoint, "replay_buffer.pkl", marker, listed=False)
    key = RunKey()  # this user's own key: state.json is genuinely signed, the pickle is extra
    (checkpoint / "state.json.hmac").write_text(key.sign(checkpoint / "state.json"))
    with pytest.raises(RunError, match=r"replay_buffer\.pkl is not listed"):
        train_run(_config(), root)
    assert not marker.exists()


def test_a_run_resumes_only_with_the_key_that_signed_it(
    finished: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, _ = _killed_copy(finished, tmp_path)
    own = os.environ.get(KEY_ENV)
    monkeypatch.setenv(KEY_ENV, str(tmp_path / "someone-else" / "run-key"))
    with pytest.raises(RunError, match="not signed by this user's run key"):
        train_run(_config(), root)
    assert (tmp_path / "someone-else" / "run-key").stat().st_mode & 0o777 == 0o600
    if own is None:
        monkeypatch.delenv(KEY_ENV)
    else:
        monkeypatch.setenv(KEY_ENV, own)
    assert train_run(_config(), root)["status"] == "completed"  # the same folder, its own key


def test_a_key_others_can_read_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "run-key"
    path.write_text("0" * 64)
    path.chmod(0o644)
    monkeypatch.setenv(KEY_ENV, str(path))
    with pytest.raises(RunError, match=r"readable by other users.*chmod 600") as info:
        RunKey().secret()
    assert "\n" not in str(info.value)


def _secret(path: str, out: Any) -> None:
    out.put(RunKey(path).secret())


def test_concurrent_first_runs_share_one_whole_key(tmp_path: Path) -> None:
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    out = ctx.Queue()
    path = str(tmp_path / "new" / "run-key")
    procs = [ctx.Process(target=_secret, args=(path, out)) for _ in range(4)]
    for proc in procs:
        proc.start()
    secrets = {out.get(timeout=60) for _ in procs}
    for proc in procs:
        proc.join()
    assert len(secrets) == 1 and len(secrets.pop()) == 64
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == ["run-key"]


def test_the_cli_refuses_a_forged_folder_in_one_line(
    finished: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from fade_rl.cli import main

    from ..helpers import write_config

    root, checkpoint = _killed_copy(finished, tmp_path)
    marker = tmp_path / "pwned"
    _plant(checkpoint, "env.pkl", marker)
    data = fast_config(n_timesteps=600)
    data["logging"].update(checkpoint_interval=300, keep_checkpoints=2)
    config = write_config(tmp_path / "c.yaml", data)
    capsys.readouterr()
    assert main(["train", "--config", str(config), "-f", str(root), "--no-progress"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is not signed by this user's run key" in err[0], err
    assert not marker.exists()
