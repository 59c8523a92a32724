"""Non-stationary environments: schedules, shift wrappers, task sequences, registered ids.

Importing this package registers the ``fade_rl/...`` environment ids (see :func:`list_envs`),
MinAtar's among them (:mod:`fade_rl.envs.minatar`; the ``minatar`` package is imported only
when a game is built).
The ``info`` keys every wrapper writes (``clock``, ``segment``, ``shift``, ``shift_values``,
``unshifted_reward``) are described in :mod:`fade_rl.envs.core` and ``docs/envs.md``; the
names of that module (the keys' constants, the wrappers' base class) are exported here too.
This package imports no torch.
"""

from fade_rl.envs import core
from fade_rl.envs.action import ActionShift
from fade_rl.envs.core import *  # noqa: F403 (the names in core.__all__: info keys, base class)
from fade_rl.envs.cuts import IterationCut
from fade_rl.envs.dynamics import DynamicsAdapter, DynamicsShift, register_adapter
from fade_rl.envs.minatar import MinAtarEnv, make_minatar_sequence
from fade_rl.envs.observation import ObservationShift
from fade_rl.envs.offsets import ObservationOffsets
from fade_rl.envs.registration import list_envs, make_shifted, register_envs
from fade_rl.envs.reward import RewardShift
from fade_rl.envs.schedules import (
    Constant,
    LinearDrift,
    PeriodicSwitch,
    Piecewise,
    RandomSwitch,
    RandomWalk,
    Schedule,
    Sinusoid,
    make_schedule,
)
from fade_rl.envs.switching_frozenlake import SwitchingFrozenLake
from fade_rl.envs.task_sequence import TaskSequence

register_envs()

__all__ = [
    *core.__all__,
    "ActionShift",
    "Constant",
    "IterationCut",
    "DynamicsAdapter",
    "DynamicsShift",
    "LinearDrift",
    "MinAtarEnv",
    "ObservationOffsets",
    "ObservationShift",
    "PeriodicSwitch",
    "Piecewise",
    "RandomSwitch",
    "RandomWalk",
    "RewardShift",
    "Schedule",
    "Sinusoid",
    "SwitchingFrozenLake",
    "TaskSequence",
    "list_envs",
    "make_minatar_sequence",
    "make_schedule",
    "make_shifted",
    "register_adapter",
    "register_envs",
]
