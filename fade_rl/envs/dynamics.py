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
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from fade_rl.envs.core import ScheduledWrapper
from fade_rl.envs.schedules import ScheduleLike, make_schedule

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


class DynamicsAdapter(ABC):
    """Reads and writes the physical parameters of one family of environments.

    Subclasses set ``family``, ``parameters`` (name -> smallest allowed value, exclusive;
    ``None`` for any value), implement :meth:`matches`, :meth:`read` and :meth:`apply`.
    :func:`register_adapter` makes :class:`DynamicsShift` use a new one.

    Example:
        An adapter for CartPole's integration time step ``tau``, a parameter the built-in
        :class:`CartPoleAdapter` leaves alone:

        >>> import gymnasium as gym
        >>> from gymnasium.envs.classic_control.cartpole import CartPoleEnv
        >>> from fade_rl.envs.dynamics import DynamicsAdapter
        >>> class CartPoleTimeStepAdapter(DynamicsAdapter):
        ...     family = "CartPole time step"
        ...     parameters = {"tau": 0.0}  # tau must stay > 0
        ...     @classmethod
        ...     def matches(cls, env):
        ...         return isinstance(env, CartPoleEnv)
        ...     def read(self, name):
        ...         return float(self.env.tau)
        ...     def apply(self, values):
        ...         self.env.tau = values.get("tau", self.env.tau)
        >>> adapter = CartPoleTimeStepAdapter(gym.make("CartPole-v1").unwrapped)
        >>> adapter.defaults
        {'tau': 0.02}
        >>> adapter.apply({"tau": 0.01})
        >>> adapter.read("tau"), adapter.env.tau
        (0.01, 0.01)

    Args:
        env: the unwrapped environment whose parameters this adapter reads and writes;
            :attr:`defaults` records their values at construction.
    """

    family: ClassVar[str]
    parameters: ClassVar[dict[str, float | None]]

    def __init__(self, env: gym.Env) -> None:
        self.env = env
        #: The values the environment was built with.
        self.defaults: dict[str, float] = {name: self.read(name) for name in self.parameters}

    @classmethod
    @abstractmethod
    def matches(cls, env: gym.Env) -> bool:
        """Whether ``env`` (an unwrapped environment) belongs to this family."""

    @abstractmethod
    def read(self, name: str) -> float:
        """The current value of parameter ``name``."""

    @abstractmethod
    def apply(self, values: Mapping[str, float]) -> None:
        """Set the given parameters (others keep their values) and recompute what depends."""


class _AttributeAdapter(DynamicsAdapter):
    """Parameters that are plain attributes of the unwrapped env (``attributes[name]``)."""

    attributes: ClassVar[dict[str, str]]

    def read(self, name: str) -> float:
        return float(getattr(self.env, self.attributes[name]))

    def apply(self, values: Mapping[str, float]) -> None:
        for name, value in values.items():
            setattr(self.env, self.attributes[name], value)


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
    parameters: ClassVar[dict[str, float | None]] = {
        "gravity": None,
        "masscart": 0.0,
        "masspole": 0.0,
        "length": 0.0,
        "force_mag": None,
    }
    attributes: ClassVar[dict[str, str]] = {name: name for name in parameters}

    @classmethod
    def matches(cls, env: gym.Env) -> bool:
        from gymnasium.envs.classic_control.cartpole import CartPoleEnv

        return isinstance(env, CartPoleEnv)

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
    parameters: ClassVar[dict[str, float | None]] = {
        "g": None,
        "m": 0.0,
        "l": 0.0,
        "max_torque": 0.0,
    }
    attributes: ClassVar[dict[str, str]] = {name: name for name in parameters}

    @classmethod
    def matches(cls, env: gym.Env) -> bool:
        from gymnasium.envs.classic_control.pendulum import PendulumEnv

        return isinstance(env, PendulumEnv)


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
    parameters: ClassVar[dict[str, float | None]] = {"force": None, "gravity": None}
    attributes: ClassVar[dict[str, str]] = {name: name for name in parameters}

    @classmethod
    def matches(cls, env: gym.Env) -> bool:
        from gymnasium.envs.classic_control.mountain_car import MountainCarEnv

        return isinstance(env, MountainCarEnv)


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
        >>> def velocity_after_full_throttle():
        ...     env.state = np.array([0.0, 0.0])
        ...     return round(float(env.step(np.array([1.0]))[0][1]), 6)
        >>> adapter.defaults, velocity_after_full_throttle()
        ({'power': 0.0015}, -0.001)
        >>> adapter.apply({"power": 0.003})
        >>> env.power, velocity_after_full_throttle()
        (0.003, 0.0005)
    """

    family = "MountainCarContinuous"
    parameters: ClassVar[dict[str, float | None]] = {"power": None}
    attributes: ClassVar[dict[str, str]] = {"power": "power"}

    @classmethod
    def matches(cls, env: gym.Env) -> bool:
        from gymnasium.envs.classic_control.continuous_mountain_car import (
            Continuous_MountainCarEnv,
        )

        return isinstance(env, Continuous_MountainCarEnv)


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

    @classmethod
    def matches(cls, env: gym.Env) -> bool:
        from gymnasium.envs.classic_control.acrobot import AcrobotEnv

        return isinstance(env, AcrobotEnv)

    def apply(self, values: Mapping[str, float]) -> None:
        super().apply(values)
        for name, com in self._com.items():
            if name in values:
                # The dynamics use the centre-of-mass position, not the length; keep it mid-link.
                setattr(self.env, com, 0.5 * values[name])


class MujocoAdapter(DynamicsAdapter):
    """Any MuJoCo environment (a Gymnasium ``MujocoEnv``): ``body_mass_scale`` multiplies
    the masses and inertias of all bodies, ``friction_scale`` the friction of all geoms
    (both relative to the values the model was built with), and ``gravity`` sets the
    magnitude of gravity in m/s^2, keeping its direction.

    Example:
        >>> import gymnasium as gym
        >>> from fade_rl.envs.dynamics import MujocoAdapter
        >>> env = gym.make("InvertedPendulum-v5").unwrapped  # needs the mujoco package
        >>> adapter = MujocoAdapter(env)
        >>> adapter.defaults
        {'body_mass_scale': 1.0, 'friction_scale': 1.0, 'gravity': 9.81}
        >>> [round(m, 2) for m in env.model.body_mass.tolist()]  # world, cart, pole
        [0.0, 10.47, 5.02]
        >>> adapter.apply({"body_mass_scale": 2.0, "gravity": 3.0})
        >>> [round(m, 2) for m in env.model.body_mass.tolist()], env.model.opt.gravity.tolist()
        ([0.0, 20.94, 10.04], [0.0, 0.0, -3.0])
    """

    family = "MuJoCo"
    parameters: ClassVar[dict[str, float | None]] = {
        "body_mass_scale": 0.0,
        "friction_scale": 0.0,
        "gravity": None,
    }

    def __init__(self, env: gym.Env) -> None:
        model = env.model  # type: ignore[attr-defined]
        self._model = model
        self._mass = model.body_mass.copy()
        self._inertia = model.body_inertia.copy()
        self._friction = model.geom_friction.copy()
        self._gravity = model.opt.gravity.copy()
        norm = float(np.linalg.norm(self._gravity))
        self._direction = self._gravity / norm if norm > 0 else np.array([0.0, 0.0, -1.0])
        self._scales = {"body_mass_scale": 1.0, "friction_scale": 1.0}
        super().__init__(env)

    @classmethod
    def matches(cls, env: gym.Env) -> bool:
        try:
            from gymnasium.envs.mujoco.mujoco_env import MujocoEnv
        except ImportError:  # mujoco not installed
            return False
        return isinstance(env, MujocoEnv)

    def read(self, name: str) -> float:
        if name == "gravity":
            return float(np.dot(self._model.opt.gravity, self._direction))
        return self._scales[name]

    def apply(self, values: Mapping[str, float]) -> None:
        model = self._model
        if "body_mass_scale" in values:
            s = values["body_mass_scale"]
            model.body_mass[:] = self._mass * s
            model.body_inertia[:] = self._inertia * s
            self._scales["body_mass_scale"] = s
        if "friction_scale" in values:
            s = values["friction_scale"]
            model.geom_friction[:] = self._friction * s
            self._scales["friction_scale"] = s
        if "gravity" in values:
            model.opt.gravity[:] = self._direction * values["gravity"]


_ADAPTERS: list[type[DynamicsAdapter]] = [
    CartPoleAdapter,
    PendulumAdapter,
    MountainCarAdapter,
    MountainCarContinuousAdapter,
    AcrobotAdapter,
    MujocoAdapter,
]


def register_adapter(adapter: type[DynamicsAdapter]) -> type[DynamicsAdapter]:
    """Add an adapter for a new family (tried before the built-in ones); usable as decorator."""
    if not (isinstance(adapter, type) and issubclass(adapter, DynamicsAdapter)):
        raise TypeError(f"register_adapter needs a DynamicsAdapter subclass, got {adapter!r}.")
    _ADAPTERS.insert(0, adapter)
    return adapter


def adapter_for(env: gym.Env) -> DynamicsAdapter:
    """The adapter for ``env``'s family (looked up on ``env.unwrapped``)."""
    base = env.unwrapped
    for adapter in _ADAPTERS:
        if adapter.matches(base):
            return adapter(base)
    families = ", ".join(a.family for a in _ADAPTERS)
    raise ValueError(
        f"DynamicsShift: no dynamics adapter for {type(base).__name__}; supported families: "
        f"{families}. Add one with fade_rl.envs.dynamics.register_adapter()."
    )


class DynamicsShift(ScheduledWrapper, gym.utils.RecordConstructorArgs):
    """Change physical parameters of the environment on schedules.

    Values are written into the unwrapped environment before the step that uses them
    (after ``reset`` too), so the same state and action give a different next state once a
    parameter has changed. See the module docstring for each family's parameters and
    :mod:`fade_rl.envs.core` for the clock, seeding and ``info`` keys
    (``info["shift_values"]["dynamics.<name>"]``).

    Example:
        >>> import gymnasium as gym
        >>> from fade_rl.envs import DynamicsShift
        >>> gravity = {"type": "periodic", "values": [9.8, 20.0], "period": 2}
        >>> env = DynamicsShift(gym.make("CartPole-v1"), {"gravity": gravity})
        >>> _ = env.reset(seed=0)
        >>> [round(env.step(1)[4]["shift_values"]["dynamics.gravity"], 1) for _ in range(4)]
        [9.8, 9.8, 20.0, 20.0]
        >>> env.unwrapped.gravity
        20.0

    Args:
        env: an environment of a supported family (any wrappers around it are fine).
        params: parameter name -> number, schedule config dict or Schedule.
    """

    kind = "dynamics"

    def __init__(self, env: gym.Env, params: Mapping[str, ScheduleLike]) -> None:
        adapter = adapter_for(env)
        valid = ", ".join(sorted(adapter.parameters))
        if not isinstance(params, Mapping) or not params:
            raise ValueError(
                f"DynamicsShift: params must be a non-empty dict of parameter -> schedule; "
                f"{adapter.family} has: {valid}."
            )
        schedules = {}
        for name, spec in params.items():
            if name not in adapter.parameters:
                raise ValueError(
                    f"DynamicsShift: {name!r} is not a dynamics parameter of "
                    f"{adapter.family}; valid parameters: {valid}."
                )
            schedule = make_schedule(spec, f"DynamicsShift {name}")
            floor = adapter.parameters[name]
            low, _ = schedule.bounds()
            if floor is not None and not low > floor:
                shown = "-inf" if math.isinf(low) else low
                raise ValueError(
                    f"DynamicsShift: {adapter.family} {name} must stay > {floor}, but its "
                    f"schedule can reach {shown}; bound it (e.g. random_walk low=...)."
                )
            schedules[name] = schedule
        gym.utils.RecordConstructorArgs.__init__(
            self, params={name: s.to_config() for name, s in schedules.items()}
        )
        self.adapter = adapter
        ScheduledWrapper.__init__(self, env, schedules)

    def _apply(self, values: dict[str, float], t: int) -> None:
        self.adapter.apply(values)
