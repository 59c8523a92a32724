"""Building a run's pieces from its config: environment, model, method callbacks, device.

:func:`check_buildable` builds the environment and the model once (and throws them away)
so that everything SB3, Gymnasium and FADE would refuse (an unknown env kwarg, a bad
schedule, an algorithm that does not fit the action space, an unknown policy, a negative
learning rate, FADE's ``init_decay``) is a one-line :class:`ConfigError` before anything
is written. It also gives the method's callbacks the model, as ``learn`` does, so that a
method refuses a model it does not work on (plasticity injection refuses PPO) there too.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from fade_rl.experiments.runs.config import ConfigError, ExperimentConfig
from fade_rl.experiments.runs.policies import resolve_policy
from fade_rl.methods import REGISTRY

if TYPE_CHECKING:
    from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm

__all__ = [
    "algorithm_class",
    "build_model",
    "check_buildable",
    "device_info",
    "make_env",
    "method_callbacks",
    "resolve_device",
]


def resolve_device(device: str) -> str:
    """The torch device a run uses: ``auto`` is CUDA when present, the CPU otherwise."""
    import torch as th

    if device == "auto":
        return "cuda" if th.cuda.is_available() else "cpu"
    return device


def device_info(model: Any) -> dict[str, Any]:
    """``{"device": str(model.device)}``, plus ``"gpu"`` (its name) when it is a CUDA device."""
    import torch as th

    out: dict[str, Any] = {"device": str(model.device)}
    if model.device.type == "cuda":
        out["gpu"] = th.cuda.get_device_name(model.device)
    return out


def make_env(config: ExperimentConfig) -> Any:
    """The run's vectorized environment (``n_envs`` copies, each under ``Monitor``).

    With ``env.reward_scale`` each copy's rewards are scaled outside its ``Monitor``, so the
    logged episode returns stay unscaled.
    """
    import functools
    import operator

    from gymnasium.wrappers import TransformReward
    from stable_baselines3.common.env_util import make_vec_env

    import fade_rl.envs  # noqa: F401  (registers the ids)

    scale = config.env.reward_scale
    wrapper: Any = None if scale == 1.0 else TransformReward
    return make_vec_env(
        config.env.id,
        n_envs=config.env.n_envs,
        seed=config.seed,
        env_kwargs=dict(config.env.kwargs),
        wrapper_class=wrapper,
        wrapper_kwargs=None if scale == 1.0 else {"func": functools.partial(operator.mul, scale)},
    )


def algorithm_class(config: ExperimentConfig) -> type[OffPolicyAlgorithm]:
    """The family's FADE version when the method's spec asks for it, SB3's class otherwise."""
    from fade_rl.algos import FAMILIES

    family = FAMILIES[config.algo.name]
    cls: type[OffPolicyAlgorithm] = (
        family.fade_class if REGISTRY[config.method].fade else family.sb3_class
    )
    return cls


def build_model(config: ExperimentConfig, env: Any, **changes: Any) -> Any:
    """A new model for ``config`` on ``env`` (``changes`` replace hyperparameters).

    The policy comes from :func:`~fade_rl.experiments.runs.policies.resolve_policy` (critic
    architecture options, named features extractors).
    """
    kwargs = {**config.algo.hyperparams, **changes}
    if REGISTRY[config.method].fade:
        kwargs["fade_kwargs"] = {k: v for k, v in config.method_params().items() if v is not None}
    device = resolve_device(config.device)
    cls = algorithm_class(config)
    policy, kwargs["policy_kwargs"] = resolve_policy(
        config.algo.policy, kwargs.get("policy_kwargs"), config.algo.critic, cls
    )
    return cls(policy, env, seed=config.seed, device=device, verbose=0, **kwargs)


def method_callbacks(config: ExperimentConfig) -> list[Any]:
    """The SB3 callbacks that apply the run's method (from :data:`~fade_rl.methods.REGISTRY`)."""
    spec = REGISTRY[config.method]
    if spec.params is None:
        return []
    return spec.callbacks(getattr(config.methods, config.method))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def check_replay_memory(config: ExperimentConfig, env: Any, source: str = "config") -> None:
    """Refuse a replay buffer larger than this machine's memory: SB3 allocates it whole when
    the run starts, which then dies of ``MemoryError`` with its folder already written.

    It counts the observations twice (SB3 keeps the next ones too) and the actions.
    """
    import numpy as np

    size = config.algo.hyperparams.get("buffer_size")
    if not isinstance(size, int) or isinstance(size, bool):
        return
    spaces = [env.observation_space, env.observation_space, env.action_space]
    per_step = sum(
        int(np.prod(s.shape or (1,))) * np.dtype(s.dtype or np.float32).itemsize for s in spaces
    )
    needed = size * per_step
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    if needed > total:
        raise ConfigError(
            f"{source}: algo.hyperparams.buffer_size: {size} transitions need "
            f"{needed / 2**30:.1f} GiB, this machine has {total / 2**30:.1f} GiB; lower it"
        )


def _small_buffer(config: ExperimentConfig) -> dict[str, Any]:
    """``buffer_size=10`` for an algorithm with a replay buffer (DQN, SAC, TD3), else nothing
    (PPO's rollout buffer is one rollout: built as configured)."""
    import inspect

    from fade_rl.algos import FAMILIES

    # the SB3 class's signature: a Fade class's own is (policy, env, *args, fade_kwargs, **kw)
    sb3_class = FAMILIES[config.algo.name].sb3_class
    takes = "buffer_size" in inspect.signature(sb3_class).parameters
    return {"buffer_size": 10} if takes else {}


def check_buildable(config: ExperimentConfig, source: str = "config") -> None:
    """Build the run's environment and model once, or raise a one-line :class:`ConfigError`.

    A replay buffer is built small (its size is checked by the config), so this costs a
    fraction of a second and no memory to speak of. The method's callbacks are then given
    the model, as ``learn`` gives it them: a method that refuses the model is a ConfigError.
    """
    import warnings

    try:
        env = make_env(config)
    except Exception as exc:
        raise ConfigError(f"{source}: env ({config.env.id}): {_first_line(exc)}") from None
    try:
        check_replay_memory(config, env, source)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = build_model(config, env, **_small_buffer(config))
    except ConfigError:
        env.close()
        raise
    except Exception as exc:
        env.close()
        raise ConfigError(
            f"{source}: algo ({config.algo.name}, {config.algo.policy}"
            f"{', method ' + config.method if REGISTRY[config.method].fade else ''}): "
            f"{_first_line(exc)}"
        ) from None
    try:
        _check_method(config, model)
    except Exception as exc:
        raise ConfigError(
            f"{source}: method {config.method} on {config.algo.name}: {_first_line(exc)}"
        ) from None
    finally:
        env.close()


def _check_method(config: ExperimentConfig, model: Any) -> None:
    """Give the method's callbacks the model as ``learn`` would: a method refuses a model it
    does not work on there (plasticity injection refuses PPO)."""
    from stable_baselines3.common.logger import Logger

    model.set_logger(Logger(None, []))  # writes nothing (configure() would make a folder)
    for callback in method_callbacks(config):
        callback.init_callback(model)
