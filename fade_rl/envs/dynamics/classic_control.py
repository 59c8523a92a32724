"""Dynamics adapters for Gymnasium's classic-control environments.

Each reads and writes plain attributes of the unwrapped env, and recomputes what the env
caches from them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from fade_rl.envs.dynamics.base import _AttributeAdapter

__all__ = [
    "AcrobotAdapter",
    "CartPoleAdapter",
    "MountainCarAdapter",
    "MountainCarContinuousAdapter",
    "PendulumAdapter",
]


class CartPoleAdapter(_AttributeAdapter):
    """CartPole's ``gravity``, ``masscart``, ``masspole``, ``length`` (half the pole) and
    ``force_mag``; changing a mass or the length recomputes the env's cached ``total_mass``
    and ``polemass_length``, which its step reads.

    Example:
        >>> import gymnasium as gym
        >>> from fade_rl.envs.dynamics import CartPoleAdapter
        >>> adapter = CartPoleAdapter(gym.make("CartPole-v1").unwrapped)
        >>> adapter.defaults["masspole"], adapter.env.total_mass
        (0.1, 1.1)
        >>> adapter.apply({"masspole": 0.5})
        >>> adapter.env.masspole, adapter.env.total_mass, adapter.env.polemass_length
        (0.5, 1.5, 0.25)
    """

    family = "CartPole"
    env_class = "gymnasium.envs.classic_control.cartpole:CartPoleEnv"
    parameters: ClassVar[dict[str, float | None]] = {
        "gravity": None,
        "masscart": 0.0,
        "masspole": 0.0,
        "length": 0.0,
        "force_mag": None,
    }

    def apply(self, values: Mapping[str, float]) -> None:
        super().apply(values)
        env: Any = self.env
        # CartPoleEnv caches these two in __init__; its step reads them, not the masses.
        env.total_mass = env.masspole + env.masscart
        env.polemass_length = env.masspole * env.length


class PendulumAdapter(_AttributeAdapter):
    """Pendulum's gravity ``g``, mass ``m``, length ``l`` and torque clip ``max_torque``
    (the action space stays [-2, 2], so values above 2 change nothing).

    Example:
        Held horizontal at rest with no torque, the pendulum gains
        ``3 g / (2 l) * dt = 0.075 g`` of angular velocity in one step (``dt = 0.05``):

        >>> import math
        >>> import gymnasium as gym
        >>> import numpy as np
        >>> from fade_rl.envs.dynamics import PendulumAdapter
        >>> env = gym.make("Pendulum-v1").unwrapped
        >>> adapter = PendulumAdapter(env)
        >>> def angular_velocity_after_one_step():
        ...     env.state = np.array([math.pi / 2, 0.0])
        ...     return round(float(env.step(np.array([0.0]))[0][2]), 3)
        >>> adapter.defaults["g"], angular_velocity_after_one_step()
        (10.0, 0.75)
        >>> adapter.apply({"g": 5.0})
        >>> env.g, angular_velocity_after_one_step()
        (5.0, 0.375)
    """

    family = "Pendulum"
    env_class = "gymnasium.envs.classic_control.pendulum:PendulumEnv"
    parameters: ClassVar[dict[str, float | None]] = {
        "g": None,
        "m": 0.0,
        "l": 0.0,
        "max_torque": 0.0,
    }


class MountainCarAdapter(_AttributeAdapter):
    """MountainCar's engine ``force`` and ``gravity``.

    Example:
        At the bottom of the valley (position 0) with the engine idle (action 1), one step
        changes the velocity by ``-gravity * cos(3 * 0) = -gravity``:

        >>> import gymnasium as gym
        >>> import numpy as np
        >>> from fade_rl.envs.dynamics import MountainCarAdapter
        >>> env = gym.make("MountainCar-v0").unwrapped
        >>> adapter = MountainCarAdapter(env)
        >>> def velocity_after_idle_step():
        ...     env.state = np.array([0.0, 0.0])
        ...     return round(float(env.step(1)[0][1]), 6)
        >>> adapter.defaults, velocity_after_idle_step()
        ({'force': 0.001, 'gravity': 0.0025}, -0.0025)
        >>> adapter.apply({"gravity": 0.005})
        >>> env.gravity, velocity_after_idle_step()
        (0.005, -0.005)
    """

    family = "MountainCar"
    env_class = "gymnasium.envs.classic_control.mountain_car:MountainCarEnv"
    parameters: ClassVar[dict[str, float | None]] = {"force": None, "gravity": None}


class MountainCarContinuousAdapter(_AttributeAdapter):
    """MountainCarContinuous's engine ``power`` (its gravity, 0.0025, is a literal in
    Gymnasium's step, so it cannot change).

    Example:
        At position 0, full throttle (action 1) changes the velocity by
        ``power - 0.0025``: downhill with the default power, uphill with twice it:

        >>> import gymnasium as gym
        >>> import numpy as np
        >>> from fade_rl.envs.dynamics import MountainCarContinuousAdapter
        >>> env = gym.make("MountainCarContinuous-v0").unwrapped
        >>> adapter = MountainCarContinuousAdapter(env)
        >>> for power in (adapter.defaults["power"], 0.003):
        ...     adapter.apply({"power": power})
        ...     env.state = np.array([0.0, 0.0])
        ...     print(power, round(float(env.step(np.array([1.0]))[0][1]), 6))
        0.0015 -0.001
        0.003 0.0005
    """

    family = "MountainCarContinuous"
    env_class = "gymnasium.envs.classic_control.continuous_mountain_car:Continuous_MountainCarEnv"
    parameters: ClassVar[dict[str, float | None]] = {"power": None}


class AcrobotAdapter(_AttributeAdapter):
    """Acrobot's ``link_mass_1``, ``link_mass_2``, ``link_length_1``, ``link_length_2`` and
    ``link_moi`` (the env's ``LINK_*`` constants). A new length also moves that link's
    centre of mass (``LINK_COM_POS_*``, which the dynamics use) to mid-link.

    Example:
        >>> import gymnasium as gym
        >>> from fade_rl.envs.dynamics import AcrobotAdapter
        >>> env = gym.make("Acrobot-v1").unwrapped
        >>> adapter = AcrobotAdapter(env)
        >>> adapter.defaults["link_length_1"], env.LINK_COM_POS_1
        (1.0, 0.5)
        >>> adapter.apply({"link_length_1": 2.0, "link_mass_2": 3.0})
        >>> env.LINK_LENGTH_1, env.LINK_COM_POS_1, env.LINK_MASS_2
        (2.0, 1.0, 3.0)
    """

    family = "Acrobot"
    env_class = "gymnasium.envs.classic_control.acrobot:AcrobotEnv"
    parameters: ClassVar[dict[str, float | None]] = {
        "link_mass_1": 0.0,
        "link_mass_2": 0.0,
        "link_length_1": 0.0,
        "link_length_2": 0.0,
        "link_moi": 0.0,
    }
    attributes: ClassVar[dict[str, str]] = {
        "link_mass_1": "LINK_MASS_1",
        "link_mass_2": "LINK_MASS_2",
        "link_length_1": "LINK_LENGTH_1",
        "link_length_2": "LINK_LENGTH_2",
        "link_moi": "LINK_MOI",
    }
    _com: ClassVar[dict[str, str]] = {
        "link_length_1": "LINK_COM_POS_1",
        "link_length_2": "LINK_COM_POS_2",
    }

    def apply(self, values: Mapping[str, float]) -> None:
        super().apply(values)
        for name, com in self._com.items():
            if name in values:
                # The dynamics use the centre-of-mass position, not the length; keep it mid-link.
                setattr(self.env, com, 0.5 * values[name])
