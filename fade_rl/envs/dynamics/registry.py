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
        CartPole's built-in parameters plus its integration time step ``tau`` (a plain
        attribute, like the others): registered, this adapter is tried before the built-in
        :class:`~fade_rl.envs.dynamics.CartPoleAdapter`:

        >>> import gymnasium as gym
        >>> from fade_rl.envs.dynamics import CartPoleAdapter, DynamicsShift, register_adapter
        >>> @register_adapter
        ... class CartPoleTauAdapter(CartPoleAdapter):
        ...     parameters = {**CartPoleAdapter.parameters, "tau": 0.0}  # tau must stay > 0
        >>> tau = {"type": "piecewise", "boundaries": [2], "values": [0.02, 0.04]}
        >>> env = DynamicsShift(gym.make("CartPole-v1"), {"tau": tau, "masspole": 0.5})
        >>> _ = env.reset(seed=0)
        >>> for _ in range(3):
        ...     info = env.step(0)[4]
        >>> env.unwrapped.tau, env.unwrapped.total_mass, info["shift_values"]["dynamics.tau"]
        (0.04, 1.5, 0.04)

        (Registration lasts for the process; this example takes its adapter out again.)

        >>> from fade_rl.envs.dynamics import registry
        >>> registry._ADAPTERS.remove(CartPoleTauAdapter)
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
