"""TRAC (Muppidi, Zhang & Wang 2024): a parameter-free scale around the critic's base optimizer.

TRAC keeps the base optimizer's own iterate ``theta_base`` (started at the
reference ``theta_ref``, the parameters when TRAC starts) and plays
``theta = theta_ref + S * (theta_base - theta_ref)``, with the scale ``S`` tuned
online by the erfi tuner over ``n`` discount factors ``beta_j``. Each step, with
``g`` the gradient at the played ``theta``::

    h         = <g, theta_base - theta_ref>            (over all critic parameters)
    theta_base = base_step(theta_base, g)
    v_j       = beta_j^2 v_j + h^2
    sigma_j   = beta_j sigma_j - h
    s_j       = s_prev / erfi(1/sqrt 2) * erfi(sigma_j / (sqrt(2 v_j) + eps))
    S         = sum_j s_j
    theta     = theta_ref + S * (theta_base - theta_ref)

This is the update of the paper's code (``start_trac`` in
github.com/ComputationalRobotics/TRAC, the JAX version in the
``trac-optimizer`` 0.0.2 package) written with ``theta_base`` stored. The
package's PyTorch version is not used: it recovers ``theta_base`` as
``(theta - theta_ref) / (S + eps)``, which is off by ``eps / S`` (about 10% while
``S`` is near its start of 1e-7, even in float64) and which float32 rounds to
zero while ``S * (theta_base - theta_ref)`` is below the parameters' ulp (the
base trajectory is lost early on); it clamps ``S`` at 0 (the JAX version does
not); and it appends a line to a log file and reads a scalar back at every step.

Everything stays on the parameters' device, the tuner in float64: torch has no ``erfi``, so
:func:`erfi` sums its Taylor series (all terms positive: no cancellation), and an overflow is
flagged on the device and raised at the next host read (:meth:`TRAC.check_finite`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import torch as th
from pydantic import Field, field_validator
from stable_baselines3.common.callbacks import BaseCallback
from torch.utils.hooks import RemovableHandle

from fade_rl.algos import check_model, optimizers_of
from fade_rl.methods.hooks import AttachmentCallback
from fade_rl.methods.spec import TAG, MethodParams, MethodSpec, TuningGrid

__all__ = ["SPEC", "TRAC", "TRACCallback", "TracParams", "erfi"]

#: Taylor terms of :func:`erfi`: enough for every float64 argument whose erfi is finite
#: (|x| < 26.7: the terms peak near n = x^2 ~ 710 and are below 1e-17 of the sum by n = 1100).
_ERFI_TERMS = 1100
#: Terms summed around the largest one (its index is about x^2; its neighbours fall off like a
#: Poisson distribution's of mean x^2 <= 710, so +-256 terms is more than 9 standard deviations).
_ERFI_WINDOW = 512


@functools.lru_cache(maxsize=8)
def _erfi_coefficients(device: th.device) -> tuple[th.Tensor, th.Tensor]:
    """``(2n + 1, -log(n! (2n + 1)))`` for the Taylor terms, made once per device."""
    n = th.arange(_ERFI_TERMS, device=device, dtype=th.float64)
    return 2 * n + 1, -th.lgamma(n + 1) - th.log(2 * n + 1)


def erfi(x: th.Tensor) -> th.Tensor:
    """The imaginary error function ``erfi(x) = 2/sqrt(pi) sum_n x^(2n+1) / (n! (2n+1))``.

    Summed in log space on ``x``'s device, without a host read; relative error below 1e-12
    in float64 where erfi is finite (``|x| < 26.6``), ``+-inf`` beyond.

    Example:
        >>> import torch
        >>> round(float(erfi(torch.tensor(1.0, dtype=torch.float64))), 10)
        1.6504257588
    """
    powers, log_coefficients = _erfi_coefficients(x.device)
    x64 = x.to(th.float64)
    # Only the _ERFI_WINDOW terms around the largest (n ~ x^2) count: beyond them each term
    # is below 1e-17 of the sum. Gathering them halves the logsumexp, without a host read.
    peak = th.nan_to_num(x64.square(), nan=0.0, posinf=float(_ERFI_TERMS))
    first = (peak - _ERFI_WINDOW // 2).clamp_(0, _ERFI_TERMS - _ERFI_WINDOW).long()
    n = first.unsqueeze(-1) + th.arange(_ERFI_WINDOW, device=x.device)
    log_terms = powers[n] * th.log(x64.abs()).unsqueeze(-1) + log_coefficients[n]
    total = th.logsumexp(log_terms, dim=-1)
    return (th.sign(x64) * (2 / math.sqrt(math.pi)) * th.exp(total)).to(x.dtype)


_DEFAULT_BETAS = (0.9, 0.99, 0.999, 0.9999, 0.99999, 0.999999)


def _check_betas(betas: Any) -> tuple[float, ...]:
    values = tuple(betas) if isinstance(betas, (list, tuple)) else None
    if not values or any(
        isinstance(b, bool) or not isinstance(b, (int, float)) or not 0.0 < b < 1.0 for b in values
    ):
        raise ValueError(f"betas must be a non-empty list of numbers in (0, 1), got {betas!r}")
    return tuple(float(b) for b in values)


def _check_positive(name: str, value: Any) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


class TRAC:
    """TRAC around an existing optimizer, as a pair of step hooks (the optimizer stays itself).

    A pre-step hook computes ``h`` and puts ``theta_base`` into the parameters, so
    the base optimizer (Adam, SGD or FADE, with its own state and SB3's
    learning-rate schedule) steps its own iterate with the gradient taken at
    ``theta``; a post-step hook stores the new ``theta_base`` and writes
    ``theta``. The tuner runs in float64 on the parameters' device: no host read
    in a step. An overflowing scale is not applied; it is raised by
    :meth:`check_finite` (called by :attr:`scale` and once per rollout by the callback).

    Args:
        optimizer: the base optimizer (e.g. the critic's).
        betas: the tuner's discount factors.
        s_prev: the scale's initial magnitude (the paper's ``s_prev``, 1e-8).
        eps: the denominator's guard (1e-8).

    Example:
        >>> import torch
        >>> net = torch.nn.Linear(3, 1)
        >>> opt = torch.optim.Adam(net.parameters(), lr=1e-2)
        >>> trac = TRAC(opt)
        >>> loss = net(torch.randn(8, 3)).square().mean()
        >>> loss.backward(); opt.step()
        >>> trac.scale > 0
        True
        >>> trac.remove()
    """

    def __init__(
        self,
        optimizer: th.optim.Optimizer,
        betas: Sequence[float] = _DEFAULT_BETAS,
        s_prev: float = 1e-8,
        eps: float = 1e-8,
    ) -> None:
        self.optimizer = optimizer
        self.params = [p for group in optimizer.param_groups for p in group["params"]]
        if not self.params:
            raise ValueError("TRAC: the optimizer has no parameters")
        device = self.params[0].device
        self.betas = th.tensor(_check_betas(betas), dtype=th.float64, device=device)
        self.s_prev = _check_positive("s_prev", s_prev)
        self.eps = _check_positive("eps", eps)
        with th.no_grad():
            self.reference = [p.detach().clone() for p in self.params]
            self.base = [p.detach().clone() for p in self.params]
        self.variance = th.zeros_like(self.betas)
        self.sigma = th.full_like(self.betas, 1e-8)
        self.s = th.full_like(self.betas, s_prev)
        self.overflowed = th.zeros((), dtype=th.bool, device=device)
        self.n_steps = 0
        self._norm = self.s_prev / float(erfi(th.tensor(1.0 / math.sqrt(2.0), dtype=th.float64)))
        self._stepped: list[int] = []
        self._h = th.zeros((), dtype=th.float64, device=device)
        self._handles: list[RemovableHandle] = [
            optimizer.register_step_pre_hook(self._before),
            optimizer.register_step_post_hook(self._after),
        ]

    @property
    def scale(self) -> float:
        """The current scale ``S`` (a host read; raises if the tuner overflowed)."""
        self.check_finite()
        return float(self.s.sum())

    def check_finite(self) -> None:
        """Raise if a step's scale overflowed (one host read)."""
        if bool(self.overflowed):
            raise FloatingPointError(
                "TRAC's scale overflowed (erfi of a large argument: h kept one sign for "
                "thousands of steps); lower the base learning rate or drop the largest beta"
            )

    def remove(self) -> None:
        """Remove the hooks: the parameters keep the played ``theta``; the base goes on."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    @th.no_grad()
    def _before(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        self._stepped = [i for i, p in enumerate(self.params) if p.grad is not None]
        if not self._stepped:
            return
        ps = [self.params[i] for i in self._stepped]
        bases = [self.base[i] for i in self._stepped]
        refs = [self.reference[i] for i in self._stepped]
        displacement = th._foreach_sub(bases, refs)
        # one float64 dot over all parameters, flattened by one C++ call per list
        flat_grads = th._C._nn.flatten_dense_tensors([p.grad for p in ps])
        flat_displacement = th._C._nn.flatten_dense_tensors(list(displacement))
        self._h = th.dot(flat_grads.double(), flat_displacement.double())
        th._foreach_copy_(ps, bases)

    @th.no_grad()
    def _after(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        if not self._stepped:
            return
        ps = [self.params[i] for i in self._stepped]
        bases = [self.base[i] for i in self._stepped]
        refs = [self.reference[i] for i in self._stepped]
        th._foreach_copy_(bases, ps)
        h = self._h
        self.variance = self.betas**2 * self.variance + h * h
        self.sigma = self.betas * self.sigma - h
        s = self._norm * erfi(self.sigma / (math.sqrt(2.0) * self.variance.sqrt() + self.eps))
        finite = th.isfinite(s).all()
        self.overflowed |= ~finite
        self.s = th.where(finite, s, self.s)
        self.n_steps += 1
        scale = self.s.sum()
        # theta = theta_ref + S * (theta_base - theta_ref)
        th._foreach_copy_(ps, refs)
        th._foreach_add_(ps, th._foreach_mul(th._foreach_sub(bases, refs), scale.to(ps[0].dtype)))

    def state_dict(self) -> dict[str, Any]:
        """Reference, base iterate and tuner state (tensors and lists; ``torch.save`` it)."""
        return {
            "reference": [t.clone() for t in self.reference],
            "base": [t.clone() for t in self.base],
            "variance": self.variance.tolist(),
            "sigma": self.sigma.tolist(),
            "s": self.s.tolist(),
            "overflowed": bool(self.overflowed),
            "n_steps": self.n_steps,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned, for the same parameters."""
        if len(state["reference"]) != len(self.params) or len(state["s"]) != len(self.betas):
            raise ValueError(
                "TRAC state does not match this optimizer's parameters or betas; load the "
                "state saved for this model"
            )
        with th.no_grad():
            for mine, saved in zip(self.reference, state["reference"], strict=True):
                mine.copy_(saved)
            for mine, saved in zip(self.base, state["base"], strict=True):
                mine.copy_(saved)
        like = dict(dtype=th.float64, device=self.betas.device)
        self.variance = th.tensor(state["variance"], **like)  # type: ignore[arg-type]
        self.sigma = th.tensor(state["sigma"], **like)  # type: ignore[arg-type]
        self.s = th.tensor(state["s"], **like)  # type: ignore[arg-type]
        self.overflowed.fill_(bool(state.get("overflowed", False)))
        self.n_steps = int(state["n_steps"])


class TRACCallback(AttachmentCallback[TRAC]):
    """SB3 callback: :class:`TRAC` around the critic optimizer during ``learn``.

    The critic optimizer is DQN's Q optimizer or SAC's/TD3's critic optimizer
    (FADE for FADE models); the actor's optimizer is left alone. PPO has one
    optimizer for the policy and the value networks (FadePPO: FADE, with SB3's
    optimizer as its body), and TRAC wraps it, as C-CHAIN (Tang et al. 2025) does: one
    scale ``S`` for every parameter of the policy, stepped at each minibatch. TRAC's state
    (:meth:`TRAC.state_dict`) carries over to the next ``learn``.

    Args:
        betas: the tuner's discount factors (the paper's six, 0.9 to 0.999999).
        s_prev: the scale's initial magnitude (1e-8).
        eps: 1e-8.

    Example:
        >>> from stable_baselines3 import DQN
        >>> model = DQN("MlpPolicy", "CartPole-v1", learning_starts=50)
        >>> callback = TRACCallback()
        >>> _ = model.learn(200, callback=callback)
        >>> callback.state_dict()["n_steps"] > 0
        True

        On PPO it wraps the one optimizer of the policy and the value networks:

        >>> from stable_baselines3 import PPO
        >>> model = PPO("MlpPolicy", "CartPole-v1", n_steps=64, batch_size=32, n_epochs=2)
        >>> callback = TRACCallback()
        >>> _ = model.learn(64, callback=callback)
        >>> state = callback.state_dict()  # 2 epochs of 2 minibatches
        >>> state["n_steps"], len(state["base"]) == len(list(model.policy.parameters()))
        (4, True)
    """

    def __init__(
        self,
        betas: Sequence[float] = _DEFAULT_BETAS,
        s_prev: float = 1e-8,
        eps: float = 1e-8,
        verbose: int = 0,
    ) -> None:
        super().__init__(verbose)
        self.betas = _check_betas(betas)
        self.s_prev = _check_positive("s_prev", s_prev)
        self.eps = _check_positive("eps", eps)

    @property
    def trac(self) -> TRAC | None:
        """The running :class:`TRAC` while ``learn`` runs, else None."""
        return self.attached

    def _attach(self) -> TRAC:
        model = check_model(self.model, "TRACCallback")
        return TRAC(optimizers_of(model)[0], self.betas, self.s_prev, self.eps)

    def _on_rollout_end(self) -> None:
        if self.trac is not None:  # one host read per rollout, which also raises an overflow
            self.logger.record(f"{TAG}/trac_scale", self.trac.scale)


# ---------------------------------------------------------------------------- the method
class TracParams(MethodParams):
    """TRAC (Muppidi et al. 2024) around the critic optimizer (PPO's one optimizer); the
    paper's defaults.

    Example:
        >>> TracParams()
        TracParams(betas=[0.9, 0.99, 0.999, 0.9999, 0.99999, 0.999999], s_prev=1e-08, eps=1e-08)
        >>> TracParams(betas=[0.9, 1.0])
        Traceback (most recent call last):
        ...
        pydantic_core._pydantic_core.ValidationError: 1 validation error for TracParams
        betas
          Value error, each beta must be in (0, 1), got 1.0 ...
    """

    betas: list[float] = Field(default_factory=lambda: list(_DEFAULT_BETAS), min_length=1)
    s_prev: float = Field(default=1e-8, gt=0)
    eps: float = Field(default=1e-8, gt=0)

    @field_validator("betas")
    @classmethod
    def _in_unit_interval(cls, value: list[float]) -> list[float]:
        bad = [b for b in value if not 0 < b < 1]
        if bad:
            raise ValueError(f"each beta must be in (0, 1), got {bad[0]}")
        return value

    def callbacks(self) -> list[BaseCallback]:
        return [TRACCallback(self.betas, self.s_prev, self.eps)]


SPEC = MethodSpec(
    "trac",
    "TRAC optimizer",
    TuningGrid("learning_rate", ("x0.5", "x1", "x2")),
    TracParams,
)
