"""The dynamics adapter for every MuJoCo environment (a Gymnasium ``MujocoEnv``).

The ``mujoco`` package is imported only when an environment is matched against it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import gymnasium as gym
import numpy as np

from fade_rl.envs.dynamics.base import DynamicsAdapter

__all__ = ["MujocoAdapter"]


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
