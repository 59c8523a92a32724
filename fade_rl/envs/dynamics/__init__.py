"""Dynamics shift: physical parameters on schedules, through one adapter per env family.

An adapter knows where a family keeps its physics and what must be recomputed when a
parameter changes. Built in:

=========================  ==========================================================
family (unwrapped class)   parameters
=========================  ==========================================================
CartPole                   gravity, masscart, masspole, length (half the pole),
                           force_mag; total_mass and polemass_length are recomputed
Pendulum                   g, m, l, max_torque (the torque clip; the action space
                           stays [-2, 2], so values above 2 change nothing)
MountainCar                force, gravity
MountainCarContinuous      power (gravity is a literal in Gymnasium's step)
Acrobot                    link_mass_1, link_mass_2, link_length_1, link_length_2
                           (each moves its centre of mass to mid-link), link_moi
MuJoCo (any MujocoEnv)     body_mass_scale (masses and inertias of all bodies),
                           friction_scale (all geoms), gravity (magnitude, m/s^2,
                           direction kept)
=========================  ==========================================================

Add a family with :func:`register_adapter`.

The pieces live in :mod:`~fade_rl.envs.dynamics.base` (the :class:`DynamicsAdapter`
interface), :mod:`~fade_rl.envs.dynamics.classic_control`,
:mod:`~fade_rl.envs.dynamics.mujoco`, :mod:`~fade_rl.envs.dynamics.registry`
(:func:`adapter_for`, :func:`register_adapter`) and :mod:`~fade_rl.envs.dynamics.shift`
(the :class:`DynamicsShift` wrapper); import them from here.
"""

from fade_rl.envs.dynamics.base import DynamicsAdapter
from fade_rl.envs.dynamics.classic_control import (
    AcrobotAdapter,
    CartPoleAdapter,
    MountainCarAdapter,
    MountainCarContinuousAdapter,
    PendulumAdapter,
)
from fade_rl.envs.dynamics.mujoco import MujocoAdapter
from fade_rl.envs.dynamics.registry import adapter_for, register_adapter
from fade_rl.envs.dynamics.shift import DynamicsShift

__all__ = [
    "AcrobotAdapter",
    "CartPoleAdapter",
    "DynamicsAdapter",
    "DynamicsShift",
    "MountainCarAdapter",
    "MountainCarContinuousAdapter",
    "MujocoAdapter",
    "PendulumAdapter",
    "adapter_for",
    "register_adapter",
]
