"""Where the callback's values go: kept in memory and written to SB3's TensorBoard output.

Each value is written at the step it was measured, straight to the event file, so what
SB3 itself records between its dumps is not disturbed.

Example:
    >>> import torch
    >>> writer = Writer()
    >>> writer.write({"a": 1.0}, {}, step=10)
    >>> writer.history, writer.latest
    ([(10, {'a': 1.0})], {'a': 1.0})
"""

from __future__ import annotations

from typing import Any

import torch as th
from stable_baselines3.common.logger import Logger, TensorBoardOutputFormat

__all__ = ["Writer"]


class Writer:
    """Values by step (:attr:`history`), the last of each tag (:attr:`latest`), TensorBoard.

    Example:
        >>> import shutil, tempfile
        >>> folder = tempfile.mkdtemp()
        >>> writer = Writer()
        >>> writer.attach(Logger(folder, [TensorBoardOutputFormat(folder)]))
        >>> writer.write({"plasticity/srank": 3}, {}, step=5)
        >>> writer.write({"plasticity/srank": 2}, {}, step=9, flush=False)
        >>> writer.flush()
        >>> writer.latest, [step for step, _ in writer.history]
        ({'plasticity/srank': 2.0}, [5, 9])
        >>> for output in writer.outputs:
        ...     output.close()
        >>> shutil.rmtree(folder)
    """

    def __init__(self) -> None:
        self.history: list[tuple[int, dict[str, float]]] = []
        self.latest: dict[str, float] = {}
        self.outputs: list[TensorBoardOutputFormat] = []

    def attach(self, logger: Logger) -> None:
        """Write to the TensorBoard outputs of an SB3 logger (none: memory only)."""
        self.outputs = [f for f in logger.output_formats if isinstance(f, TensorBoardOutputFormat)]

    def write(
        self, scalars: dict[str, float], hists: dict[str, th.Tensor], step: int, flush: bool = True
    ) -> None:
        """Record values at ``step`` and send them to TensorBoard.

        SB3's TensorBoard output flushes the event file on every write, which costs more
        than the write itself; ``flush=False`` (scalars only) leaves that to the next write.
        """
        if not scalars and not hists:
            return
        scalars = {k: float(v) for k, v in scalars.items()}
        self.history.append((step, scalars))
        self.latest.update(scalars)
        if not flush and not hists:
            for output in self.outputs:
                for tag, value in scalars.items():
                    output.writer.add_scalar(tag, value, step)
            return
        values: dict[str, Any] = {**scalars, **hists}
        excluded: dict[str, tuple[str, ...]] = {k: () for k in values}
        for output in self.outputs:
            output.write(values, excluded, step)

    def flush(self) -> None:
        """Flush the event files."""
        for output in self.outputs:
            output.writer.flush()
