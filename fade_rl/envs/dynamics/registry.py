"""Which adapter serves which environment: the built-in ones, and those users register."""

from __future__ import annotations

import gymnasium as gym

from fade_rl.envs.dynamics.base import DynamicsAdapter
from fade_rl.envs.dynamics.classic_control import (
    AcrobotAdapter,
    CartPoleAdapter,
    MountainCarAdapter,
    MountainCarContinuousAdapter,
    PendulumAdapter,
)
from fade_rl.envs.dynamics.mujoco import MujocoAdapter

__all__ = ["adapter_for", "register_adapter"]

_ADAPTERS: list[type[DynamicsAdapter]] = [
    CartPoleAdapter,
    PendulumAdapter,
    MountainCarAdapter,
    MountainCarContinuousAdapter,
    AcrobotAdapter,
    MujocoAdapter,
]


def register_adapter(adapter: type[DynamicsAdapter]) -> type[DynamicsAdapter]:
    """Add an adapter for a new family (tried before the built-in ones); usable as decorator.

    Example:
        A toy environment whose position moves ``speed`` per step, and an adapter that lets
        :class:`~fade_rl.envs.dynamics.DynamicsShift` change its speed:

        >>> import gymnasium as gym
        >>> from fade_rl.envs.dynamics import DynamicsAdapter, DynamicsShift, register_adapter
        >>> class Walker(gym.Env):
        ...     observation_space = gym.spaces.Box(-1e6, 1e6)
        ...     action_space = gym.spaces.Discrete(1)
        ...     speed = 1.0
        ...     def reset(self, seed=None, options=None):
        ...         self.position = 0.0
        ...         return self.position, {}
        ...     def step(self, action):
        ...         self.position += self.speed
        ...         return self.position, 0.0, False, False, {}
        >>> @register_adapter
        ... class WalkerAdapter(DynamicsAdapter):
        ...     family = "Walker"
        ...     parameters = {"speed": 0.0}  # speed must stay > 0
        ...     @classmethod
        ...     def matches(cls, env):
        ...         return isinstance(env, Walker)
        ...     def read(self, name):
        ...         return self.env.speed
        ...     def apply(self, values):
        ...         self.env.speed = values.get("speed", self.env.speed)
        >>> speed = {"type": "piecewise", "boundaries": [2], "values": [1.0, 10.0]}
        >>> env = DynamicsShift(Walker(), {"speed": speed})
        >>> _ = env.reset(seed=0)
        >>> [env.step(0)[0] for _ in range(4)]
        [1.0, 2.0, 12.0, 22.0]

        (Registration lasts for the process; this example takes its adapter out again.)

        >>> from fade_rl.envs.dynamics import registry
        >>> registry._ADAPTERS.remove(WalkerAdapter)
    """
    if not (isinstance(adapter, type) and issubclass(adapter, DynamicsAdapter)):
        raise TypeError(f"register_adapter needs a DynamicsAdapter subclass, got {adapter!r}.")
    _ADAPTERS.insert(0, adapter)
    return adapter


def adapter_for(env: gym.Env) -> DynamicsAdapter:
    """The adapter for ``env``'s family (looked up on ``env.unwrapped``).

    Example:
        >>> import gymnasium as gym
        >>> from fade_rl.envs.dynamics import adapter_for
        >>> adapter = adapter_for(gym.make("CartPole-v1"))  # through the TimeLimit & co.
        >>> type(adapter).__name__, adapter.defaults["gravity"]
        ('CartPoleAdapter', 9.8)
        >>> adapter_for(gym.make("FrozenLake-v1"))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: DynamicsShift: no dynamics adapter for FrozenLakeEnv; supported families: ...
    """
    base = env.unwrapped
    for adapter in _ADAPTERS:
        if adapter.matches(base):
            return adapter(base)
    families = ", ".join(a.family for a in _ADAPTERS)
    raise ValueError(
        f"DynamicsShift: no dynamics adapter for {type(base).__name__}; supported families: "
        f"{families}. Add one with fade_rl.envs.dynamics.register_adapter()."
    )
