"""What FadeDQN, FadeSAC and FadeTD3 share: heads, the FADE critic optimizer, logging.

:class:`FadeAlgorithmMixin` is mixed in before an SB3 algorithm. Its family
(:class:`~fade_rl.algos.AlgorithmFamily`) names the critic networks, whose final
``nn.Linear`` (the head, :func:`~fade_rl.nets.split_head`) goes into a
:class:`~fade_rl.optim.FADE` optimizer whose ``body`` is the optimizer SB3 built from the
policy's ``optimizer_class`` (any class, its kwargs kept) for every other critic parameter.
The training loop runs the critics through :func:`~fade_rl.nets.run_critics`, which keeps
each head's input features, so the curvature comes from the features of that very pass
(never from forward hooks). The mixin also logs the decay rates and reads the training
losses once per ``train()`` call.
"""

from __future__ import annotations

import contextlib
import inspect
import warnings
from collections.abc import Iterator
from typing import Any, ClassVar

import torch as th
from torch import nn

from fade_rl.algos.checkpoint import FadeCheckpointError, FadeCheckpointMixin
from fade_rl.algos.protocol import AlgorithmFamily, LossPass
from fade_rl.nets import readout
from fade_rl.nets.critics import CriticNetwork, CriticPass, q_values_of, run_critics
from fade_rl.nets.decay import head_decay_rates, rate_tags
from fade_rl.nets.heads import head_parameters, split_head
from fade_rl.optim import FADE, linear_head_curvature

__all__ = [
    "FADE_KWARGS",
    "FadeAlgorithmMixin",
    "FadeCheckpointError",
    "fade_optimizer_kwargs",
    "head_parameters",
    "no_distribution_validation",
    "split_head",
    "warn_if_cuda_missing",
]

#: Keyword arguments of :class:`~fade_rl.optim.FADE` that ``fade_kwargs`` may set: all but
#: the parameters, the learning rate (the algorithm's, with its schedule) and the body.
FADE_KWARGS = tuple(
    name for name in inspect.signature(FADE).parameters if name not in ("params", "lr", "body")
)

# Optimizer classes whose state has Adam's moments, which a head keeps when FADE takes it over.
_ADAM_LIKE = (th.optim.Adam, th.optim.AdamW)


def warn_if_cuda_missing(device: Any, where: str) -> None:
    """Warn when ``device`` asks for CUDA on a machine without it (SB3 then runs on the CPU)."""
    if isinstance(device, str) and device == "auto":
        return
    try:
        requested = th.device(device)
    except (RuntimeError, TypeError):
        return  # not a device at all: SB3 reports it
    if requested.type == "cuda" and not th.cuda.is_available():
        warnings.warn(
            f"{where}: device={str(device)!r} was requested but CUDA is not available, so "
            "SB3 falls back to the CPU and this model runs on cpu; pass device='cpu' (or "
            "'auto') to say so.",
            UserWarning,
            stacklevel=3,
        )


@contextlib.contextmanager
def no_distribution_validation() -> Iterator[None]:
    """Within the block, torch.distributions skip argument validation (which syncs the device).

    SB3's SAC actor builds a ``Normal`` each step; validating its arguments reads
    a flag on the host (``.all()`` in a Python ``if``). The previous default is restored.
    """
    previous = th.distributions.Distribution._validate_args
    th.distributions.Distribution.set_default_validate_args(False)
    try:
        yield
    finally:
        th.distributions.Distribution.set_default_validate_args(previous)


def _mean(values: list[th.Tensor]) -> th.Tensor:
    """Mean of device scalars without leaving the device."""
    return th.cat([v.detach().reshape(-1) for v in values]).mean()


def fade_optimizer_kwargs(
    optimizer_class: type[th.optim.Optimizer],
    optimizer_kwargs: dict[str, Any] | None,
    fade_kwargs: dict[str, Any] | None,
) -> dict[str, Any]:
    """FADE's keyword arguments for the heads, from the policy's optimizer and ``fade_kwargs``.

    The rest of the critic keeps ``optimizer_class`` and its kwargs as they are (FADE's
    ``body``). The heads' base step follows it where FADE has one: ``Adam`` and
    ``AdamW`` give ``base="adam"`` with their ``betas`` and ``eps`` (the head's weight
    decay is FADE's learned one), ``SGD`` gives ``base="sgd"`` (no momentum), ``FADE``
    passes its own options; any other class (``RMSpropTFLike``, ...) gets FADE's
    default Adam base. ``fade_kwargs`` override all of these. The learning rate is not
    among them: it is the algorithm's ``learning_rate`` and follows its schedule.

    Example:
        >>> fade_optimizer_kwargs(th.optim.AdamW, dict(eps=1e-5, weight_decay=0.1), None)
        {'base': 'adam', 'eps': 1e-05}
    """
    fade_kwargs = dict(fade_kwargs or {})
    if "lr" in fade_kwargs or "learning_rate" in fade_kwargs:
        raise ValueError(
            "fade_kwargs must not set the learning rate: FADE uses the algorithm's "
            "learning_rate (and its schedule). Pass learning_rate=... to the algorithm instead."
        )
    unknown = sorted(set(fade_kwargs) - set(FADE_KWARGS))
    if unknown:
        raise ValueError(f"unknown fade_kwargs {unknown}; valid keys are {list(FADE_KWARGS)}")
    optimizer_kwargs = dict(optimizer_kwargs or {})
    kwargs: dict[str, Any] = {}
    if issubclass(optimizer_class, FADE):
        kwargs.update({k: v for k, v in optimizer_kwargs.items() if k in FADE_KWARGS})
    elif issubclass(optimizer_class, _ADAM_LIKE):
        kwargs["base"] = "adam"
        if "betas" in optimizer_kwargs:
            kwargs["betas"] = tuple(optimizer_kwargs["betas"])
        if "eps" in optimizer_kwargs:
            kwargs["eps"] = optimizer_kwargs["eps"]
    elif issubclass(optimizer_class, th.optim.SGD):
        kwargs["base"] = "sgd"
    kwargs.update(fade_kwargs)
    return kwargs


class FadeAlgorithmMixin(FadeCheckpointMixin):
    """Shared machinery of the FADE algorithms; mixed in before an SB3 algorithm.

    It takes SB3's constructor plus ``fade_kwargs`` and installs FADE at the end
    of ``_setup_model``. Subclasses name their :attr:`family`, which knows the critic
    networks (their last layers are the heads), the owner of the critic optimizer, the
    batches, targets, loss and curvature. Their ``train()`` keeps losses on the device
    and hands them to :meth:`_record_train_means`, the one place that reads values on
    the host, once per call.

    Args:
        policy: ``"MlpPolicy"``, ``"CnnPolicy"``, ``"MultiInputPolicy"`` or a policy class
            of the SB3 algorithm (a DQNPolicy, SACPolicy or TD3Policy).
        env: the environment or its id.
        *args: the SB3 algorithm's positional arguments after ``env``.
        fade_kwargs: keyword arguments of FADE (not the learning rate: that is the
            algorithm's ``learning_rate``, with its schedule).
        **kwargs: the SB3 algorithm's keyword arguments.

    Example:
        FadeDQN's heads leave SB3's Adam (now FADE's ``body``) for a ``"fade"`` group:

        >>> import torch
        >>> from fade_rl.algos import FAMILIES, FadeDQN
        >>> model = FadeDQN("MlpPolicy", "CartPole-v1", policy_kwargs=dict(net_arch=[8]),
        ...                 learning_starts=0, buffer_size=100, fade_kwargs=dict(init_decay=1e-3))
        >>> isinstance(model, FadeAlgorithmMixin), model.family is FAMILIES["dqn"]
        (True, True)
        >>> model.fade_heads
        {'q_net': Linear(in_features=8, out_features=2, bias=True)}
        >>> optimizer = model.fade_optimizer
        >>> type(optimizer.body).__name__, [g["fade"] for g in optimizer.param_groups]
        ('Adam', [False, True])
        >>> rates = model.fade_decay_rates()["q_net"]  # 8 * 2 weights, 2 biases
        >>> rates.shape, bool(torch.allclose(rates, torch.tensor(1e-3)))
        (torch.Size([18]), True)
    """

    #: The vanilla SB3 class this algorithm extends (for messages and attach_fade).
    sb3_class: ClassVar[type]

    fade_kwargs: dict[str, Any]
    _fade_parts: dict[str, tuple[nn.Module, nn.Linear]]
    _fade_networks: tuple[tuple[nn.Module, ...], list[CriticNetwork]] | None

    def __init__(
        self,
        policy: Any,
        env: Any,
        *args: Any,
        fade_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self.fade_kwargs = dict(fade_kwargs or {})
        signature = inspect.signature(type(self).sb3_class)
        device = signature.bind(policy, env, *args, **kwargs).arguments.get("device", "auto")
        warn_if_cuda_missing(device, type(self).__name__)
        super().__init__(policy, env, *args, **kwargs)  # type: ignore[call-arg]

    def _setup_model(self) -> None:
        super()._setup_model()  # type: ignore[misc]
        self._install_fade()

    @property
    def family(self) -> AlgorithmFamily:
        """The algorithm family (critics, targets, loss, curvature, optimizers)."""
        raise NotImplementedError(f"{type(self).__name__} names no algorithm family")

    def _fade_optimizer_owner(self) -> Any:
        return self.family.critic_optimizer_owner(self)

    # ------------------------------------------------------------------- set-up
    def _install_fade(self) -> None:
        """Split the critic heads off and put them in a FADE optimizer around SB3's.

        SB3's critic optimizer (any ``optimizer_class``) keeps every other parameter
        and its state: it becomes FADE's ``body``. The heads leave it for a
        ``"fade"`` group; if it was Adam or AdamW, their moments and step counts go
        with them (fresh otherwise), and their decay rates start at ``init_decay``.
        """
        self._fade_parts = {
            name: split_head(net, name) for name, net in self.family.critic_q_nets(self).items()
        }
        self._fade_networks = None
        owner = self._fade_optimizer_owner()
        old: th.optim.Optimizer = owner.optimizer
        if isinstance(old, FADE) and any(group["fade"] for group in old.param_groups):
            raise TypeError("the critic optimizer already has FADE heads; nothing to attach")
        policy = self.policy  # type: ignore[attr-defined]
        kwargs = fade_optimizer_kwargs(
            policy.optimizer_class, policy.optimizer_kwargs, self.fade_kwargs
        )

        param_ids = {id(p) for group in old.param_groups for p in group["params"]}
        missing = [
            name for name, (_, h) in self._fade_parts.items() if id(h.weight) not in param_ids
        ]
        if missing:
            raise ValueError(
                f"the head(s) {missing} are not optimized by the critic optimizer; FADE can only "
                "take over heads that the critic loss trains"
            )
        heads = [p for _, head in self._fade_parts.values() for p in head_parameters(head)]
        head_ids = {id(p) for p in heads}
        lr = old.param_groups[0]["lr"]
        head_states = {p: old.state.pop(p) for p in heads if p in old.state}
        for group in old.param_groups:
            group["params"] = [p for p in group["params"] if id(p) not in head_ids]
        old.param_groups = [group for group in old.param_groups if group["params"]]
        body = old if old.param_groups else None
        new = FADE([{"params": heads, "fade": True}], lr=lr, body=body, **kwargs)
        if isinstance(old, _ADAM_LIKE):
            _move_adam_moments(head_states, new)
        owner.optimizer = new

    @property
    def fade_optimizer(self) -> FADE:
        """The FADE optimizer of the critic(s)."""
        optimizer = self._fade_optimizer_owner().optimizer
        assert isinstance(optimizer, FADE)
        return optimizer

    @property
    def fade_heads(self) -> dict[str, nn.Linear]:
        """The linear heads FADE optimizes, by name (``"q_net"``; ``"qf0"``, ``"qf1"``)."""
        return {name: head for name, (_, head) in self._fade_parts.items()}

    # ------------------------------------------------------ critic pass, curvature
    def _critic_pass(self, batch: Any) -> dict[str, CriticPass]:
        """The critics on ``batch`` as the critic loss runs them, each head's input kept."""
        heads = tuple(head for _, head in self._fade_parts.values())
        if self._fade_networks is None or self._fade_networks[0] != heads:
            # built once, again only when a head was replaced (plasticity injection)
            self._fade_networks = (heads, self.family.critic_networks(self))
        return run_critics(
            self._fade_networks[1],
            batch.observations,
            getattr(batch, "actions", None),
            hidden=False,
            training=True,
        )

    def _critic_step(
        self, batch: Any, max_grad_norm: float | None = None, **target_options: Any
    ) -> th.Tensor:
        """One step of the critic optimizer on ``batch``, with FADE's curvature; the loss.

        The family's value targets (``target_options`` go to ``value_targets``), the
        critic pass, the loss and its backward pass; with ``max_grad_norm``, the policy's
        gradients are clipped to it (as SB3's DQN does) and the clipping factor scales
        the curvature; then each head's curvature and the step. Returns the detached
        loss, on the device.
        """
        family = self.family
        with th.no_grad():
            targets = family.value_targets(self, batch, **target_options)
        passes = self._critic_pass(batch)
        q_values = q_values_of(passes)
        loss, taken = family.critic_loss(q_values, batch, targets)

        optimizer = self._fade_optimizer_owner().optimizer
        optimizer.zero_grad()
        loss.backward()
        grad_norm = None
        if max_grad_norm is not None:
            parameters = self.policy.parameters()  # type: ignore[attr-defined]
            grad_norm = th.nn.utils.clip_grad_norm_(parameters, max_grad_norm)
        c = family.output_hessian(self, LossPass(batch, q_values, taken, targets), grad_norm)
        self._set_heads_curvature(passes, c)
        optimizer.step()
        return loss.detach()

    def _set_heads_curvature(self, passes: dict[str, CriticPass], c: th.Tensor) -> None:
        """``opt.set_curvature`` for each head from its input features and the output Hessian.

        ``c`` is the curvature of the loss in each head's own output (the family's
        ``output_hessian``); ``(H_W, H_b) = linear_head_curvature(phi, c)`` with ``phi`` the
        head's input in ``passes`` (docs/fade.md section 3), on the device of ``phi``,
        without a host synchronisation.
        """
        optimizer = self.fade_optimizer
        for name, (_, head) in self._fade_parts.items():
            phi = passes[name].head_input
            assert phi is not None, "run_critics keeps each head's input"
            h_weight, h_bias = linear_head_curvature(phi, c)
            if head.weight.grad is not None:
                optimizer.set_curvature(head.weight, h_weight)
            if head.bias is not None and head.bias.grad is not None:
                optimizer.set_curvature(head.bias, h_bias)

    # ------------------------------------------------------------------ logging
    def fade_decay_rates(self) -> dict[str, th.Tensor]:
        """Current decay rates ``lambda`` of every head element, flattened, by head name."""
        return head_decay_rates(dict(self.fade_heads), self.fade_optimizer)

    def _record_fade_stats(self) -> None:
        """Record ``fade/<head>/lambda_*`` scalars and a ``fade/<head>/lambda`` histogram.

        The tags come from :func:`fade_rl.nets.decay.rate_tags`, as PlasticityCallback's
        do; the scalars leave the device in one read.
        """
        logger = self.logger  # type: ignore[attr-defined]
        scalars, hists = rate_tags(self.fade_decay_rates(), histograms=True)
        for tag, value in readout.read_scalars(scalars).items():
            logger.record(tag, value)
        # Histograms are written by TensorBoard only; the text formats would choke on them.
        for tag, rates in readout.read_histograms(hists).items():
            logger.record(tag, rates, exclude=("stdout", "log", "json", "csv"))

    def dump_logs(self) -> None:
        """Record the ``fade/`` keys, then write SB3's logs (called at each log interval)."""
        self._record_fade_stats()
        super().dump_logs()  # type: ignore[misc]

    def _record_train_means(self, values: dict[str, list[th.Tensor]]) -> None:
        """Record ``train/<name>`` as the mean of each list of device scalars.

        This is the one place a ``train()`` call reads values on the host: all the
        means travel in one ``tolist()`` (one sync), at the end of the call. Empty
        lists are skipped (no gradient step, or no actor update yet).
        """
        names = [name for name, tensors in values.items() if tensors]
        if not names:
            return
        means = th.stack([_mean(values[name]) for name in names]).tolist()
        for name, mean in zip(names, means, strict=True):
            self.logger.record(f"train/{name}", mean)  # type: ignore[attr-defined]


def _move_adam_moments(states: dict[Any, dict[str, Any]], new: FADE) -> None:
    """Give the heads the Adam/AdamW moments (and step counts) they had in SB3's optimizer.

    FADE creates the rest of a head parameter's state (``log_decay`` at
    ``init_decay``, zero trace) at its first step. Nothing moves unless the heads'
    FADE base is Adam. This runs once, when FADE is installed (the step count is
    read on the host then).
    """
    for group in new.param_groups:
        if group.get("body") or group["base"] != "adam":
            continue
        for p in group["params"]:
            state = states.get(p)
            if not state or "exp_avg" not in state:
                continue
            new.state[p] = {
                "step": int(th.as_tensor(state["step"]).item()),
                "exp_avg": state["exp_avg"].detach().clone(),
                "exp_avg_sq": state["exp_avg_sq"].detach().clone(),
            }
