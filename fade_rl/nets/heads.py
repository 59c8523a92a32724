"""Linear heads: where a critic network's last ``nn.Linear`` is, and the features entering it.

FADE optimizes a critic's head; the methods and the metrics act on it. Which network is a
critic is the algorithm family's knowledge (:mod:`fade_rl.algos`); this module only splits
a network it is given.

Example:
    >>> from torch import nn
    >>> body, head = split_head(nn.Linear(8, 1), "value_net")
    >>> type(body).__name__, head
    ('Identity', Linear(in_features=8, out_features=1, bias=True))
"""

from __future__ import annotations

from torch import nn

__all__ = ["head_parameters", "split_head"]


def split_head(net: nn.Module, where: str) -> tuple[nn.Module, nn.Linear]:
    """Split a critic network into ``(body, head)``: ``net(x) == head(body(x))``.

    ``net`` is an ``nn.Sequential`` (possibly nested) whose last module is an
    ``nn.Linear``: that layer is the head FADE optimizes, and ``body`` (an
    ``nn.Sequential`` of the modules before it) computes the head's input features.
    A bare ``nn.Linear`` (e.g. PPO's ``value_net``) is its own head, with the
    identity as its body.

    Args:
        net: the network, e.g. SB3's ``QNetwork.q_net`` or one of ``ContinuousCritic.q_networks``.
        where: a name for ``net`` used in error messages.

    Raises:
        TypeError: if ``net`` is neither an ``nn.Linear`` nor a non-empty ``nn.Sequential``
            ending in one.

    Example:
        >>> from torch import nn
        >>> body, head = split_head(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)), "q")
        >>> head
        Linear(in_features=8, out_features=2, bias=True)
    """
    if isinstance(net, nn.Linear):
        return nn.Identity(), net
    if not isinstance(net, nn.Sequential) or len(net) == 0:
        raise TypeError(
            f"{where} is a {type(net).__name__}, neither an nn.Linear nor a non-empty "
            "nn.Sequential ending in "
            "nn.Linear; FADE optimizes a linear head and needs the features entering it. "
            "Use SB3's MLP heads (net_arch) or a custom features extractor, and keep the last "
            "layer an nn.Linear."
        )
    last = net[-1]
    if isinstance(last, nn.Sequential):
        inner_body, head = split_head(last, f"{where}[-1]")
        assert isinstance(inner_body, nn.Sequential)  # a Sequential's body is one
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
