"""The run key: a per-user secret that signs the checkpoint files a resume unpickles.

A checkpoint holds pickles (``replay_buffer.pkl``, ``env.pkl``, and SB3's ``model.zip``,
whose ``data`` entry SB3 reads with ``cloudpickle``), and unpickling runs code. A SHA-256
in ``state.json`` proves only that a file is intact: anyone who can write the folder can
rewrite it. So every checkpoint file also carries an HMAC-SHA256 under a key that the
folder does not hold, and a resume checks it before anything is unpickled: a folder made
(or edited) by someone without the key is refused.

The key lives in ``$FADE_RL_RUN_KEY_FILE`` if set, else in
``$XDG_CONFIG_HOME/fade-rl/run-key`` (``~/.config/fade-rl/run-key``); it is made, readable
by its owner only, on first use. Machines that resume each other's runs (a cluster on a
shared file system) share the key by pointing ``FADE_RL_RUN_KEY_FILE`` at one copy.

    >>> import os, tempfile
    >>> from pathlib import Path
    >>> from fade_rl.experiments.runs.run_key import RunKey
    >>> folder = Path(tempfile.mkdtemp())
    >>> key = RunKey(folder / "run-key")
    >>> (folder / "env.pkl").write_bytes(b"pickled")
    7
    >>> tag = key.sign(folder / "env.pkl")
    >>> key.matches(folder / "env.pkl", tag), oct(os.stat(folder / "run-key").st_mode & 0o777)
    (True, '0o600')
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from fade_rl.experiments.runs.atomic import sync_dir
from fade_rl.experiments.runs.folder import RunError

__all__ = ["KEY_ENV", "RunKey", "UntrustedRunError", "default_key_file"]

#: The environment variable that names the run key's file.
KEY_ENV = "FADE_RL_RUN_KEY_FILE"


class UntrustedRunError(RunError):
    """A run folder holds a file that this user's run key did not sign.

    Example (a checkpoint whose ``state.json`` carries no signature; nothing is unpickled):
        >>> import json, tempfile
        >>> from pathlib import Path
        >>> from fade_rl.experiments.runs.checkpoint import load_checkpoint
        >>> from fade_rl.experiments.runs.folder import RunFolder
        >>> run = Path(tempfile.mkdtemp())
        >>> (run / "checkpoints" / "step_5").mkdir(parents=True)
        >>> _ = (run / "checkpoints" / "step_5" / "state.json").write_text('{"step": 5}')
        >>> load_checkpoint(RunFolder(run), config=None, recorder=None, methods=[])
        Traceback (most recent call last):
        ...
        fade_rl.experiments.runs.run_key.UntrustedRunError: ...state.json is not signed by ...
    """


def default_key_file() -> Path:
    """``$FADE_RL_RUN_KEY_FILE``, else ``$XDG_CONFIG_HOME/fade-rl/run-key`` (or ``~/.config``)."""
    named = os.environ.get(KEY_ENV)
    if named:
        return Path(named).expanduser()
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "fade-rl" / "run-key"


class RunKey:
    """The secret that signs checkpoint files (read from, or made at, ``path``).

    Example (a file edited after signing no longer matches its tag):
        >>> import tempfile
        >>> from pathlib import Path
        >>> folder = Path(tempfile.mkdtemp())
        >>> key = RunKey(folder / "run-key")  # made on first use, mode 0600
        >>> state = folder / "state.json"
        >>> _ = state.write_text('{"step": 100}')
        >>> tag = key.sign(state)
        >>> len(tag), key.matches(state, tag)
        (64, True)
        >>> _ = state.write_text('{"step": 200}')
        >>> key.matches(state, tag), RunKey(folder / "run-key").matches(folder / "run-key", "x")
        (False, False)
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_key_file()
        self._secret: bytes | None = None

    def secret(self) -> bytes:
        """The key's bytes; made (32 random bytes, mode 0600) when its file does not exist."""
        if self._secret is None:
            self._secret = self._read_or_make()
        return self._secret

    def _read_or_make(self) -> bytes:
        fix = f"delete it to make a new one (runs signed with it cannot resume), or set {KEY_ENV}"
        if not self.path.exists():
            self._make()
        mode = self.path.stat().st_mode
        if mode & 0o077:
            raise RunError(
                f"run key {self.path} is readable by other users (mode {oct(mode & 0o777)}); "
                f"chmod 600 it, or {fix}"
            )
        text = self.path.read_text().strip()
        if len(text) < 32:
            raise RunError(f"run key {self.path} is empty or too short; {fix}")
        return text.encode()

    def _make(self) -> None:
        """Write a new key whole, then link it into place: a concurrent first run (a
        sweep's workers) either makes it or reads the one made, never a partial file."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(8)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, self.path)
        except FileExistsError:  # made by a concurrent run a moment ago: use that one
            pass
        finally:
            tmp.unlink()
        sync_dir(self.path.parent)

    def mac(self) -> hmac.HMAC:
        """A fresh HMAC-SHA256 under this key (feed it a file's bytes)."""
        return hmac.new(self.secret(), digestmod=hashlib.sha256)

    def sign(self, path: Path) -> str:
        """The HMAC-SHA256 (hex) of the file at ``path``."""
        mac = self.mac()
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                mac.update(block)
        return mac.hexdigest()

    def matches(self, path: Path, tag: object) -> bool:
        """Whether ``tag`` is this key's signature of the file at ``path``."""
        return isinstance(tag, str) and hmac.compare_digest(self.sign(path), tag)
