"""FADE: Forgetting through Adaptive Decay, as a ``torch.optim.Optimizer``.

Every element of a FADE parameter (a network's final linear layer, its "head")
carries its own decay rate ``lambda = exp(gamma)``, learned online by
meta-gradient descent through a trace ``g ~ d p / d gamma``. The update is
``docs/fade.md`` section 2, in this order, for each head element::

    gamma  = clamp(gamma - meta_lr * G * g, *log_decay_bounds)
    lambda = exp(gamma)
    f      = max(0, 1 - lambda - alpha_eff * H)
    g      = f * g - lambda * p
    p      = (1 - lambda) * p
    p      = base_step(p, G)           # SGD or Adam, no weight decay of its own

``G`` is the gradient autograd produced and ``H`` the diagonal curvature of the
loss that was backpropagated, which the caller hands over with
:meth:`FADE.set_curvature` before every :meth:`FADE.step` (see
:mod:`fade_rl.optim.curvature`). ``alpha_eff`` is ``lr`` for SGD and
``lr / (sqrt(v_hat) + eps)`` for Adam. Parameter groups without ``"fade": True``
(the hidden layers) get the plain base step, or, with ``body=``, the step of any
other optimizer (AdamW, RMSprop, ...), which FADE then steps and saves with its own.

A learning rate of 0 freezes a FADE group as it freezes any SB3 optimizer: the
parameters, decay rates and traces stay as they are (Adam's moments still advance,
as ``torch.optim.Adam``'s do at lr 0).

What FADE cannot use it refuses: hyperparameters that are not finite or out of range
at construction, at :meth:`FADE.load_state_dict` and at every step (``ValueError``
naming the group and the argument); a curvature of the wrong type
(complex, integer), shape or device at :meth:`FADE.set_curvature`. A NaN or infinite
curvature is not read there (a host sync per call, on a GPU): the step notes it on the
device (no sync) and the next host read of the state raises, namely
:meth:`FADE.check_finite`, :meth:`FADE.decay_rates` and :meth:`FADE.state_dict` (so a
logged decay rate or a saved checkpoint never hides it). The step that took it has
already turned the head non-finite. ``check_finite=True`` refuses it in
:meth:`FADE.set_curvature` instead, before the step, at one host sync per call.

Small FADE groups (a head's weight and bias) step, on the CPU, in one compiled loop per
tensor (:mod:`fade_rl.optim.fused`, numba) and, on a GPU or with ``foreach=True``, as one
flat tensor (:mod:`fade_rl.optim.packing`): the same arithmetic in fewer calls. Where numba
cannot be imported the CPU takes the flat-tensor path too.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor
from torch.optim import Optimizer

from fade_rl.optim.kernels import (
    advance_step,
    dense_grad,
    fade_lists,
    fade_state_keys,
    multi_tensor_adam,
    multi_tensor_fade,
    single_tensor_adam,
    single_tensor_fade,
    state_size,
    supports_fused,
)
from fade_rl.optim.packing import PACK_LIMIT, PackedGroup
from fade_rl.optim.settings import check_curvature, check_groups, validate_group
from fade_rl.optim.state import FiniteNote, NonFiniteCurvatureError, step_counts_to_cpu

__all__ = ["FADE", "step_counts_to_cpu"]


def _fused_kernel() -> Callable[[list[list[Tensor]], int, dict[str, Any]], bool] | None:
    """The compiled CPU kernel, imported at its first use (numba), or None where numba
    cannot be imported (a Python or numpy it has no build for): the torch kernel steps then."""
    try:
        from fade_rl.optim.fused import fused_fade_kernel
    except ImportError:
        return None
    return fused_fade_kernel


class FADE(Optimizer):
    """Per-element weight decay learned online (FADE), on an SGD or Adam base.

    Args:
        params: tensors or parameter groups. A group with ``"fade": True`` is a
            head whose elements get learned decay rates; every other group gets
            the plain base step. Any hyperparameter below can be set per group.
        lr: step size of the base optimizer. Read from the group at every step, so
            schedules that rewrite ``param_group["lr"]`` (as SB3 does) work. With
            ``idbd=True`` it is only the initial per-element step size of FADE
            groups: IDBD adapts those itself and a schedule no longer reaches them.
        base: ``"sgd"`` or ``"adam"``.
        betas: Adam's moment coefficients.
        eps: Adam's denominator term.
        meta_lr: meta step size ``theta`` of the log decay rates (0 freezes them).
        init_decay: initial decay rate ``lambda_0`` per optimizer step, in (0, 1].
        log_decay_bounds: clamp ``(gamma_min, gamma_max)`` of ``log(lambda)``.
        idbd: adapt a per-element step size of FADE groups by IDBD (SGD base only).
        idbd_meta_lr: meta step size of the log step sizes; ``meta_lr`` if None.
        foreach: ``True``: the batched torch implementation (``torch._foreach_*``, a
            head's small tensors packed into one); ``False``: the reference loop, one
            tensor at a time. ``None`` (default): on the CPU, FADE groups step in one
            compiled loop per tensor (:mod:`fade_rl.optim.fused`, the same arithmetic at
            the cost of about one torch op) when they are small (a head); elsewhere as
            ``True`` whenever all tensors of a group share a device.
        check_finite: refuse a non-finite curvature in :meth:`set_curvature` with a
            ``ValueError`` (reads a flag on the host: one sync per call, so it is off
            by default; turn it on to find where a NaN comes from). Off, a non-finite
            curvature is raised at the next host read instead (:meth:`check_finite`).
        body: an optimizer (any class: AdamW, RMSprop, ...) of the parameters that are
            not FADE's. FADE adopts its parameter groups (the same dicts, so a learning
            rate written into ``param_groups`` reaches it) and its state (one ``state``
            dict for all parameters), steps it in :meth:`step` and saves it in
            :meth:`state_dict`. Its groups carry ``"body": True`` and ``"fade": False``.

    Example:
        >>> import torch
        >>> from fade_rl.optim import FADE, linear_head_curvature
        >>> hidden, head = torch.nn.Linear(4, 8), torch.nn.Linear(8, 2)
        >>> opt = FADE([{"params": hidden.parameters()},
        ...             {"params": head.parameters(), "fade": True}],
        ...            lr=1e-3, base="adam", meta_lr=1.0, init_decay=1e-4)
        >>> x, y = torch.randn(16, 4), torch.randn(16, 2)
        >>> phi = torch.relu(hidden(x))
        >>> loss = 0.5 * ((head(phi) - y) ** 2).sum(dim=1).mean()
        >>> opt.zero_grad(); loss.backward()
        >>> h_weight, h_bias = linear_head_curvature(phi, torch.full((16, 2), 1 / 16))
        >>> opt.set_curvature(head.weight, h_weight)
        >>> opt.set_curvature(head.bias, h_bias)
        >>> opt.step()
        >>> opt.decay_rates(head.weight).shape
        torch.Size([2, 8])

        Any optimizer for the rest of the network, FADE for the head:

        >>> body = torch.optim.AdamW(hidden.parameters(), lr=1e-3, weight_decay=1e-2)
        >>> opt = FADE([{"params": head.parameters(), "fade": True}], lr=1e-3, body=body)
        >>> [group.get("body", False) for group in opt.param_groups]
        [True, False]
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-3,
        base: str = "adam",
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        meta_lr: float = 1.0,
        init_decay: float = 1e-4,
        log_decay_bounds: tuple[float, float] = (-15.0, 0.0),
        idbd: bool = False,
        idbd_meta_lr: float | None = None,
        foreach: bool | None = None,
        check_finite: bool = False,
        body: Optimizer | None = None,
    ) -> None:
        defaults = dict(
            lr=lr,
            base=base,
            betas=tuple(betas),
            eps=eps,
            meta_lr=meta_lr,
            init_decay=init_decay,
            log_decay_bounds=tuple(log_decay_bounds),
            idbd=idbd,
            idbd_meta_lr=idbd_meta_lr,
            foreach=foreach,
            check_finite=check_finite,
            fade=False,
        )
        self._curvature: dict[Tensor, Tensor] = {}
        self._packs: dict[int, PackedGroup] = {}  # by id(group)
        self._finite = FiniteNote()  # whether every curvature a step took was finite
        self.body: Optimizer | None = None
        super().__init__(params, defaults)
        if body is not None:
            self._adopt(body)

    # -------------------------------------------------------------------- body
    def _adopt(self, body: Optimizer) -> None:
        """Take ``body``'s groups (first, the same dicts) and state (merged into one dict)."""
        if isinstance(body, FADE) and any(g["fade"] for g in body.param_groups):
            raise ValueError("body must not hold FADE ('fade': True) groups; pass them to FADE")
        own = {id(p) for group in self.param_groups for p in group["params"]}
        if any(id(p) in own for group in body.param_groups for p in group["params"]):
            raise ValueError(
                "a parameter is in both FADE's groups and body's; give each parameter to one"
            )
        for group in body.param_groups:
            group["fade"], group["body"] = False, True
        self.param_groups[:0] = body.param_groups
        self.state.update(body.state)
        self.body = body
        self._link_body()

    def _link_body(self) -> None:
        """Point the body optimizer at FADE's groups and state (after a load or unpickle)."""
        if self.body is not None:
            self.body.param_groups = [g for g in self.param_groups if g.get("body")]
            self.body.state = self.state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load as torch does; the body's step counts go back to the CPU where torch keeps them.

        A checkpoint loaded with ``map_location="cuda"`` puts every tensor on the GPU,
        step counts included; torch's non-capturable, non-fused optimizers (Adam's
        default) then read them on the host at every step. They are moved to the CPU
        here, once. (On ``meta`` there is no value to move: the count restarts at 0.)
        FADE's groups are checked as at construction first: a bad one loads nothing.
        """
        check_groups(state_dict["param_groups"], "FADE.load_state_dict")
        super().load_state_dict(state_dict)
        step_counts_to_cpu(self, [g for g in self.param_groups if g.get("body")])

    def state_dict(self) -> dict[str, Any]:
        """Torch's state dict, after :meth:`check_finite` (a state made with NaN is refused)."""
        self.check_finite()
        return super().state_dict()

    def __getstate__(self) -> dict[str, Any]:
        return {**super().__getstate__(), "body": self.body}

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)  # load_state_dict comes here with new groups and state
        self.__dict__.setdefault("body", None)
        self._curvature, self._packs, self._finite = {}, {}, FiniteNote()
        self._link_body()

    # ------------------------------------------------------------------ groups
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        super().add_param_group(param_group)
        validate_group(self.param_groups[-1])

    # --------------------------------------------------------------- curvature
    def set_curvature(self, param: Tensor, curvature: Tensor) -> None:
        """Hand over ``H``, the loss's diagonal curvature for ``param``, for the next step.

        ``curvature`` is a real floating-point tensor of ``param``'s shape on ``param``'s
        device; it is used by the next :meth:`step` and then forgotten. Every FADE
        parameter that has a gradient needs one. A wrong type, shape or device is refused
        here. A NaN or infinite value is not read here (that would be a host sync per
        call): the step notes it on the device, and the next host read of the state
        (:meth:`check_finite`, :meth:`decay_rates`, :meth:`state_dict`) raises. With the
        group's ``check_finite=True`` it is refused here instead (one sync per call).
        """
        check_curvature(self._group_of(param), param, curvature)
        curvature = curvature.detach()
        if curvature.dtype != param.dtype:
            curvature = curvature.to(param.dtype)
        self._curvature[param] = curvature

    def decay_rates(self, param: Tensor) -> Tensor:
        """The current per-element decay rates ``lambda = exp(gamma)`` of a FADE parameter.

        Calls :meth:`check_finite` first (a host read).
        """
        group = self._group_of(param)
        if group is None or not group["fade"]:
            raise ValueError("decay_rates: the tensor is not a FADE parameter of this optimizer")
        self.check_finite()
        state = self.state[param]
        if "log_decay" not in state:
            return torch.full_like(param, group["init_decay"])
        return state["log_decay"].exp()

    def check_finite(self) -> None:
        """Raise :class:`NonFiniteCurvatureError` (a ``ValueError``) if a step took a NaN or inf.

        The steps note it on the device (no host sync in :meth:`step`); this reads the
        note (one host read per device). :meth:`decay_rates` and :meth:`state_dict` call
        it, so a logged decay rate or a saved checkpoint never hides a NaN. The note stays
        until a state is loaded: the step that took the curvature has already turned the
        FADE state non-finite.
        """
        if not self._finite.all_finite(pack.probe for pack in self._packs.values()):
            raise NonFiniteCurvatureError(
                "FADE: a NaN or infinite curvature reached a step, so the FADE heads and "
                "their decay rates are non-finite; find where the loss or the features "
                "become non-finite (check_finite=True refuses it in set_curvature), then "
                "load a checkpoint from before it"
            )

    def _group_of(self, param: Tensor) -> dict[str, Any] | None:
        for group in self.param_groups:
            for p in group["params"]:  # plain loops: this runs for every set_curvature
                if p is param:
                    return group
        return None

    # -------------------------------------------------------------------- step
    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        """One step, after refusing a hyperparameter out of range (no sync: ``check_groups``)."""
        check_groups(self.param_groups, "FADE.step", full=False)
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        try:
            for group in self.param_groups:
                if self.body is not None and group.get("body"):
                    continue  # stepped by the body optimizer below
                params = [p for p in group["params"] if p.grad is not None]
                if not params:
                    continue
                if group["fade"] and group["lr"] == 0:
                    # lr 0 freezes the head: the base step moves nothing, no decay, no meta step
                    self._base_group_step(group, params)
                elif group["fade"]:
                    self._fade_group_step(group, params)
                else:
                    self._base_group_step(group, params)
            if self.body is not None:
                self._step_body()
        finally:
            self._curvature.clear()
        return loss

    def _step_body(self) -> None:
        """Step the body optimizer as part of this step.

        FADE's own ``step`` already went through torch's step wrapper (the profiler's
        record, the global and FADE's hooks), so the body's step is called inside it,
        unwrapped, unless hooks were registered on the body itself (or its ``step``
        replaced on the instance). That wrapper costs
        about as much as a head's FADE kernel on the CPU.
        """
        body = self.body
        assert body is not None
        step = type(body).step
        hooked = body._optimizer_step_pre_hooks or body._optimizer_step_post_hooks
        if hooked or "step" in vars(body):  # hooks of its own, or a step set on the instance
            body.step()
        else:
            getattr(step, "__wrapped__", step)(body)

    def _use_foreach(self, group: dict[str, Any], tensors: list[Tensor]) -> bool:
        if group["foreach"] is not None:
            return bool(group["foreach"])
        return len({(t.device, t.dtype) for t in tensors}) == 1

    def _base_group_step(self, group: dict[str, Any], params: list[Tensor]) -> None:
        grads = [dense_grad(p) for p in params]
        states = [self._init_state(p, group) for p in params]
        step = advance_step(states)
        if group["base"] == "sgd":
            if self._use_foreach(group, params):
                torch._foreach_add_(params, grads, alpha=-group["lr"])
            else:
                for p, grad in zip(params, grads, strict=True):
                    p.add_(grad, alpha=-group["lr"])
            return
        if step is not None and self._use_foreach(group, params):
            multi_tensor_adam(params, grads, states, step, group)
        else:
            single_tensor_adam(params, grads, states, group)

    def _fade_group_step(self, group: dict[str, Any], params: list[Tensor]) -> None:
        missing = [tuple(p.shape) for p in params if p not in self._curvature]
        if missing:
            raise RuntimeError(
                f"FADE.step: no curvature was set for FADE parameter(s) of shape {missing}; "
                "call opt.set_curvature(param, H) for every head parameter before each step "
                "(see fade_rl.optim.curvature)"
            )
        grads = [dense_grad(p) for p in params]
        curvatures = [self._curvature[p] for p in params]
        states = [self._init_state(p, group) for p in params]
        step = advance_step(states)
        # The compiled CPU loop takes small groups only (a head's few tensors): there the torch
        # kernel's cost is its calls, which the loop saves; on large tensors torch's vectorized
        # ops are faster (`python -m benchmarks.bench_optim`).
        small = sum(p.numel() for p in params) <= PACK_LIMIT
        fused_kernel = _fused_kernel() if group["foreach"] is None and small else None
        lists = fade_lists(params, grads, curvatures, states, group) if fused_kernel else []
        if step is None or not self._use_foreach(group, params):
            self._finite.add(curvatures)
            single_tensor_fade(params, grads, curvatures, states, group)
        elif fused_kernel is not None and supports_fused([t for ts in lists for t in ts]):
            if not fused_kernel(lists, step, group):
                self._finite.add(curvatures)  # notes the NaN (only when there is one)
        elif len(params) > 1 and small:
            self._pack_of(group, params, states).step(grads, curvatures, step, group)
        else:
            self._finite.add(curvatures)
            multi_tensor_fade(params, grads, curvatures, states, step, group)

    def _pack_of(
        self, group: dict[str, Any], params: list[Tensor], states: list[dict[str, Any]]
    ) -> PackedGroup:
        """The group's :class:`PackedGroup`, (re)built when its tensors or state entries changed."""
        pack = self._packs.get(id(group))
        if pack is None or not pack.matches(params, states):
            if pack is not None:  # keep what the old pack saw
                self._finite.add([pack.probe])
            pack = self._packs[id(group)] = PackedGroup(params, states, fade_state_keys(group))
        return pack

    def _init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        """The state of ``p``, with every entry its group needs created if missing.

        Entries already there are kept, so Adam moments moved in from another
        optimizer (see ``fade_rl.algos.attach_fade``) gain fresh FADE state.
        """
        state = self.state[p]
        if len(state) == state_size(group):  # the common case: every entry is there
            return state
        if "step" not in state:
            state["step"] = 0
        fresh: dict[str, float] = {}
        if group["base"] == "adam":
            fresh.update(exp_avg=0.0, exp_avg_sq=0.0)
        if group["fade"]:
            fresh.update(log_decay=math.log(group["init_decay"]), decay_trace=0.0)
            if group["idbd"]:
                fresh.update(log_step_size=math.log(group["lr"]), step_size_trace=0.0)
        for key, value in fresh.items():
            if key not in state:
                state[key] = torch.full_like(p, value, memory_format=torch.preserve_format)
        return state
