"""Shared machinery of the shift wrappers: the clock, the schedules and the info keys.

Every wrapper in :mod:`fade_rl.envs` (and :class:`~fade_rl.envs.task_sequence.TaskSequence`)
counts the steps of its environment copy and writes these keys into every ``info``
returned by ``step`` (``reset`` writes all but ``unshifted_reward``; its ``shift`` is False):

``clock`` (int)
    index of this step on the non-stationary clock: 0 for the first step after a seeded
    reset, counting on across episode ends.
``segment`` (int)
    how many shifts have happened since the seeded reset (0 before the first one).
``shift`` (bool)
    True on the first step that runs under new values (a schedule boundary, a switch, a
    random-walk move, a new permutation, a new task). Continuous schedules (linear drift,
    sinusoid) change values on every step but never mark a shift.
``shift_values`` (dict)
    the values in force on this step, keyed ``"<kind>.<name>"``, e.g. ``"reward.sign"``,
    ``"dynamics.gravity"``, ``"observation.permutation"`` (a tuple), ``"task.index"``; a new
    dict on every call.
``unshifted_reward`` (float)
    the reward of the wrapped environment before any reward shift.

Stacked fade_rl wrappers merge these keys: ``shift`` is True if any layer shifted,
``segment`` counts steps on which any layer shifted, ``shift_values`` holds every layer's
values, and ``unshifted_reward`` is the innermost reward.

Seeding: ``reset(seed=s)`` restarts the clock at 0 and reseeds every random schedule
whose own ``seed`` is ``None`` (from ``s``), so one seed gives one trajectory. Unseeded
``reset()`` calls, as vector environments make at episode ends, keep the clock running.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from typing import Any, ClassVar, SupportsFloat

import gymnasium as gym
import numpy as np

from fade_rl.envs.schedules import Schedule

__all__ = [
    "CLOCK",
    "SEGMENT",
    "SHIFT",
    "SHIFT_VALUES",
    "UNSHIFTED_REWARD",
    "ScheduledWrapper",
    "derive_seed",
    "stamp_reset_info",
]

CLOCK = "clock"
SEGMENT = "segment"
SHIFT = "shift"
SHIFT_VALUES = "shift_values"
UNSHIFTED_REWARD = "unshifted_reward"


def derive_seed(seed: int, salt: str, index: int) -> int:
    """A 32-bit seed for stream ``index`` of component ``salt``, derived from a reset seed.

    Example:
        One reset seed gives each component and stream its own seed, the same every time:

        >>> from fade_rl.envs.core import derive_seed
        >>> derive_seed(7, "reward", 0) == derive_seed(7, "reward", 0)
        True
        >>> streams = [("reward", 0), ("reward", 1), ("task", 0)]
        >>> seeds = [derive_seed(7, salt, index) for salt, index in streams]
        >>> len(set(seeds))  # another stream or another component: another seed
        3
        >>> 0 <= derive_seed(2**40, "reward", 0) < 2**32
        True
    """
    seq = np.random.SeedSequence([int(seed) & 0xFFFFFFFF, zlib.crc32(salt.encode()), index])
    return int(seq.generate_state(1)[0])


def stamp_reset_info(info: dict[str, Any], clock: int, segment: int, values: dict) -> None:
    """Write the shift keys into a reset ``info`` (merging with an inner fade_rl layer).

    Example:
        >>> from fade_rl.envs.core import stamp_reset_info
        >>> info = {"shift_values": {"reward.sign": 1.0}}  # from an inner fade_rl wrapper
        >>> stamp_reset_info(info, clock=0, segment=0, values={"dynamics.gravity": 9.8})
        >>> info["shift_values"]
        {'reward.sign': 1.0, 'dynamics.gravity': 9.8}
        >>> info["clock"], info["segment"], info["shift"]
        (0, 0, False)
    """
    inner = info.get(SHIFT_VALUES)
    if inner is None:
        info[SHIFT_VALUES] = values.copy()
    else:
        inner.update(values)
    info[SHIFT] = False
    info[SEGMENT] = segment
    info[CLOCK] = clock


class ScheduledWrapper(gym.Wrapper):
    """Base class of the shift wrappers: holds the clock and the schedules, stamps ``info``.

    A subclass names its kind in ``kind`` (the prefix of its ``shift_values`` keys), passes
    its schedules to ``__init__`` (after setting up what :meth:`_apply` needs), reacts to
    new values in :meth:`_apply`, and sets the ``maps_*`` flags for what it changes:
    ``maps_action`` calls :meth:`action`, ``maps_reward`` applies
    ``reward * self._reward_factor + self._reward_offset``, ``maps_observation`` calls
    :meth:`_observe`.

    Example:
        A wrapper that changes CartPole's integration time step ``tau`` after two steps;
        the base class keeps the clock and marks the shift in ``info``:

        >>> import gymnasium as gym
        >>> from fade_rl.envs.core import ScheduledWrapper
        >>> from fade_rl.envs.schedules import Piecewise
        >>> class TimeStepShift(ScheduledWrapper):
        ...     kind = "timestep"
        ...     def _apply(self, values, t):
        ...         self.env.unwrapped.tau = values["tau"]
        >>> env = TimeStepShift(gym.make("CartPole-v1"), {"tau": Piecewise([2], [0.02, 0.04])})
        >>> _ = env.reset(seed=0)
        >>> for _ in range(3):
        ...     info = env.step(0)[4]
        ...     print(info["clock"], info["shift"], info["segment"], info["shift_values"])
        0 False 0 {'timestep.tau': 0.02}
        1 False 0 {'timestep.tau': 0.02}
        2 True 1 {'timestep.tau': 0.04}
        >>> env.unwrapped.tau, env.values
        (0.04, {'tau': 0.04})

    Args:
        env: the environment to wrap.
        schedules: parameter name -> schedule; :meth:`_apply` receives their values.
    """

    kind: ClassVar[str] = "shift"
    #: Which of action, reward and observation this wrapper changes (``step`` reads these).
    maps_action: ClassVar[bool] = False
    maps_reward: ClassVar[bool] = False
    maps_observation: ClassVar[bool] = False

    def __init__(self, env: gym.Env, schedules: Mapping[str, Schedule]) -> None:
        super().__init__(env)
        # Instance copies of the class-level flags and fast paths: on Python 3.11 an
        # instance attribute is much faster to read than a class attribute via the instance.
        self.maps_action = type(self).maps_action  # type: ignore[misc]
        self.maps_reward = type(self).maps_reward  # type: ignore[misc]
        self.maps_observation = type(self).maps_observation  # type: ignore[misc]
        # Fast paths that subclasses set in ``_apply``: a list mapping discrete actions (used
        # instead of :meth:`action`), an index array that is the whole observation map (used
        # instead of :meth:`_observe`); ``None`` to use the methods.
        self._action_table: list[int] | None = None
        self._obs_index: np.ndarray | None = None
        self._reward_factor = 1.0  # RewardShift sets these two in ``_apply``
        self._reward_offset = 0.0
        self._schedules: dict[str, Schedule] = dict(schedules)
        self.clock = 0
        self.segment = 0
        self._start_clock()

    # -- values -------------------------------------------------------------------------
    def _start_clock(self) -> None:
        self.clock = 0
        self.segment = 0
        self._pending_shift = False
        self._segments: tuple[int, ...] | None = None
        self._values: dict[str, float] | None = None
        self._shift_values: dict[str, Any] = {}
        self._next_change = 0
        self._refresh(0)

    def _refresh(self, t: int) -> None:
        """Read every schedule at step ``t``; apply new values; note a pending shift."""
        schedules = self._schedules
        segments = tuple(s.segment(t) for s in schedules.values())
        values = {name: s.value(t) for name, s in schedules.items()}
        self._next_change = min((s.next_change(t) for s in schedules.values()), default=2**62)
        if self._segments is not None and segments != self._segments:
            self._pending_shift = True
        self._segments = segments
        if values != self._values:
            self._apply(values, t)
            self._values = values
            self._shift_values = self._describe(values)

    def _apply(self, values: dict[str, float], t: int) -> None:
        """React to new values (set physics, precompute factors). ``t`` is for messages."""

    def _describe(self, values: dict[str, float]) -> dict[str, Any]:
        """The ``shift_values`` entries of this layer."""
        kind = self.kind
        return {f"{kind}.{name}": v for name, v in values.items()}

    @property
    def values(self) -> dict[str, float]:
        """The schedule values last applied: those of the last step taken (a copy).

        After a seeded reset, the values of step 0. Values are read lazily at the start of
        a step, so a continuous schedule's value for step ``clock`` is applied then.
        """
        return dict(self._values or {})

    # -- seeding --------------------------------------------------------------------------
    def _reseed(self, seed: int) -> None:
        """Reseed random parts from a reset seed; subclasses with their own rng extend this."""
        for i, schedule in enumerate(self._schedules.values()):
            if schedule.is_random:
                schedule.reseed(derive_seed(seed, self.kind, i))

    # -- gym API --------------------------------------------------------------------------
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Reset the environment; a seeded reset also restarts the clock and random schedules."""
        if seed is not None:
            self._reseed(seed)
            self._start_clock()
        elif self.clock >= self._next_change:
            self._refresh(self.clock)
        obs, info = self.env.reset(seed=seed, options=options)
        stamp_reset_info(info, self.clock, self.segment, self._shift_values)
        if self.maps_observation:
            index = self._obs_index
            obs = self._observe(obs) if index is None else obs[index]
        return obs, info

    def _observe(self, obs: Any) -> Any:
        return obs

    def action(self, action: Any) -> Any:
        """The action the wrapped environment receives (used when ``maps_action``)."""
        return action

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """Apply the values of this step, step the wrapped env, shift and stamp the result.

        This runs on every step of every copy, so it is written for speed: flags instead
        of no-op hook calls, string literals instead of the module's key constants.
        """
        t = self.clock
        if t >= self._next_change:
            self._refresh(t)
        if self.maps_action:
            table = self._action_table
            action = self.action(action) if table is None else table[action]
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.clock = t + 1
        shift = self._pending_shift
        if "shift_values" in info:  # an inner shift wrapper stamped it: merge into its dict
            info["shift_values"].update(self._shift_values)
            shift = shift or info["shift"]
        else:
            # A fresh dict per step: callers may keep or modify what they are given.
            info["shift_values"] = self._shift_values.copy()
            info["unshifted_reward"] = float(reward)
        if shift:
            self._pending_shift = False
            self.segment += 1
        info["shift"] = shift
        info["segment"] = self.segment
        info["clock"] = t
        if self.maps_reward:
            reward = self._reward_factor * float(reward) + self._reward_offset
        if self.maps_observation:
            index = self._obs_index
            obs = self._observe(obs) if index is None else obs[index]
        return obs, reward, terminated, truncated, info


class PermutationSchedule(Schedule):
    """Index of the permutation in force: ``t // every`` (a new one every ``every`` steps).

    ``every=None`` means one permutation for ever (index 0). Used by the observation and
    action wrappers; not part of the public config vocabulary (they record ``permute_every``).
    """

    type_name = "permutation_index"

    def __init__(self, every: int | None) -> None:
        self.every = every

    def value(self, t: int) -> float:
        return 0.0 if self.every is None else float(t // self.every)

    def segment(self, t: int) -> int:
        return 0 if self.every is None else t // self.every

    def next_change(self, t: int) -> int:
        return 2**62 if self.every is None else (t // self.every + 1) * self.every

    def to_config(self) -> dict[str, Any]:
        return {"type": self.type_name, "every": self.every}


class Permutations:
    """The ``k``-th permutation of ``range(n)``: from a given list (cycled) or drawn at random.

    Drawn permutations start with the identity (``k = 0``) and each later one differs from
    the one before. ``seed=None`` draws from the seed the wrapper passes to :meth:`reseed`.
    """

    def __init__(self, n: int, given: list[list[int]] | None, seed: int | None, where: str) -> None:
        self.n = n
        self.seed = seed
        self.given: list[np.ndarray] | None = None
        if given is not None:
            if not isinstance(given, (list, tuple)) or not given:
                raise ValueError(f"{where}: permutations must be a non-empty list of lists.")
            self.given = []
            for i, perm in enumerate(given):
                if sorted(perm) != list(range(n)):
                    raise ValueError(
                        f"{where}: permutations[{i}] must be a permutation of 0..{n - 1} "
                        f"(each index once), got {list(perm)}."
                    )
                self.given.append(np.asarray(perm, dtype=np.intp))
        self.reseed(None)

    def reseed(self, seed: int | None) -> None:
        self._rng = np.random.default_rng(self.seed if self.seed is not None else seed)
        self._drawn: list[np.ndarray] = [np.arange(self.n, dtype=np.intp)]

    def __getitem__(self, k: int) -> np.ndarray:
        if self.given is not None:
            return self.given[k % len(self.given)]
        drawn = self._drawn
        while len(drawn) <= k:
            perm = self._rng.permutation(self.n)
            while np.array_equal(perm, drawn[-1]):
                perm = self._rng.permutation(self.n)
            drawn.append(perm.astype(np.intp))
        return drawn[k]


def check_permutation_args(permute_every: Any, seed: Any, where: str) -> None:
    """Reject a bad ``permute_every`` or ``seed`` with a message that says what is allowed."""
    if permute_every is not None and (
        isinstance(permute_every, bool) or not isinstance(permute_every, int) or permute_every < 1
    ):
        raise ValueError(
            f"{where}: permute_every must be a positive number of steps or None, "
            f"got {permute_every!r}."
        )
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ValueError(f"{where}: seed must be a non-negative int or None, got {seed!r}.")


def permutations_config(permutations: Any) -> list[list[int]] | None:
    """``permutations`` as plain lists of ints (JSON-able for ``env.spec``)."""
    if permutations is None:
        return None
    try:
        return [[int(i) for i in perm] for perm in permutations]
    except (TypeError, ValueError):
        return permutations  # malformed; Permutations() rejects it with a clear message
