"""The policy a config asks for: critic architecture options and named features extractors.

``algo.critic: {layer_norm: true, crelu: false}`` selects
:func:`fade_rl.algos.critic_arch_policy` (CriticArchDQNPolicy,
CriticArchSACPolicy or CriticArchTD3Policy) with those options in ``policy_kwargs``;
it combines with every method. YAML cannot name a Python class, so
``policy_kwargs.features_extractor_class`` takes a name from :data:`EXTRACTORS` and
``policy_kwargs.activation_fn`` one from :data:`ACTIVATIONS`.

Example:
    >>> sorted(EXTRACTORS)
    ['flatten', 'minatar_cnn', 'nature_cnn']
    >>> sorted(ACTIVATIONS)
    ['elu', 'leaky_relu', 'leaky_relu_0.1', 'relu', 'tanh']
    >>> from stable_baselines3 import DQN
    >>> policy, kwargs = resolve_policy(
    ...     "MlpPolicy", {"features_extractor_class": "minatar_cnn", "net_arch": []},
    ...     CriticConfig(layer_norm=True), DQN)
    >>> policy.__name__, kwargs["features_extractor_class"].__name__, kwargs["layer_norm"]
    ('CriticArchDQNPolicy', 'MinAtarCNN', True)
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from fade_rl.experiments.runs.checks import ConfigError

__all__ = ["ACTIVATIONS", "EXTRACTORS", "CriticConfig", "check_policy", "resolve_policy"]

#: Features extractors a YAML config may name: name -> "module:class".
EXTRACTORS: dict[str, str] = {
    "minatar_cnn": "fade_rl.algos.extractors:MinAtarCNN",
    "nature_cnn": "stable_baselines3.common.torch_layers:NatureCNN",
    "flatten": "stable_baselines3.common.torch_layers:FlattenExtractor",
}
_EXTRACTOR_KEY = "algo.hyperparams.policy_kwargs.features_extractor_class"

#: Activation functions a YAML config may name: name -> (``torch.nn`` class, its arguments).
#: ``leaky_relu`` is torch's (slope 0.01); ``leaky_relu_0.1`` is C-CHAIN's and TRAC's.
ACTIVATIONS: dict[str, tuple[str, tuple[float, ...]]] = {
    "relu": ("ReLU", ()),
    "tanh": ("Tanh", ()),
    "elu": ("ELU", ()),
    "leaky_relu": ("LeakyReLU", ()),
    "leaky_relu_0.1": ("LeakyReLU", (0.1,)),
}
_ACTIVATION_KEY = "algo.hyperparams.policy_kwargs.activation_fn"


class CriticConfig(BaseModel):
    """Critic architecture options (any method): layer norm (Lyle et al. 2024), CReLU
    (Abbas et al. 2023). FADE still finds and optimizes the critic's final linear head.

    Example:
        >>> CriticConfig(crelu=True).any, CriticConfig().any
        (True, False)
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True, strict=True)

    layer_norm: bool = False
    crelu: bool = False

    @property
    def any(self) -> bool:
        """Whether an option is on (the run then uses a CriticArch policy)."""
        return self.layer_norm or self.crelu


def check_policy(algo: Any) -> None:
    """One-line :class:`ConfigError` for an unknown extractor name or misplaced options."""
    kwargs = algo.hyperparams.get("policy_kwargs")
    if kwargs is None:
        kwargs = {}
    if not isinstance(kwargs, dict):
        raise ConfigError(
            f"algo.hyperparams.policy_kwargs: expected a mapping, got {type(kwargs).__name__}"
        )
    name = kwargs.get("features_extractor_class")
    if name is not None and name not in EXTRACTORS:
        raise ConfigError(
            f"{_EXTRACTOR_KEY}: unknown features extractor {name!r}; use one of "
            f"{', '.join(sorted(EXTRACTORS))}"
        )
    activation = kwargs.get("activation_fn")
    if activation is not None and (
        not isinstance(activation, str) or activation not in ACTIVATIONS
    ):
        raise ConfigError(
            f"{_ACTIVATION_KEY}: unknown activation {activation!r}; use one of "
            f"{', '.join(sorted(ACTIVATIONS))}"
        )
    for option in ("layer_norm", "crelu"):
        if option in kwargs:
            raise ConfigError(
                f"algo.hyperparams.policy_kwargs.{option}: set algo.critic.{option} instead"
            )
    if algo.critic.any and algo.policy != "MlpPolicy":
        raise ConfigError(
            f"algo.critic: layer_norm/crelu build on SB3's MlpPolicy, got algo.policy "
            f"{algo.policy!r}; use policy: MlpPolicy (with a features_extractor_class for images)"
        )


def _extractor_class(name: str) -> type:
    import importlib

    module, cls = EXTRACTORS[name].split(":")
    return getattr(importlib.import_module(module), cls)  # type: ignore[no-any-return]


def _activation(name: str) -> Any:
    """The activation class (or a ``partial`` of it with its arguments) SB3 calls per layer."""
    import functools

    from torch import nn

    cls_name, args = ACTIVATIONS[name]
    cls = getattr(nn, cls_name)
    return functools.partial(cls, *args) if args else cls


def resolve_policy(
    policy: str, policy_kwargs: dict[str, Any] | None, critic: CriticConfig, algorithm: type
) -> tuple[Any, dict[str, Any] | None]:
    """SB3's ``policy`` and ``policy_kwargs`` arguments for a (checked) config's values."""
    kwargs = dict(policy_kwargs) if policy_kwargs is not None else None
    if kwargs is not None and isinstance(kwargs.get("features_extractor_class"), str):
        kwargs["features_extractor_class"] = _extractor_class(kwargs["features_extractor_class"])
    if kwargs is not None and isinstance(kwargs.get("activation_fn"), str):
        kwargs["activation_fn"] = _activation(kwargs["activation_fn"])
    if not critic.any:
        return policy, kwargs
    from fade_rl.algos import critic_arch_policy

    kwargs = {**(kwargs or {}), "layer_norm": critic.layer_norm, "crelu": critic.crelu}
    return critic_arch_policy(algorithm), kwargs
