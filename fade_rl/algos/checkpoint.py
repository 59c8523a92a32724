"""FADE checkpoints: SB3 zips marked as FADE's, refused by the wrong loader with a clear error.

A zip saved by FadeDQN/FadeSAC/FadeTD3 holds FADE's optimizer state, which SB3's
own ``DQN.load`` cannot restore. :class:`FadeCheckpointMixin` stores a marker in
the zip's data whose unpickling (what a vanilla loader does) raises
:class:`FadeCheckpointError` naming the loader that was called and the one to
use; ``FadeXXX.load`` replaces the marker and refuses zips it cannot restore.
"""

from __future__ import annotations

import inspect
import io
import json
import os
import pathlib
import zipfile
from collections.abc import Iterable
from typing import Any, ClassVar

import torch as th
from stable_baselines3.common.save_util import open_path, recursive_getattr

from fade_rl.optim import step_counts_to_cpu

__all__ = ["FadeCheckpointError", "FadeCheckpointMixin", "read_zip_data"]

#: Name of the data entry that marks a zip as a FADE checkpoint.
_MARKER_KEY = "_fade_checkpoint"
#: Name of the JSON data entry naming the FADE algorithm class that saved a zip.
_ALGORITHM_KEY = "fade_algorithm"


class FadeCheckpointError(ValueError):
    """A FADE checkpoint was opened with a loader that cannot restore it (or the reverse).

    Example:
        SB3's own ``DQN.load`` refuses a FadeDQN zip, naming the loader to use:

        >>> import io
        >>> from stable_baselines3 import DQN
        >>> from fade_rl.algos import FadeDQN
        >>> model = FadeDQN("MlpPolicy", "CartPole-v1", policy_kwargs=dict(net_arch=[8]),
        ...                 learning_starts=0, buffer_size=100)
        >>> zip_file = io.BytesIO()
        >>> model.save(zip_file)
        >>> _ = zip_file.seek(0)
        >>> DQN.load(zip_file)
        Traceback (most recent call last):
        ...
        fade_rl.algos.checkpoint.FadeCheckpointError: This zip was saved by fade_rl's FadeDQN: ...
    """


def _calling_loader() -> str:
    """The name of the SB3 class whose ``load`` is on the stack (``"SAC"``), or SB3's ``load``."""
    frame = inspect.currentframe()
    while frame is not None:
        cls = frame.f_locals.get("cls")
        if frame.f_code.co_name == "load" and isinstance(cls, type):
            return f"{cls.__name__}.load"
        frame = frame.f_back
    return "load"


def _refuse_non_fade_load(algorithm: str) -> None:
    """Called when a vanilla SB3 loader unpickles a FADE checkpoint's marker."""
    raise FadeCheckpointError(
        f"This zip was saved by fade_rl's {algorithm}: its critic is optimized by FADE, whose "
        f"state SB3's {_calling_loader()} cannot restore. Open it with "
        f"`from fade_rl import {algorithm}; {algorithm}.load(path, env=...)`."
    )


class _FadeCheckpointMarker:
    """Saved in every FADE zip. Unpickling it (what vanilla SB3 loaders do) raises a clear error.

    ``FadeXXX.load`` hands SB3 a replacement through ``custom_objects``, so the
    stored object is never unpickled there.
    """

    def __init__(self, algorithm: str) -> None:
        self.algorithm = algorithm

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (_refuse_non_fade_load, (self.algorithm,))


def read_zip_data(path: str | pathlib.Path | io.BufferedIOBase) -> dict[str, Any]:
    """The raw JSON ``data`` entry of an SB3 zip (no unpickling).

    Raises:
        FileNotFoundError: naming ``path`` as given, when neither it nor ``path + ".zip"``
            exists (SB3's own message names only the ``.zip`` variant).
    """
    if isinstance(path, (str, pathlib.Path)):
        given = os.fspath(path)
        if not os.path.exists(given) and not os.path.exists(given + ".zip"):
            raise FileNotFoundError(f"{given}: no such file (nor {given}.zip)")
    file = open_path(path, "r", verbose=0, suffix="zip")
    position = file.tell()
    try:
        with zipfile.ZipFile(file) as archive:
            if "data" not in archive.namelist():
                return {}
            return json.loads(archive.read("data").decode())
    finally:
        if isinstance(path, (str, pathlib.Path)):
            file.close()
        else:
            file.seek(position)


class FadeCheckpointMixin:
    """``save`` marks the zip as a FADE checkpoint; ``load`` opens only its own class's zips.

    Mixed into :class:`~fade_rl.algos.common.FadeAlgorithmMixin`; the class
    attribute ``sb3_class`` names the vanilla SB3 algorithm.

    Example:
        A FadeDQN zip loads back as a FadeDQN, its heads in FADE again; another FADE
        algorithm's ``load`` refuses it:

        >>> import io
        >>> from fade_rl.algos import FadeDQN, FadeSAC
        >>> model = FadeDQN("MlpPolicy", "CartPole-v1", policy_kwargs=dict(net_arch=[8]),
        ...                 learning_starts=0, buffer_size=100)
        >>> zip_file = io.BytesIO()
        >>> model.save(zip_file)
        >>> _ = zip_file.seek(0)
        >>> loaded = FadeDQN.load(zip_file)
        >>> type(loaded).__name__, type(loaded.fade_optimizer).__name__, loaded.fade_heads
        ('FadeDQN', 'FADE', {'q_net': Linear(in_features=8, out_features=2, bias=True)})
        >>> _ = zip_file.seek(0)
        >>> FadeSAC.load(zip_file)
        Traceback (most recent call last):
        ...
        fade_rl.algos.checkpoint.FadeCheckpointError: ... was saved by FadeDQN; open it with ...
    """

    sb3_class: ClassVar[type]

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "_fade_parts", "_fade_networks"]  # type: ignore[misc]

    def save(self, path: Any, exclude: Iterable[str] | None = None, include: Any = None) -> None:
        """Save as SB3 does, marked as a FADE checkpoint (see :meth:`load`)."""
        self.__dict__[_MARKER_KEY] = _FadeCheckpointMarker(type(self).__name__)
        self.__dict__[_ALGORITHM_KEY] = type(self).__name__
        try:
            super().save(path, exclude=exclude, include=include)  # type: ignore[misc]
        finally:
            self.__dict__.pop(_MARKER_KEY, None)

    @classmethod
    def load(  # type: ignore[override]
        cls,
        path: str | pathlib.Path | io.BufferedIOBase,
        env: Any = None,
        device: th.device | str = "auto",
        custom_objects: dict[str, Any] | None = None,
        print_system_info: bool = False,
        force_reset: bool = True,
        **kwargs: Any,
    ) -> Any:
        """Load a zip saved by this FADE algorithm, FADE state included, onto ``device``.

        Tensors saved on one device load onto another (``device="cpu"`` for a CUDA
        checkpoint), the optimizer state with them; torch optimizers' step counts
        go back to the CPU, where torch reads them without a device sync. A zip of the vanilla SB3
        algorithm is refused with a pointer to :func:`~fade_rl.algos.attach_fade`.
        """
        saved_by = read_zip_data(path).get(_ALGORITHM_KEY)
        base = cls.sb3_class.__name__
        if saved_by is None:
            shown = os.fspath(path) if isinstance(path, (str, pathlib.Path)) else "path"
            raise FadeCheckpointError(
                f"{path} is not a {cls.__name__} checkpoint (no FADE state in it): load it with "
                f"SB3's {base}.load, or turn it into a {cls.__name__} with "
                f"`fade_rl.attach_fade({shown!r})`."
            )
        if saved_by != cls.__name__:
            raise FadeCheckpointError(
                f"{path} was saved by {saved_by}; open it with {saved_by}.load, "
                f"not {cls.__name__}.load"
            )
        custom_objects = {**(custom_objects or {}), _MARKER_KEY: None}
        model = super().load(  # type: ignore[misc]
            path,
            env=env,
            device=device,
            custom_objects=custom_objects,
            print_system_info=print_system_info,
            force_reset=force_reset,
            **kwargs,
        )
        model.__dict__.pop(_MARKER_KEY, None)
        for name in model._get_torch_save_params()[0]:
            optimizer = recursive_getattr(model, name)
            if isinstance(optimizer, th.optim.Optimizer):  # the actor's, the entropy's, FADE's
                step_counts_to_cpu(optimizer)
        return model
