"""Episode and shift bookkeeping of a run, from the environments' ``info`` dicts.

The library's one implementation of it. Per environment copy it keeps the finished episodes
and the shifts (steps counted on that copy's own clock, for the shift statistics), returns
env 0's episodes for logging, turns env 0's closed segments into the scalars of
:func:`~fade_rl.metrics.shifts.shift_statistics` (the registry's ``closed_segment``
metrics), and lists each step's new episodes and shifts as JSON-able records on the global
step clock (:attr:`EpisodeLog.events`), for a run's episode file. Several callbacks may
share one log: :meth:`EpisodeLog.track` counts a vectorised step once, whichever of them
calls it first.

Step conventions of :attr:`EpisodeLog.events` (``n_envs`` copies, ``num_timesteps`` SB3's
global count after the step): an episode's ``step`` is ``num_timesteps`` of the step it
ended on; a shift's ``step`` is ``num_timesteps - n_envs``, the global count before the
first step run under the new values.

Example:
    >>> log = EpisodeLog(n_envs=1)
    >>> log.track([{"shift": True, "segment": 1}], num_timesteps=1)
    True
    >>> _ = log.track([{"episode": {"r": 5.0, "l": 2}}], num_timesteps=2)
    >>> log.shifts[0], log.episodes[0]
    ([Shift(step=0, segment=1, values=None)], [Episode(end_step=2, ret=5.0, length=2)])
    >>> log.events
    [{'kind': 'episode', 'step': 2, 'env': 0, 'return': 5.0, 'length': 2}]
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import astuple
from typing import Any

import numpy as np

from fade_rl.metrics import registry
from fade_rl.metrics.shifts import Episode, SegmentStats, Shift, return_area, shift_statistics

__all__ = ["EpisodeLog", "values_key"]


def values_key(values: Any) -> Hashable:
    """A hashable key of an ``info["shift_values"]`` dict (tuples and arrays made hashable)."""
    if not isinstance(values, dict):
        return None

    def freeze(v: Any) -> Hashable:
        if isinstance(v, np.ndarray):
            return tuple(v.tolist())
        if isinstance(v, np.generic):
            return v.item()
        if isinstance(v, (list, tuple)):
            return tuple(freeze(x) for x in v)
        return v

    return tuple(sorted((str(k), freeze(v)) for k, v in values.items()))


class EpisodeLog:
    """Episodes and shifts per environment copy, and env 0's segment statistics.

    Args:
        n_envs: environment copies.
        share, window, recovery_window, reference: as in
            :func:`~fade_rl.metrics.shifts.shift_statistics`.

    Example:
        >>> log = EpisodeLog(n_envs=1, window=2, recovery_window=1)
        >>> def ended(ret):
        ...     return {"episode": {"r": ret, "l": 2}}
        >>> infos = [ended(10.0), {}, {"shift": True, "segment": 1}, ended(4.0), ended(9.5)]
        >>> for t, info in enumerate(infos, start=1):
        ...     _ = log.track([info], num_timesteps=t)
        >>> [(s.segment, s.return_before, s.return_after) for s in log.statistics(final=True)]
        [(0, None, None), (1, 10.0, 6.75)]
        >>> log.summary()["final/recovery_steps"]  # 90% of 10.0 regained 3 steps after the shift
        3.0
    """

    def __init__(
        self,
        n_envs: int = 0,
        share: float = 0.9,
        window: int = 10,
        recovery_window: int = 5,
        reference: str = "previous",
    ) -> None:
        self.share, self.window = share, window
        self.recovery_window, self.reference = recovery_window, reference
        self.episodes: list[list[Episode]] = [[] for _ in range(n_envs)]
        self.shifts: list[list[Shift]] = [[] for _ in range(n_envs)]
        self.initial_values: list[Hashable] = [None] * n_envs
        self.env_steps = 0  # steps of one environment copy so far
        self.pending_returns: list[tuple[int, float]] = []  # env 0's, not yet logged
        self.closed_segments = 0  # env 0's segments whose statistics were logged
        self.segment: int | None = None  # env 0's info["segment"], once an env reports one
        #: The last tracked step's new episodes and env 0's shifts (see the module doc).
        self.events: list[dict[str, Any]] = []
        self._tracked: tuple[int, bool] | None = None  # (num_timesteps, shifted) last tracked

    def ensure_envs(self, n_envs: int) -> None:
        """Start empty records for ``n_envs`` copies unless they are already there."""
        if len(self.episodes) != n_envs:
            self.episodes = [[] for _ in range(n_envs)]
            self.shifts = [[] for _ in range(n_envs)]
            self.initial_values = [None] * n_envs

    def track(self, infos: Sequence[dict[str, Any]], num_timesteps: int) -> bool:
        """Record one vectorised step's ``infos``; True when environment 0 shifted on it.

        A second call for the same ``num_timesteps`` (another callback sharing this log)
        records nothing and answers the same.
        """
        if self._tracked is not None and self._tracked[0] == num_timesteps:
            return self._tracked[1]
        step = self.env_steps  # index of this step on each copy's clock
        self.env_steps += 1
        self.events = []
        shifted = False
        for i, info in enumerate(infos):
            if step == 0 and i < len(self.initial_values) and not self.shifts[i]:
                self.initial_values[i] = values_key(info.get("shift_values"))
            if i == 0 and "segment" in info:
                self.segment = int(info["segment"])
            if info.get("shift"):
                segment = info.get("segment")
                segment = len(self.shifts[i]) + 1 if segment is None else int(segment)
                self.shifts[i].append(Shift(step, segment, values_key(info.get("shift_values"))))
                shifted = shifted or i == 0
                if i == 0:
                    self.events.append(
                        {
                            "kind": "shift",
                            "step": num_timesteps - len(infos),
                            "segment": segment,
                            "values": info.get("shift_values"),
                        }
                    )
            episode = info.get("episode")
            if episode is not None:
                ret, length = float(episode["r"]), int(episode.get("l", 0))
                self.episodes[i].append(Episode(step + 1, ret, length))
                record = {"kind": "episode", "step": num_timesteps, "env": i, "return": ret}
                self.events.append({**record, "length": length})
                if i == 0:
                    self.pending_returns.append((num_timesteps, ret))
        self._tracked = (num_timesteps, shifted)
        return shifted

    def take_pending_returns(self) -> dict[int, float]:
        """Env 0's returns not yet logged, by the step they ended at (the last one per step)."""
        by_step = dict(self.pending_returns)
        self.pending_returns = []
        return by_step

    def statistics(self, env: int = 0, final: bool = False) -> list[SegmentStats]:
        """Per-segment statistics of copy ``env``; the last segment ends now (``final``: +1)."""
        end = self.env_steps + (1 if final else 0)
        return shift_statistics(
            self.episodes[env],
            self.shifts[env],
            share=self.share,
            window=self.window,
            recovery_window=self.recovery_window,
            reference=self.reference,  # type: ignore[arg-type]
            end=max(end, 1),
            initial_values=self.initial_values[env],
        )

    def close_segments(self, final: bool) -> list[dict[str, float]]:
        """Scalars of env 0's segments that closed since the last call.

        With ``final`` (the end of a ``learn`` call) the running segment is included as it
        stands; it is reported again when it really closes, if training goes on.
        """
        if not self.episodes:
            return []
        stats = self.statistics(0, final=final)
        closed = stats if final else stats[:-1]
        out = [registry.tagged("closed_segment", s) for s in closed[self.closed_segments :]]
        self.closed_segments = max(self.closed_segments, len(stats) - 1)
        return out

    def summary(self) -> dict[str, float]:
        """``final/{return, mean_return, recovered, recovery_steps}`` of env 0 (see callback)."""
        out: dict[str, float] = {}
        if not self.episodes or not self.episodes[0]:
            return out
        recent = self.episodes[0][-self.window :]
        out["final/return"] = sum(e.ret for e in recent) / len(recent)
        whole = return_area(self.episodes[0], 0, self.env_steps + 1)
        if whole is not None:
            out["final/mean_return"] = whole[1]
        stats = self.statistics(0, final=True)
        shifted = [s for s in stats if s.segment > 0 and s.reference_return is not None]
        if shifted:
            recovered = [s.recovery_steps for s in shifted if s.recovery_steps is not None]
            out["final/recovered"] = len(recovered) / len(shifted)
            if recovered:
                out["final/recovery_steps"] = sum(recovered) / len(recovered)
        return out

    def state_dict(self) -> dict[str, Any]:
        """Everything above as lists, tuples and numbers (``weights_only`` loadable)."""
        return {
            "episodes": [[astuple(e) for e in env] for env in self.episodes],
            "shifts": [[astuple(s) for s in env] for env in self.shifts],
            "initial_values": list(self.initial_values),
            "closed_segments": self.closed_segments,
            "env_steps": self.env_steps,
            "pending_returns": list(self.pending_returns),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self.episodes = [[Episode(*e) for e in env] for env in state["episodes"]]
        self.shifts = [[Shift(*s) for s in env] for env in state["shifts"]]
        self.initial_values = list(state["initial_values"])
        self.closed_segments = state["closed_segments"]
        self.env_steps = state["env_steps"]
        self.pending_returns = [(int(s), float(r)) for s, r in state["pending_returns"]]
