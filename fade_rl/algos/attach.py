"""attach_fade: turn an existing SB3 DQN, SAC, TD3 or PPO into its FADE counterpart."""

from __future__ import annotations

import contextlib
import copy
import inspect
import io
import pathlib
from collections.abc import Iterator
from typing import Any

import torch as th
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.save_util import load_from_zip_file

from fade_rl.algos.checkpoint import read_zip_data
from fade_rl.algos.common import FADE_KWARGS, FadeAlgorithmMixin, warn_if_cuda_missing
from fade_rl.algos.registry import family_of_class, family_of_policy, sb3_names

__all__ = ["attach_fade"]

#: What the new model shares with the old one instead of copying: the environment, the
#: replay buffer (possibly gigabytes) and the logger (open files). All else is copied.
_SHARED = ("env", "_vec_normalize_env", "replay_buffer", "_logger")


def _counterpart(algorithm: type[BaseAlgorithm]) -> type[FadeAlgorithmMixin]:
    try:
        fade_class: type[FadeAlgorithmMixin] = family_of_class(algorithm).fade_class
    except TypeError:
        raise TypeError(
            f"attach_fade supports SB3's {sb3_names()} (and subclasses), got {algorithm.__name__}"
        ) from None
    return fade_class


def _algorithm_of_zip(path: str | pathlib.Path | io.BufferedIOBase) -> type[BaseAlgorithm]:
    """Which family's SB3 algorithm saved a zip, from its policy class."""
    data, _, _ = load_from_zip_file(path, load_data=True, device="cpu")
    if data is None or "policy_class" not in data:
        raise ValueError(f"{path} holds no SB3 model data (no policy_class)")
    family = family_of_policy(data["policy_class"])
    if family is None:
        raise TypeError(
            f"{path} holds a model with policy {data['policy_class']!r}; attach_fade supports "
            f"{sb3_names()}"
        )
    algorithm: type[BaseAlgorithm] = family.sb3_class
    # Algorithms may share a policy class (PPO's ActorCriticPolicy is A2C's too): the zip
    # must also hold every hyperparameter the algorithm adds to its base class.
    missing = sorted(name for name in _own_hyperparameters(algorithm) if name not in data)
    if missing:
        raise TypeError(
            f"{path} holds a model with policy {data['policy_class'].__name__} but without "
            f"{algorithm.__name__}'s {', '.join(missing)}: it was not saved by a "
            f"{algorithm.__name__}; attach_fade supports {sb3_names()}"
        )
    return algorithm


@contextlib.contextmanager
def _distribution_caches_cleared(model: BaseAlgorithm) -> Iterator[None]:
    """Within the block, the policy's action distributions hold no last distribution.

    SB3 keeps the distribution of the last forward pass on its ``action_dist``; after a
    PPO ``train()`` it holds the loss's graph, which ``deepcopy`` refuses. It is a cache
    (the next forward pass replaces it): the copy starts without one, the original keeps its.
    """
    cleared: list[tuple[Any, Any]] = []
    for module in model.policy.modules():
        action_dist: Any = getattr(module, "action_dist", None)
        if getattr(action_dist, "distribution", None) is not None:
            cleared.append((action_dist, action_dist.distribution))
            action_dist.distribution = None
    try:
        yield
    finally:
        for action_dist, distribution in cleared:
            action_dist.distribution = distribution


def _own_hyperparameters(algorithm: type) -> set[str]:
    """The constructor arguments ``algorithm`` adds to its base class's (public ones)."""
    own = set(inspect.signature(algorithm).parameters)
    inherited = set(inspect.signature(algorithm.__mro__[1]).parameters)
    return {name for name in own - inherited if not name.startswith("_")}


def attach_fade(
    model_or_path: BaseAlgorithm | str | pathlib.Path,
    *,
    env: Any = None,
    device: th.device | str = "auto",
    **fade_kwargs: Any,
) -> Any:
    """Turn an SB3 DQN, SAC, TD3 or PPO (fresh, trained, or a saved zip) into its FADE version.

    The new model starts from a copy of the old one's networks (weights unchanged),
    optimizers, ``num_timesteps``, learning-rate schedule and every other
    hyperparameter. The critic heads move to FADE (decay rates start at
    ``init_decay``); every other critic parameter keeps SB3's optimizer (its class,
    kwargs and state). The heads keep their Adam/AdamW moments and step counts. The
    actor and its optimizer are as they were (PPO's one optimizer keeps the actor: it
    becomes FADE's body, as the rest of the critic's does).

    ``model`` itself is left as it was: it has its own networks and optimizers, so
    it keeps training, and its ``save()`` still loads with SB3's ``DQN.load`` (or
    ``SAC.load``, ``TD3.load``, ``PPO.load``). The two models share the environment, the
    replay buffer and the logger (not copied: a buffer may hold gigabytes); PPO's rollout
    buffer is copied (each model collects its own rollouts).

    Args:
        model_or_path: an SB3 ``DQN``, ``SAC``, ``TD3`` or ``PPO`` (or subclass), or the
            path of a zip saved by one of them.
        env: when loading from a path, the environment to attach (as in
            ``DQN.load(path, env=env)``). Ignored for a model.
        device: when loading from a path, the device to load onto (``"cuda"`` on a
            machine without CUDA falls back to the CPU, as in SB3, with a warning).
        **fade_kwargs: keyword arguments of :class:`~fade_rl.optim.FADE`
            (``meta_lr``, ``init_decay``, ...; not the learning rate).

    Returns:
        The FADE counterpart: a FadeDQN, FadeSAC, FadeTD3 or FadePPO.

    Example:
        >>> from stable_baselines3 import DQN
        >>> from fade_rl import attach_fade
        >>> vanilla = DQN("MlpPolicy", "CartPole-v1", learning_starts=50)
        >>> _ = vanilla.learn(200)
        >>> model = attach_fade(vanilla, meta_lr=1.0, init_decay=1e-4)
        >>> type(model).__name__, model.num_timesteps
        ('FadeDQN', 200)
    """
    unknown = sorted(set(fade_kwargs) - set(FADE_KWARGS))
    if unknown:
        raise ValueError(
            f"attach_fade got unknown keyword arguments {unknown}; FADE's are {list(FADE_KWARGS)} "
            "(plus env= and device= when loading from a path)"
        )
    if isinstance(model_or_path, (str, pathlib.Path, io.BufferedIOBase)):
        saved_by = read_zip_data(model_or_path).get("fade_algorithm")
        if saved_by is not None:
            raise TypeError(
                f"{model_or_path} is already a {saved_by} checkpoint: open it with {saved_by}.load"
            )
        warn_if_cuda_missing(device, "attach_fade")
        algorithm = _algorithm_of_zip(model_or_path)
        if isinstance(model_or_path, io.BufferedIOBase):
            model_or_path.seek(0)
        model = algorithm.load(model_or_path, env=env, device=device)
    elif isinstance(model_or_path, BaseAlgorithm):
        model = model_or_path
    else:
        raise TypeError(
            f"attach_fade takes an SB3 {sb3_names()} model or the path of its zip, got "
            f"{type(model_or_path).__name__}"
        )
    if isinstance(model, FadeAlgorithmMixin):
        raise TypeError(f"the model is already a {type(model).__name__}; nothing to attach")
    fade_class = _counterpart(type(model))

    new = fade_class.__new__(fade_class)  # type: ignore[call-overload]
    # One deepcopy of everything the SB3 model holds (networks, optimizers, counters,
    # schedules, hyperparameters) keeps the aliases between them (q_net is
    # policy.q_net, the optimizers hold the copied parameters); the memo maps the
    # shared objects to themselves.
    shared = {name: model.__dict__[name] for name in _SHARED if name in model.__dict__}
    memo = {id(value): value for value in shared.values() if value is not None}
    with _distribution_caches_cleared(model):
        new.__dict__.update(copy.deepcopy(model.__dict__, memo))
    new.fade_kwargs = dict(fade_kwargs)
    new._install_fade()
    return new
