"""The registered ``fade_rl/...`` environment ids and :func:`list_envs`.

Every id builds its shift wrappers inside ``gym.make`` (the entry point wraps the raw
environment), so ``Monitor`` and SB3's ``rollout/ep_rew_mean`` see the shifted reward, and
``env.spec`` rebuilds the same environment. Schedules count steps per environment copy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
from gymnasium.envs.registration import load_env_creator

from fade_rl.envs.action import ActionShift
from fade_rl.envs.cuts import IterationCut
from fade_rl.envs.dynamics import DynamicsShift
from fade_rl.envs.minatar import MINATAR_GAMES, minatar_env_id
from fade_rl.envs.observation import ObservationShift
from fade_rl.envs.offsets import ObservationOffsets
from fade_rl.envs.reward import RewardShift
from fade_rl.envs.switching_frozenlake import LEVEL_MAPS

__all__ = [
    "ENVS",
    "NAMESPACE",
    "list_envs",
    "make_offset_levels",
    "make_shifted",
    "register_envs",
]

NAMESPACE = "fade_rl"


def make_shifted(
    base: str,
    base_kwargs: Mapping[str, Any] | None = None,
    dynamics: Mapping[str, Any] | None = None,
    action: Mapping[str, Any] | None = None,
    observation: Mapping[str, Any] | None = None,
    reward: Mapping[str, Any] | None = None,
    render_mode: str | None = None,
) -> gym.Env:
    """Entry point of the registered ids: the raw ``base`` env inside shift wrappers.

    The raw environment is built from ``base``'s entry point (no TimeLimit or checker: the
    outer ``gym.make`` adds those around the wrappers). Wrappers go on from the inside out
    in the order dynamics, action, observation, reward; each ``*`` argument is the keyword
    arguments of that wrapper (``dynamics`` is its ``params`` dict).

    Example:
        CartPole with its reward negated (a constant sign, for brevity):

        >>> from fade_rl.envs import make_shifted
        >>> env = make_shifted("CartPole-v1", reward={"sign": -1.0})
        >>> _ = env.reset(seed=0)
        >>> _, reward, _, _, info = env.step(0)
        >>> reward, info["unshifted_reward"]
        (-1.0, 1.0)
    """
    spec = gym.spec(base)
    kwargs = {**spec.kwargs, **(base_kwargs or {})}
    if render_mode is not None:
        kwargs["render_mode"] = render_mode
    entry = spec.entry_point
    creator = load_env_creator(entry) if isinstance(entry, str) else entry
    if creator is None:
        raise ValueError(f"make_shifted: {base!r} is registered without an entry point.")
    env = creator(**kwargs)
    if not isinstance(env, gym.Env):
        raise TypeError(f"make_shifted: base {base!r} must build a gymnasium.Env, got {env!r}.")
    if dynamics is not None:
        env = DynamicsShift(env, dynamics)
    if action is not None:
        env = ActionShift(env, **action)
    if observation is not None:
        env = ObservationShift(env, **observation)
    if reward is not None:
        env = RewardShift(env, **reward)
    return env


def make_offset_levels(
    base: str,
    iteration_steps: int | None = None,
    render_mode: str | None = None,
    **levels: Any,
) -> gym.Env:
    """Entry point of the ``*-ObsOffsets-v0`` ids: raw ``base`` in :class:`ObservationOffsets`.

    The continual Gym control protocol of TRAC and C-CHAIN: ``levels`` levels of
    ``level_steps`` steps, each adding a fixed observation offset with entries drawn from
    ``N(0, scale**2)`` (``scale`` is the standard deviation), level 0 none, drawn once per
    seed. The registered ids cap episodes at 400 steps. With ``iteration_steps`` the
    episode is also cut every that many steps (:class:`~fade_rl.envs.cuts.IterationCut`:
    their PPO resets the environment at each 800-step iteration); a level then starts
    with a fresh episode when ``level_steps`` is a multiple of it. ``levels`` are
    :class:`ObservationOffsets`'s arguments (``levels``, ``level_steps``, ``scale``,
    ``seed``, ``permute``, ``flip_signs``).

    Example:
        >>> import gymnasium as gym
        >>> import fade_rl.envs
        >>> env = gym.make("fade_rl/CartPole-ObsOffsets-v0", level_steps=100)
        >>> env.spec.max_episode_steps, env.spec.kwargs["levels"], env.spec.kwargs["scale"]
        (400, 10, 2.0)
        >>> info = env.reset(seed=0)[1]
        >>> info["shift_values"]["observation.level"]
        0
    """
    env = make_shifted(base, render_mode=render_mode)
    env = ObservationOffsets(env, **levels)
    return env if iteration_steps is None else IterationCut(env, every=iteration_steps)


def _periodic(values: list[float], period: int) -> dict[str, Any]:
    return {"type": "periodic", "values": values, "period": period}


_SHIFTED = "fade_rl.envs.registration:make_shifted"
_SEQUENCE = "fade_rl.envs.task_sequence:TaskSequence"
_OFFSETS = "fade_rl.envs.registration:make_offset_levels"
#: Episode cap of the continual Gym control ids (TRAC's and C-CHAIN's).
OFFSETS_MAX_EPISODE_STEPS = 400
#: Episode cap of the MinAtar ids: MinAtar has none, and a Seaquest submarine that stays at
#: the surface never dies.
MINATAR_MAX_EPISODE_STEPS = 10_000
_MINATAR = "fade_rl.envs.minatar:MinAtarEnv"
_MINATAR_SEQUENCE = "fade_rl.envs.minatar:make_minatar_sequence"


def _switching(period: int, **values: list[float]) -> dict[str, Any]:
    """A ``dynamics`` dict: each named parameter cycles through its values every ``period``."""
    return {name: _periodic(cycle, period) for name, cycle in values.items()}


def _shifted(
    description: str, base: str, max_episode_steps: int, **shifts: Any
) -> tuple[str, dict[str, Any]]:
    """An :data:`ENVS` entry built by :func:`make_shifted` (``shifts``: its wrapper kwargs)."""
    return (
        description,
        {
            "entry_point": _SHIFTED,
            "max_episode_steps": max_episode_steps,
            "kwargs": {"base": base, **shifts},
        },
    )


def _offset_levels(
    name: str, base: str, max_episode_steps: int = OFFSETS_MAX_EPISODE_STEPS
) -> tuple[str, dict[str, Any]]:
    """An :data:`ENVS` entry of the continual Gym control protocol (TRAC, C-CHAIN)."""
    return (
        f"{name}, 10 levels of 160k steps, each adding a fixed N(0, 2^2) observation offset, "
        f"episodes <= {max_episode_steps}",
        {
            "entry_point": _OFFSETS,
            "max_episode_steps": max_episode_steps,
            "kwargs": {"base": base, "levels": 10, "level_steps": 160_000, "scale": 2.0},
        },
    )


def _minatar_envs() -> dict[str, tuple[str, dict[str, Any]]]:
    """The ids of the five MinAtar games and of the C-MinAtar sequence."""
    envs: dict[str, tuple[str, dict[str, Any]]] = {}
    for name, game in MINATAR_GAMES.items():
        envs[minatar_env_id(game)] = (
            f"MinAtar {name} (10x10, channels-first uint8 in {{0, 1}}, 6 actions, sticky 0.1), "
            "stationary",
            {
                "entry_point": _MINATAR,
                "max_episode_steps": MINATAR_MAX_EPISODE_STEPS,
                "kwargs": {"game": game},
            },
        )
    envs[f"{NAMESPACE}/MinAtar-Sequence-v0"] = (
        "C-MinAtar: SpaceInvaders -> Asterix -> Seaquest (10x10x10 padded, 6 actions), next "
        "game every 2M steps",
        {"entry_point": _MINATAR_SEQUENCE, "kwargs": {"switch_every": 2_000_000}},
    )
    return envs


#: id -> (one-line description, ``gym.register`` keyword arguments).
ENVS: dict[str, tuple[str, dict[str, Any]]] = {
    f"{NAMESPACE}/CartPole-RewardFlip-v0": _shifted(
        "CartPole whose reward flips sign (+1 <-> -1 per step) every 50k steps",
        "CartPole-v1",
        500,
        reward={"sign": _periodic([1.0, -1.0], 50_000)},
    ),
    f"{NAMESPACE}/CartPole-Dynamics-v0": _shifted(
        "CartPole whose half pole length (0.5 <-> 1.5) and pole mass (0.1 <-> 0.5) switch "
        "every 50k steps",
        "CartPole-v1",
        500,
        dynamics=_switching(50_000, length=[0.5, 1.5], masspole=[0.1, 0.5]),
    ),
    f"{NAMESPACE}/CartPole-ObsPermute-v0": _shifted(
        "CartPole whose 4 observation dimensions are re-permuted at random every 50k steps",
        "CartPole-v1",
        500,
        observation={"permute_every": 50_000},
    ),
    f"{NAMESPACE}/CartPole-ActionPermute-v0": _shifted(
        "CartPole whose two actions (push left/right) swap meaning every 50k steps",
        "CartPole-v1",
        500,
        action={"permute_every": 50_000},
    ),
    f"{NAMESPACE}/CartPole-ObsOffsets-v0": _offset_levels("CartPole", "CartPole-v1"),
    f"{NAMESPACE}/Acrobot-ObsOffsets-v0": _offset_levels("Acrobot", "Acrobot-v1"),
    # The same levels on a continuous-action task, for SAC; Pendulum keeps its 200 steps.
    f"{NAMESPACE}/Pendulum-ObsOffsets-v0": _offset_levels("Pendulum", "Pendulum-v1", 200),
    f"{NAMESPACE}/Pendulum-Dynamics-v0": _shifted(
        "Pendulum whose gravity (10 <-> 15) and mass (1.0 <-> 1.5) switch every 20k steps",
        "Pendulum-v1",
        200,
        dynamics=_switching(20_000, g=[10.0, 15.0], m=[1.0, 1.5]),
    ),
    f"{NAMESPACE}/MountainCarContinuous-Dynamics-v0": _shifted(
        "MountainCarContinuous whose engine power switches 0.0015 <-> 0.0011 every 50k steps",
        "MountainCarContinuous-v0",
        999,
        dynamics=_switching(50_000, power=[0.0015, 0.0011]),
    ),
    f"{NAMESPACE}/Acrobot-Dynamics-v0": _shifted(
        "Acrobot whose lower link mass (1 <-> 2) and upper link length (1 <-> 1.5) switch "
        "every 50k steps",
        "Acrobot-v1",
        500,
        dynamics=_switching(50_000, link_mass_2=[1.0, 2.0], link_length_1=[1.0, 1.5]),
    ),
    f"{NAMESPACE}/HalfCheetah-Dynamics-v0": _shifted(
        "HalfCheetah (MuJoCo) whose body masses (x1 <-> x1.5) and friction (x1 <-> x0.5) "
        "switch every 100k steps",
        "HalfCheetah-v5",
        1000,
        dynamics=_switching(100_000, body_mass_scale=[1.0, 1.5], friction_scale=[1.0, 0.5]),
    ),
    f"{NAMESPACE}/FrozenLake-Maps-v0": (
        "3x3 FrozenLake (one-hot cells, episodes <= 8 steps): a new map (goal and holes) "
        "every 100 episodes, 10 maps",
        {
            "entry_point": "fade_rl.envs.switching_frozenlake:SwitchingFrozenLake",
            "max_episode_steps": 8,
            "kwargs": {
                "maps": [list(m) for m in LEVEL_MAPS],
                "map_schedule": {"type": "periodic", "values": list(range(10)), "period": 100},
            },
        },
    ),
    f"{NAMESPACE}/FrozenLake-SwitchingGoal-v0": (
        "2x2 FrozenLake (one-hot cells, 2 steps) whose goal route flips after 200 episodes "
        "(primacy-bias blog)",
        {
            "entry_point": "fade_rl.envs.switching_frozenlake:SwitchingFrozenLake",
            "max_episode_steps": 2,
        },
    ),
    f"{NAMESPACE}/Atari-Sequence-v0": (
        "Atari Pong -> Breakout -> SpaceInvaders (18 actions, 4x84x84 frames), next game "
        "every 500k steps",
        {
            "entry_point": _SEQUENCE,
            "kwargs": {
                "env_ids": ["ALE/Pong-v5", "ALE/Breakout-v5", "ALE/SpaceInvaders-v5"],
                "switch_every": 500_000,
                "preset": "atari",
            },
        },
    ),
}
ENVS.update(_minatar_envs())


def register_envs() -> None:
    """Register every id in :data:`ENVS` with Gymnasium (repeat calls are no-ops).

    Example:
        Importing :mod:`fade_rl.envs` already calls it; calling again changes nothing:

        >>> import gymnasium as gym
        >>> from fade_rl.envs import register_envs
        >>> register_envs()
        >>> gym.spec("fade_rl/CartPole-RewardFlip-v0").max_episode_steps
        500
    """
    for env_id, (_, kwargs) in ENVS.items():
        if env_id not in gym.registry:
            gym.register(id=env_id, **kwargs)


def list_envs() -> list[tuple[str, str]]:
    """Every registered fade_rl id with a one-line description, in registration order.

    Example:
        >>> from fade_rl.envs import list_envs
        >>> env_id, description = list_envs()[0]
        >>> env_id
        'fade_rl/CartPole-RewardFlip-v0'
        >>> description
        'CartPole whose reward flips sign (+1 <-> -1 per step) every 50k steps'
    """
    return [(env_id, description) for env_id, (description, _) in ENVS.items()]
