"""The :class:`DynamicsAdapter` interface: where one env family keeps its physics."""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import ClassVar

import gymnasium as gym

__all__ = ["DynamicsAdapter"]


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
    """Parameters that are plain attributes of the unwrapped env of one class (``env_class``,
    ``"module:Class"``, imported when an env is first matched). A parameter's attribute has
    its name unless ``attributes`` names another."""

    attributes: ClassVar[dict[str, str]] = {}
    env_class: ClassVar[str]

    @classmethod
    def matches(cls, env: gym.Env) -> bool:
        module, name = cls.env_class.split(":")
        return isinstance(env, getattr(importlib.import_module(module), name))

    def read(self, name: str) -> float:
        return float(getattr(self.env, self.attributes.get(name, name)))

    def apply(self, values: Mapping[str, float]) -> None:
        for name, value in values.items():
            setattr(self.env, self.attributes.get(name, name), value)
