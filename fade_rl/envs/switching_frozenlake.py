"""FrozenLake whose goal moves: the switching-goal lake of the primacy-bias study.

"It's Time to Move On: Primacy Bias and Why It Helps to Forget" (ICLR 2024 blog track,
code: github.com/mkielo3/iclr-blog2024-primacy-bias) trains DQN on a deterministic 2x2
FrozenLake whose map changes after 200 episodes (crossings)::

    before  S H      after  S F
            F G             H G

The old route (down, right) now falls into the hole; the agent has to unlearn it and find
the new one (right, down). Its DQN sees the one-hot of the agent's cell and plays at most
2 steps per episode.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.envs.toy_text.frozen_lake import FrozenLakeEnv

from fade_rl.envs.core import derive_seed
from fade_rl.envs.schedules import Schedule, ScheduleLike, make_schedule
from fade_rl.envs.schedules.base import switching_values

__all__ = ["BLOG_MAPS", "LEVEL_MAPS", "SwitchingFrozenLake"]

#: The two maps of the blog's ``make_env``: goal route down-right, then right-down.
BLOG_MAPS: tuple[tuple[str, ...], ...] = (("SH", "FG"), ("SF", "HG"))
#: Ten different 3x3 maps (start top-left; the goal and the holes move, every route 3 or 4
#: steps long, so that a random walk rarely finds it), for a lake whose every level is new:
#: no level returns to a map an agent has learned before.
LEVEL_MAPS: tuple[tuple[str, ...], ...] = (
    ("SFF", "FHF", "FFG"),
    ("SHF", "FFF", "FHG"),
    ("SFH", "FFF", "HFG"),
    ("SHF", "FFG", "FFF"),
    ("SFF", "FFG", "HFF"),
    ("SFF", "FHF", "FGF"),
    ("SFF", "HFF", "FGF"),
    ("SHF", "FHF", "FFG"),
    ("SFF", "FFH", "HFG"),
    ("SFF", "FFF", "FHG"),
)
#: The blog's switch: map 0 for the first 200 episodes, map 1 after.
BLOG_SCHEDULE: dict[str, Any] = {"type": "piecewise", "boundaries": [200], "values": [0, 1]}


def _check_maps(maps: Any) -> list[list[str]]:
    where = "SwitchingFrozenLake"
    if isinstance(maps, (str, bytes)) or not isinstance(maps, Sequence) or len(maps) < 2:
        raise ValueError(
            f"{where}: maps must be a list of at least 2 maps (each a list of row strings "
            f"such as ['SH', 'FG']), got {maps!r}."
        )
    out: list[list[str]] = []
    for i, desc in enumerate(maps):
        if isinstance(desc, (str, bytes)) or not isinstance(desc, Sequence) or not desc:
            raise ValueError(f"{where}: maps[{i}] must be a list of row strings, got {desc!r}.")
        rows = [str(r) for r in desc]
        if len({len(r) for r in rows}) != 1 or set("".join(rows)) - set("SFHG"):
            raise ValueError(
                f"{where}: maps[{i}] must be equally long rows of the letters S, F, H, G, "
                f"got {rows!r}."
            )
        text = "".join(rows)
        if text.count("S") != 1 or text.count("G") < 1:
            raise ValueError(
                f"{where}: maps[{i}] needs exactly one start S and at least one goal G, "
                f"got {rows!r}."
            )
        if out and (len(rows), len(rows[0])) != (len(out[0]), len(out[0][0])):
            raise ValueError(
                f"{where}: every map must have the shape of maps[0] "
                f"({len(out[0])}x{len(out[0][0])}), maps[{i}] is {len(rows)}x{len(rows[0])}."
            )
        out.append(rows)
    return out


def _check_schedule(schedule: Schedule, n_maps: int) -> None:
    values = switching_values(schedule, "SwitchingFrozenLake: map_schedule takes map indices")
    bad = [v for v in values if v != int(v) or not 0 <= v < n_maps]
    if bad:
        raise ValueError(
            f"SwitchingFrozenLake: map_schedule values must be map indices 0..{n_maps - 1}, "
            f"got {bad}; add maps or change the schedule."
        )


class SwitchingFrozenLake(gym.Env, gym.utils.RecordConstructorArgs):
    """A deterministic FrozenLake whose map (and so its goal route) changes between episodes.

    The map in force is ``maps[map_schedule(episode)]``, where ``episode`` counts the
    episodes since the last seeded reset (0 for the first). A map change takes effect at the
    start of an episode; the first step of that episode has ``info["shift"] = True``.
    ``info`` carries the fade_rl keys of :mod:`fade_rl.envs.core`: ``clock`` (steps since
    the seeded reset), ``segment``, ``shift``, ``shift_values`` (``{"lake.map": index}``)
    and ``unshifted_reward``. ``env.unwrapped.episode`` is the episode count (not in
    ``info``: Monitor owns ``info["episode"]``). A seeded reset restarts at episode 0; an
    unseeded one (the next episode) keeps counting.

    Observations are the one-hot of the agent's cell (``Box`` of ``rows*cols`` floats), as
    the blog's DQN sees them; actions are FrozenLake's (0 left, 1 down, 2 right, 3 up);
    reward 1 on reaching G, else 0. The registered id
    ``fade_rl/FrozenLake-SwitchingGoal-v0`` is the blog's setting: :data:`BLOG_MAPS`,
    switch after 200 episodes, at most 2 steps per episode.

    Example:
        >>> from fade_rl.envs.switching_frozenlake import SwitchingFrozenLake
        >>> env = SwitchingFrozenLake(map_schedule={"type": "piecewise", "boundaries": [1],
        ...                                         "values": [0, 1]})
        >>> obs, info = env.reset(seed=0)
        >>> obs.tolist(), info["shift_values"]
        ([1.0, 0.0, 0.0, 0.0], {'lake.map': 0})
        >>> env.step(1)[1], env.step(2)[1:3]      # old route: down, right reaches G
        (0.0, (1.0, True))
        >>> _ = env.reset()                       # episode 1 runs on the new map
        >>> _, reward, terminated, _, info = env.step(1)
        >>> reward, terminated, info["shift"], info["segment"]   # down is now a hole
        (0.0, True, True, 1)

    Args:
        maps: the maps, each a list of row strings of S (start), F (frozen), H (hole),
            G (goal); all of one shape.
        map_schedule: index into ``maps`` per episode: a number, a schedule config
            (``constant``, ``piecewise``, ``periodic``, ``random_switch``; counted in
            episodes) or a :class:`~fade_rl.envs.schedules.Schedule`.
        is_slippery: FrozenLake's slippery ice (the blog uses False).
        render_mode: as FrozenLake's (``"ansi"``, ``"rgb_array"``, ``"human"``).
    """

    metadata: dict[str, Any] = {"render_modes": ["human", "ansi", "rgb_array"], "render_fps": 4}  # noqa: RUF012

    def __init__(
        self,
        maps: Sequence[Sequence[str]] = BLOG_MAPS,
        map_schedule: ScheduleLike = BLOG_SCHEDULE,
        is_slippery: bool = False,
        render_mode: str | None = None,
    ) -> None:
        descs = _check_maps(maps)
        schedule = make_schedule(map_schedule, "SwitchingFrozenLake map_schedule")
        _check_schedule(schedule, len(descs))
        if not isinstance(is_slippery, bool):
            raise ValueError(
                f"SwitchingFrozenLake: is_slippery must be a bool, got {is_slippery!r}."
            )
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"SwitchingFrozenLake: render_mode must be None or one of "
                f"{self.metadata['render_modes']}, got {render_mode!r}."
            )
        gym.utils.RecordConstructorArgs.__init__(
            self,
            maps=descs,
            map_schedule=schedule.to_config(),
            is_slippery=is_slippery,
            render_mode=render_mode,
        )
        self.render_mode = render_mode
        self.map_schedule = schedule
        self.lakes = [
            FrozenLakeEnv(desc=desc, is_slippery=is_slippery, render_mode=render_mode)
            for desc in descs
        ]
        n_states = len(descs[0]) * len(descs[0][0])
        self.observation_space = spaces.Box(0.0, 1.0, shape=(n_states,), dtype=np.float32)
        self.action_space = spaces.Discrete(4)
        self._eye = np.eye(n_states, dtype=np.float32)
        self._start_clock()

    def _start_clock(self) -> None:
        self.clock = 0
        self.episode = 0
        self.segment = 0
        self._map_segment = self.map_schedule.segment(0)
        self.map_index = int(self.map_schedule.value(0))
        self._pending_shift = False

    @property
    def lake(self) -> FrozenLakeEnv:
        """The FrozenLake of the map in force."""
        return self.lakes[self.map_index]

    def _info(self, shift: bool) -> dict[str, Any]:
        return {
            "clock": self.clock,
            "segment": self.segment,
            "shift": shift,
            "shift_values": {"lake.map": self.map_index},
        }

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start the next episode; a seeded reset restarts at episode 0 on the first map."""
        super().reset(seed=seed)
        if seed is not None:
            if self.map_schedule.is_random:
                self.map_schedule.reseed(derive_seed(seed, "lake", 0))
            self._start_clock()
        else:
            self.episode += 1
            segment = self.map_schedule.segment(self.episode)
            if segment != self._map_segment:
                self._map_segment = segment
                self._pending_shift = True
            self.map_index = int(self.map_schedule.value(self.episode))
        lake = self.lake
        lake.np_random = self.np_random  # one random stream: seeded by this env's reset
        state, _ = lake.reset()
        return self._eye[int(state)].copy(), self._info(False)

    def step(self, action: Any) -> tuple[np.ndarray, SupportsFloat, bool, bool, dict[str, Any]]:
        """One move on the map in force; the first step on a new map has ``shift`` True."""
        state, reward, terminated, truncated, _ = self.lake.step(int(action))
        shift = self._pending_shift
        if shift:
            self._pending_shift = False
            self.segment += 1
        info = self._info(shift)
        info["unshifted_reward"] = float(reward)
        self.clock += 1
        return self._eye[int(state)].copy(), float(reward), terminated, truncated, info

    def render(self) -> Any:
        """Render the lake in force (FrozenLake's renderer)."""
        return self.lake.render()

    def close(self) -> None:
        for lake in self.lakes:
            lake.close()
