"""Features extractors for small images: :class:`MinAtarCNN` for MinAtar's 10x10 grids.

SB3's ``CnnPolicy`` builds NatureCNN (8x8 stride-4, 4x4 stride-2 and 3x3 convolutions),
which needs images of at least 36x36. MinAtar's are 10x10, so its agents use the network
of the MinAtar paper (Young & Tian 2019) instead: one 3x3 convolution with 16 filters and
stride 1, ReLU, flatten, one 128-unit linear layer with ReLU. With ``net_arch=[]`` the
Q network is that, then a linear head, which FADE finds and optimizes
(:func:`minatar_policy_kwargs`).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import torch as th
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

__all__ = ["MinAtarCNN", "minatar_policy_kwargs"]


class MinAtarCNN(BaseFeaturesExtractor):
    """Conv(3x3, ``n_filters``, stride 1) -> ReLU -> flatten -> Linear(``features_dim``) -> ReLU.

    Takes a channels-first ``(C, H, W)`` Box (H, W >= 3), e.g. the ``fade_rl/MinAtar-*``
    environments' ``(C, 10, 10)`` uint8 observations, which SB3 hands over as floats in
    {0, 1} (a uint8 Box with bounds [0, 1] is not an "image" to SB3, so it is neither divided
    by 255 nor transposed). Use it with ``"MlpPolicy"`` (or ``"CnnPolicy"``: the same policy
    with another default extractor) through ``policy_kwargs``.

    Example:
        >>> import fade_rl.envs
        >>> from fade_rl import FadeDQN
        >>> from fade_rl.algos.extractors import minatar_policy_kwargs
        >>> model = FadeDQN("MlpPolicy", "fade_rl/MinAtar-Breakout-v0",
        ...                 policy_kwargs=minatar_policy_kwargs(), device="cpu")
        >>> model.q_net.features_extractor
        MinAtarCNN(
          (cnn): Sequential(
            (0): Conv2d(4, 16, kernel_size=(3, 3), stride=(1, 1))
            (1): ReLU()
            (2): Flatten(start_dim=1, end_dim=-1)
          )
          (linear): Sequential(
            (0): Linear(in_features=1024, out_features=128, bias=True)
            (1): ReLU()
          )
        )
        >>> model.fade_heads["q_net"]
        Linear(in_features=128, out_features=6, bias=True)

    Args:
        observation_space: a ``gym.spaces.Box`` of shape ``(C, H, W)``, channels first.
        features_dim: units of the linear layer (the features the Q head reads); 128 in the
            MinAtar paper.
        n_filters: filters of the convolution; 16 in the MinAtar paper.
    """

    def __init__(
        self, observation_space: gym.Space, features_dim: int = 128, n_filters: int = 16
    ) -> None:
        where = "MinAtarCNN"
        if not isinstance(observation_space, gym.spaces.Box) or len(observation_space.shape) != 3:
            raise ValueError(
                f"{where}: needs a channels-first (C, H, W) Box observation space, got "
                f"{observation_space}; use a fade_rl/MinAtar-* environment or transpose "
                "channels-last images first."
            )
        c, h, w = observation_space.shape
        if h < 3 or w < 3:
            raise ValueError(
                f"{where}: the 3x3 convolution needs images of at least 3x3, got "
                f"{observation_space.shape} (is the space channels-last? it must be (C, H, W))."
            )
        for name, value in (("features_dim", features_dim), ("n_filters", n_filters)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{where}: {name} must be a positive integer, got {value!r}.")
        super().__init__(observation_space, features_dim)
        self.cnn = nn.Sequential(
            nn.Conv2d(c, n_filters, kernel_size=3, stride=1), nn.ReLU(), nn.Flatten()
        )
        self.linear = nn.Sequential(
            nn.Linear(n_filters * (h - 2) * (w - 2), features_dim), nn.ReLU()
        )

    def forward(self, observations: th.Tensor) -> th.Tensor:
        """Features of a batch of ``(C, H, W)`` observations: shape ``(batch, features_dim)``."""
        return self.linear(self.cnn(observations))


def minatar_policy_kwargs(features_dim: int = 128, n_filters: int = 16) -> dict[str, Any]:
    """``policy_kwargs`` of the MinAtar paper's Q network for SB3's DQN / FadeDQN.

    :class:`MinAtarCNN`, then the linear Q head straight on its ``features_dim`` features
    (``net_arch=[]``: no hidden MLP layers in between). A new dict on every call.

    Example:
        >>> minatar_policy_kwargs()["net_arch"]
        []
    """
    return {
        "features_extractor_class": MinAtarCNN,
        "features_extractor_kwargs": {"features_dim": features_dim, "n_filters": n_filters},
        "net_arch": [],
    }
