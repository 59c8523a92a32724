"""The critics' Q networks and their heads: what FADE optimizes and the baselines act on.

A Q network of SB3's DQN (``policy.q_net.q_net``, named ``"q_net"``) or of SAC's and TD3's
twin critics (``critic.q_networks[i]``, named ``"qf<i>"``) is an ``nn.Sequential`` whose
last ``nn.Linear`` is its head.

Example:
    >>> from stable_baselines3 import DQN
    >>> model = DQN("MlpPolicy", "CartPole-v1", policy_kwargs=dict(net_arch=[8]))
    >>> critic_heads(model)
    {'q_net': Linear(in_features=8, out_features=2, bias=True)}
"""

from __future__ import annotations

from stable_baselines3 import DQN
from torch import nn

from fade_rl.parts.checks import SupportedModel, check_model

__all__ = ["critic_heads", "critic_q_nets", "head_parameters", "split_head"]


def critic_q_nets(model: SupportedModel) -> dict[str, nn.Module]:
    """The Q networks by name: ``{"q_net": ...}`` (DQN) or ``{"qf0": ..., "qf1": ...}``.

    Only the MLP after the features extractor; the online networks, not the targets.
    """
    model = check_model(model, "critic_q_nets")
    if isinstance(model, DQN):
        return {"q_net": model.policy.q_net.q_net}
    return {f"qf{i}": net for i, net in enumerate(model.critic.q_networks)}


def critic_heads(model: SupportedModel) -> dict[str, nn.Linear]:
    """The final ``nn.Linear`` of each Q network, by name (see :func:`critic_q_nets`)."""
    return {name: split_head(net, name)[1] for name, net in critic_q_nets(model).items()}


def split_head(net: nn.Module, where: str) -> tuple[nn.Sequential, nn.Linear]:
    """Split a critic network into ``(body, head)``: ``net(x) == head(body(x))``.

    ``net`` must be an ``nn.Sequential`` (possibly nested) whose last module is an
    ``nn.Linear``: that layer is the head FADE optimizes, and ``body`` (the
    modules before it) computes the head's input features.

    Args:
        net: the network, e.g. SB3's ``QNetwork.q_net`` or one of ``ContinuousCritic.q_networks``.
        where: a name for ``net`` used in error messages.

    Raises:
        TypeError: if ``net`` is not a non-empty ``nn.Sequential`` ending in ``nn.Linear``.

    Example:
        >>> from torch import nn
        >>> body, head = split_head(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)), "q")
        >>> head
        Linear(in_features=8, out_features=2, bias=True)
    """
    if not isinstance(net, nn.Sequential) or len(net) == 0:
        raise TypeError(
            f"{where} is a {type(net).__name__}, not a non-empty nn.Sequential ending in "
            "nn.Linear; FADE optimizes a linear head and needs the features entering it. "
            "Use SB3's MLP heads (net_arch) or a custom features extractor, and keep the last "
            "layer an nn.Linear."
        )
    last = net[-1]
    if isinstance(last, nn.Sequential):
        inner_body, head = split_head(last, f"{where}[-1]")
        return nn.Sequential(*list(net)[:-1], *inner_body), head
    if not isinstance(last, nn.Linear):
        raise TypeError(
            f"the last layer of {where} is {type(last).__name__}, not nn.Linear: FADE learns "
            "the decay rates of a linear head (its curvature is exact only for y = W phi + b). "
            "Make the critic end in an nn.Linear (e.g. no output activation)."
        )
    return nn.Sequential(*list(net)[:-1]), last


def head_parameters(head: nn.Linear) -> list[nn.Parameter]:
    """The trainable parameters of a linear head: weight, then bias if it has one."""
    return [p for p in head.parameters() if p.requires_grad]  # nn.Linear registers weight first
