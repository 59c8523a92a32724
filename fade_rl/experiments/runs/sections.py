"""The sections of a run's config: environment, algorithm, budget, logging.

:class:`~fade_rl.experiments.runs.config.ExperimentConfig` puts them together with the
method, the seed and the device; each section refuses unknown keys and ``true`` for a
number (:class:`~fade_rl.strict.StrictModel`).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    Field,
    SerializerFunctionWrapHandler,
    ValidationInfo,
    field_validator,
    model_serializer,
)

from fade_rl.algos.registry import ALGORITHM_NAMES
from fade_rl.experiments.runs.checks import one_of
from fade_rl.experiments.runs.policies import CriticConfig
from fade_rl.metrics.settings import check_setting
from fade_rl.strict import StrictModel

__all__ = ["ALGOS", "AlgoConfig", "BudgetConfig", "EnvConfig", "LoggingConfig"]

#: Algorithms by config name (the algorithm families' registry).
ALGOS: tuple[str, ...] = ALGORITHM_NAMES

_Strict = StrictModel


class EnvConfig(_Strict):
    """The environment: a registered Gymnasium id, its ``gym.make`` kwargs, copies.

    ``reward_scale`` multiplies the reward the agent trains on; episode returns are logged
    unscaled (the scaling wraps each copy outside its ``Monitor``). C-CHAIN's and TRAC's PPO
    train on ``reward / 20``: ``reward_scale: 0.05``. At its default 1.0 it is left out of
    :meth:`~fade_rl.experiments.runs.config.ExperimentConfig.to_dict`, so the configs of
    runs made before it existed keep their identity.

    Example:
        >>> from fade_rl.experiments.runs.config import validate_config
        >>> config = validate_config({"env": {"id": "CartPole-v1"}}, "example")
        >>> config.env.id, config.env.kwargs, config.env.n_envs
        ('CartPole-v1', {}, 1)
        >>> validate_config({"env": {"id": "CartPole-v9"}}, "example")
        Traceback (most recent call last):
        ...
        fade_rl.experiments.runs.checks.ConfigError: example: env.id: unknown environment id ...
    """

    id: str
    kwargs: dict[str, Any] = Field(default_factory=dict)
    n_envs: int = Field(default=1, ge=1)
    reward_scale: float = Field(default=1.0, gt=0, allow_inf_nan=False)

    @model_serializer(mode="wrap")
    def _omit_default_reward_scale(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if self.reward_scale == 1.0:
            data.pop("reward_scale", None)
        return data

    @field_validator("id")
    @classmethod
    def _known_id(cls, value: str) -> str:
        import gymnasium as gym

        import fade_rl.envs  # noqa: F401  (registers the fade_rl/ ids)

        name = value.split(":", 1)[1] if ":" in value else value
        if ":" in value:
            import importlib

            try:
                importlib.import_module(value.split(":", 1)[0])
            except ImportError as exc:
                raise ValueError(f"cannot import the module of {value!r}: {exc}") from None
        if name not in gym.registry:
            raise ValueError(
                f"unknown environment id {value!r}; `fade-rl envs` lists the fade_rl ids"
            )
        return value


class AlgoConfig(_Strict):
    """The algorithm, its SB3 policy and keyword arguments (checked against SB3's signature).

    Example:
        >>> from fade_rl.experiments.runs.config import validate_config
        >>> algo = {"name": "dqn", "hyperparams": {"learning_rate": "1e-3"}}
        >>> config = validate_config({"env": {"id": "CartPole-v1"}, "algo": algo}, "example")
        >>> config.algo.name, config.algo.policy, config.algo.hyperparams
        ('dqn', 'MlpPolicy', {'learning_rate': 0.001})
        >>> algo = {"name": "dqn", "hyperparams": {"gama": 0.9}}
        >>> validate_config({"env": {"id": "CartPole-v1"}, "algo": algo}, "example")
        Traceback (most recent call last):
        ...
        fade_rl.experiments.runs.checks.ConfigError: example: algo.hyperparams.gama: DQN takes ...
    """

    name: Annotated[str, one_of(ALGOS, "algorithm")] = "dqn"
    policy: str = "MlpPolicy"
    hyperparams: dict[str, Any] = Field(default_factory=dict)
    critic: CriticConfig = Field(default_factory=CriticConfig)


class BudgetConfig(_Strict):
    """How many environment steps a run takes.

    Example:
        >>> from fade_rl.experiments.runs.config import validate_config
        >>> env = {"id": "CartPole-v1"}
        >>> validate_config({"env": env}, "example").budget.n_timesteps
        50000
        >>> validate_config({"env": env, "budget": {"n_timesteps": 1000}}, "ex").budget
        BudgetConfig(n_timesteps=1000)
        >>> validate_config({"env": env, "budget": {"n_timesteps": 0}}, "example")
        Traceback (most recent call last):
        ...
        fade_rl.experiments.runs.checks.ConfigError: example: budget.n_timesteps: Input should ...
    """

    n_timesteps: int = Field(default=50_000, ge=1)


#: The PlasticityCallback setting each measurement key of ``logging`` gives.
_CALLBACK_SETTING = {
    "plasticity_interval": "interval",
    "plasticity_batch": "batch_size",
    "probe_interval": "probe_interval",
    "histogram_interval": "histogram_interval",
}


class LoggingConfig(_Strict):
    """Logging, checkpoint and measurement intervals (in environment steps unless said).

    Example:
        >>> from fade_rl.experiments.runs.config import validate_config
        >>> env = {"id": "CartPole-v1"}
        >>> logging = validate_config({"env": env}, "example").logging
        >>> logging.checkpoint_interval, logging.plasticity_interval, logging.keep_checkpoints
        (10000, 2000, 1)
        >>> off = {"plasticity_interval": 0}  # no plasticity measurements
        >>> validate_config({"env": env, "logging": off}, "example").logging.plasticity_interval
        0
        >>> validate_config({"env": env, "logging": {"plasticity_interval": -5}}, "example")
        Traceback (most recent call last):
        ...
        fade_rl.experiments.runs.checks.ConfigError: example: logging.plasticity_interval: ...
    """

    log_interval: int = Field(default=4, ge=1, description="episodes between SB3 log dumps")
    checkpoint_interval: int = Field(default=10_000, ge=1)
    plasticity_interval: int = Field(default=2_000, description="0 turns it off")
    plasticity_batch: int = 256
    probe_interval: int | None = Field(default=10_000, description="plasticity probe")
    histogram_interval: int | None = 10_000
    memory_probe: bool = True
    progress_bar: bool = True
    keep_checkpoints: int = Field(default=1, ge=1)

    @field_validator(
        "plasticity_interval",
        "plasticity_batch",
        "probe_interval",
        "histogram_interval",
        mode="before",
    )
    @classmethod
    def _measurement_setting(cls, value: Any, info: ValidationInfo) -> Any:
        """PlasticityCallback's own check of the setting, before any conversion, so both
        refuse the same values alike (``plasticity_interval`` 0: no measurements)."""
        if info.field_name == "plasticity_interval" and type(value) is int and value == 0:
            return value
        return check_setting(_CALLBACK_SETTING[str(info.field_name)], value)
