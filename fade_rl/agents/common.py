"""What FadeDQN, FadeSAC and FadeTD3 share: heads, the FADE critic optimizer, logging, save/load.

The pieces here are small override points mixed into SB3's algorithms:

* :func:`split_head` walks a critic network to its final ``nn.Linear`` (the head)
  and returns the body that computes the head's input features, so that the
  training loop can run ``phi = body(x); q = head(phi)`` itself and compute the
  curvature from the features of that very pass (never from forward hooks).
* :class:`FadeAlgorithmMixin` replaces the critic optimizer by :class:`~fade_rl.optim.FADE`
  (head parameters in a ``"fade"`` group, every other critic parameter in a base
  group, SB3's learning-rate schedule kept), logs the decay rates, marks saved
  zips as FADE checkpoints and loads them back.
"""

from __future__ import annotations

import io
import json
import pathlib
import zipfile
from collections.abc import Iterable
from typing import Any, ClassVar

import torch as th
from stable_baselines3.common.save_util import open_path
from torch import nn

from fade_rl.optim import FADE
from fade_rl.parts.heads import head_parameters, split_head

__all__ = [
    "FADE_KWARGS",
    "FadeAlgorithmMixin",
    "FadeCheckpointError",
    "fade_optimizer_kwargs",
    "split_head",
]

#: Keyword arguments of :class:`~fade_rl.optim.FADE` that ``fade_kwargs`` may set.
FADE_KWARGS = (
    "base",
    "betas",
    "eps",
    "meta_lr",
    "init_decay",
    "log_decay_bounds",
    "idbd",
    "idbd_meta_lr",
    "foreach",
)

#: Name of the data entry that marks a zip as a FADE checkpoint.
_MARKER_KEY = "_fade_checkpoint"
#: Name of the JSON data entry naming the FADE algorithm class that saved a zip.
_ALGORITHM_KEY = "fade_algorithm"

# torch.optim.Adam / SGD keyword arguments that change nothing FADE computes.
_IGNORABLE_OPTIMIZER_KWARGS = ("foreach", "fused", "capturable", "differentiable")


class FadeCheckpointError(ValueError):
    """A FADE checkpoint was opened with a loader that cannot restore it (or the reverse)."""


def _refuse_non_fade_load(algorithm: str) -> None:
    """Called when a vanilla SB3 loader unpickles a FADE checkpoint's marker."""
    base = algorithm.removeprefix("Fade")
    raise FadeCheckpointError(
        f"This zip was saved by fade_rl's {algorithm}: its critic is optimized by FADE, whose "
        f"state SB3's {base}.load cannot restore. Open it with "
        f"`from fade_rl import {algorithm}; {algorithm}.load(path, env=...)`."
    )


class _FadeCheckpointMarker:
    """Saved in every FADE zip. Unpickling it (what vanilla SB3 loaders do) raises a clear error.

    ``FadeXXX.load`` hands SB3 a replacement through ``custom_objects``, so the
    stored object is never unpickled there.
    """

    def __init__(self, algorithm: str) -> None:
        self.algorithm = algorithm

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (_refuse_non_fade_load, (self.algorithm,))


def fade_optimizer_kwargs(
    optimizer_class: type[th.optim.Optimizer],
    optimizer_kwargs: dict[str, Any] | None,
    fade_kwargs: dict[str, Any] | None,
) -> dict[str, Any]:
    """FADE's keyword arguments from the policy's optimizer settings and ``fade_kwargs``.

    The base optimizer follows the policy's ``optimizer_class`` (``torch.optim.Adam``:
    ``base="adam"`` with its ``betas`` and ``eps``; ``torch.optim.SGD`` without momentum:
    ``base="sgd"``); ``fade_kwargs`` override. The learning rate is not among them:
    it is the algorithm's ``learning_rate`` and follows its schedule.
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
    for key in _IGNORABLE_OPTIMIZER_KWARGS:
        optimizer_kwargs.pop(key, None)
    kwargs: dict[str, Any] = {}
    if optimizer_class is FADE:
        kwargs.update({k: v for k, v in optimizer_kwargs.items() if k in FADE_KWARGS})
        optimizer_kwargs = {k: v for k, v in optimizer_kwargs.items() if k not in FADE_KWARGS}
    elif optimizer_class is th.optim.Adam:
        kwargs["base"] = "adam"
        for key in ("betas", "eps"):
            if key in optimizer_kwargs:
                kwargs[key] = (
                    tuple(optimizer_kwargs.pop(key))
                    if key == "betas"
                    else optimizer_kwargs.pop(key)
                )
        for key, neutral in (("weight_decay", 0.0), ("amsgrad", False), ("maximize", False)):
            if optimizer_kwargs.get(key, neutral) == neutral:
                optimizer_kwargs.pop(key, None)
    elif optimizer_class is th.optim.SGD:
        kwargs["base"] = "sgd"
        for key, neutral in (
            ("momentum", 0.0),
            ("dampening", 0.0),
            ("weight_decay", 0.0),
            ("nesterov", False),
            ("maximize", False),
        ):
            if optimizer_kwargs.get(key, neutral) == neutral:
                optimizer_kwargs.pop(key, None)
    else:
        raise ValueError(
            f"optimizer_class={optimizer_class.__name__} has no FADE counterpart: FADE's base is "
            "plain Adam or SGD. Use optimizer_class=torch.optim.Adam (SB3's default) or "
            "torch.optim.SGD, and set FADE's options in fade_kwargs."
        )
    if optimizer_kwargs:
        raise ValueError(
            f"optimizer_kwargs {sorted(optimizer_kwargs)} of {optimizer_class.__name__} have no "
            "FADE counterpart (FADE's base steps have no weight decay, momentum or amsgrad); "
            "remove them, or use a fixed-weight-decay baseline from fade_rl.agents.baselines."
        )
    kwargs.update(fade_kwargs)
    return kwargs


def _read_zip_data(path: str | pathlib.Path | io.BufferedIOBase) -> dict[str, Any]:
    """The raw JSON ``data`` entry of an SB3 zip (no unpickling)."""
    file = open_path(path, "r", verbose=0, suffix="zip")
    position = file.tell()
    try:
        with zipfile.ZipFile(file) as archive:
            if "data" not in archive.namelist():
                return {}
            return json.loads(archive.read("data").decode())
    finally:
        if isinstance(path, (str, pathlib.Path)):
            file.close()
        else:
            file.seek(position)


class FadeAlgorithmMixin:
    """Shared machinery of the FADE algorithms; mixed in before an SB3 off-policy algorithm.

    It takes SB3's constructor plus ``fade_kwargs`` and installs FADE at the end
    of ``_setup_model``. Subclasses implement :meth:`_fade_critic_nets` (name ->
    critic network whose last layer is the head) and :meth:`_fade_optimizer_owner`
    (the object holding the critic optimizer as ``.optimizer``).
    """

    #: The vanilla SB3 class this algorithm extends (for messages and attach_fade).
    sb3_class: ClassVar[type]

    fade_kwargs: dict[str, Any]
    _fade_parts: dict[str, tuple[nn.Module, nn.Linear]]

    def __init__(
        self,
        policy: Any,
        env: Any,
        *args: Any,
        fade_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self.fade_kwargs = dict(fade_kwargs or {})
        super().__init__(policy, env, *args, **kwargs)  # type: ignore[call-arg]

    def _setup_model(self) -> None:
        super()._setup_model()  # type: ignore[misc]
        self._install_fade()

    # ------------------------------------------------------------ hooks to implement
    def _fade_critic_nets(self) -> dict[str, nn.Module]:
        raise NotImplementedError

    def _fade_optimizer_owner(self) -> Any:
        raise NotImplementedError

    # ------------------------------------------------------------------- set-up
    def _install_fade(self) -> None:
        """Split the critic heads off and put FADE in place of the critic optimizer.

        Every parameter the current critic optimizer holds keeps being optimized:
        head parameters in a ``"fade"`` group, the others in a base group. When
        the current optimizer is ``torch.optim.Adam`` with state (an existing
        model), its moments move over to FADE's base (Adam) steps.
        """
        self._fade_parts = {
            name: split_head(net, name) for name, net in self._fade_critic_nets().items()
        }
        owner = self._fade_optimizer_owner()
        old: th.optim.Optimizer = owner.optimizer
        if isinstance(old, FADE) and any(group["fade"] for group in old.param_groups):
            raise TypeError("the critic optimizer already has FADE heads; nothing to attach")
        policy = self.policy  # type: ignore[attr-defined]
        kwargs = fade_optimizer_kwargs(
            policy.optimizer_class, policy.optimizer_kwargs, getattr(self, "fade_kwargs", None)
        )
        self.fade_kwargs = {
            k: v for k, v in (getattr(self, "fade_kwargs", None) or {}).items() if k in FADE_KWARGS
        }

        params = [p for group in old.param_groups for p in group["params"]]
        param_ids = {id(p) for p in params}
        heads = [p for _, head in self._fade_parts.values() for p in head_parameters(head)]
        missing = [
            name for name, (_, h) in self._fade_parts.items() if id(h.weight) not in param_ids
        ]
        if missing:
            raise ValueError(
                f"the head(s) {missing} are not optimized by the critic optimizer; FADE can only "
                "take over heads that the critic loss trains"
            )
        head_ids = {id(p) for p in heads}
        hidden = [p for p in params if id(p) not in head_ids]
        groups: list[dict[str, Any]] = []
        if hidden:
            groups.append({"params": hidden})
        groups.append({"params": heads, "fade": True})
        new = FADE(groups, lr=old.param_groups[0]["lr"], **kwargs)
        _move_adam_state(old, new)
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

    # ---------------------------------------------------------------- curvature
    def _set_head_curvature(self, head: nn.Linear, phi: th.Tensor, c: th.Tensor) -> None:
        """``opt.set_curvature`` for a head from its input features and the output Hessian ``c``.

        ``H_W = c.T @ phi**2`` and ``H_b = c.sum(0)`` (FADE.md section 3), computed
        without a device synchronisation.
        """
        phi = phi.detach()
        c = c.detach().to(phi.dtype)
        optimizer = self.fade_optimizer
        if head.weight.grad is not None:
            optimizer.set_curvature(head.weight, c.T @ phi.square())
        if head.bias is not None and head.bias.grad is not None:
            optimizer.set_curvature(head.bias, c.sum(dim=0))

    # ------------------------------------------------------------------ logging
    def fade_decay_rates(self) -> dict[str, th.Tensor]:
        """Current decay rates ``lambda`` of every head element, flattened, by head name."""
        optimizer = self.fade_optimizer
        return {
            name: th.cat(
                [optimizer.decay_rates(p).detach().flatten() for p in head_parameters(head)]
            )
            for name, (_, head) in self._fade_parts.items()
        }

    def _record_fade_stats(self) -> None:
        """Record ``fade/<head>/lambda_*`` scalars and a ``fade/<head>/lambda`` histogram."""
        logger = self.logger  # type: ignore[attr-defined]
        probabilities = th.tensor([0.1, 0.5, 0.9])
        for name, rates in self.fade_decay_rates().items():
            rates = rates.float().cpu()
            quantiles = th.quantile(rates, probabilities).tolist()
            logger.record(f"fade/{name}/lambda_mean", rates.mean().item())
            logger.record(f"fade/{name}/lambda_min", rates.min().item())
            for p, q in zip((10, 50, 90), quantiles, strict=True):
                logger.record(f"fade/{name}/lambda_q{p}", q)
            logger.record(f"fade/{name}/lambda_max", rates.max().item())
            # Histograms are written by TensorBoard only; the text formats would choke on them.
            logger.record(f"fade/{name}/lambda", rates, exclude=("stdout", "log", "json", "csv"))

    def dump_logs(self) -> None:
        """Record the ``fade/`` keys, then write SB3's logs (called at each log interval)."""
        self._record_fade_stats()
        super().dump_logs()  # type: ignore[misc]

    # ---------------------------------------------------------------- save/load
    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "_fade_parts"]  # type: ignore[misc]

    def save(self, path: Any, exclude: Iterable[str] | None = None, include: Any = None) -> None:
        """Save as SB3 does, marked as a FADE checkpoint (see :meth:`load`)."""
        self.__dict__[_MARKER_KEY] = _FadeCheckpointMarker(type(self).__name__)
        self.__dict__[_ALGORITHM_KEY] = type(self).__name__
        try:
            super().save(path, exclude=exclude, include=include)  # type: ignore[misc]
        finally:
            self.__dict__.pop(_MARKER_KEY, None)

    @classmethod
    def load(  # type: ignore[override]
        cls,
        path: str | pathlib.Path | io.BufferedIOBase,
        env: Any = None,
        device: th.device | str = "auto",
        custom_objects: dict[str, Any] | None = None,
        print_system_info: bool = False,
        force_reset: bool = True,
        **kwargs: Any,
    ) -> Any:
        """Load a zip saved by this FADE algorithm, FADE state included.

        A zip of the vanilla SB3 algorithm is refused with a pointer to
        :func:`~fade_rl.agents.attach_fade`.
        """
        saved_by = _read_zip_data(path).get(_ALGORITHM_KEY)
        base = cls.sb3_class.__name__
        if saved_by is None:
            raise FadeCheckpointError(
                f"{path} is not a {cls.__name__} checkpoint (no FADE state in it): load it with "
                f"SB3's {base}.load, or turn it into a {cls.__name__} with "
                f"`fade_rl.attach_fade({path!r})`."
            )
        if saved_by != cls.__name__:
            raise FadeCheckpointError(
                f"{path} was saved by {saved_by}; open it with {saved_by}.load, "
                f"not {cls.__name__}.load"
            )
        custom_objects = {**(custom_objects or {}), _MARKER_KEY: None}
        model = super().load(  # type: ignore[misc]
            path,
            env=env,
            device=device,
            custom_objects=custom_objects,
            print_system_info=print_system_info,
            force_reset=force_reset,
            **kwargs,
        )
        model.__dict__.pop(_MARKER_KEY, None)
        return model


def _move_adam_state(old: th.optim.Optimizer, new: FADE) -> None:
    """Copy torch Adam moments (and step counts) from ``old`` into FADE's base state.

    FADE creates the rest of a head parameter's state (``log_decay`` at
    ``init_decay``, zero trace) at its first step. Nothing happens unless
    ``old`` is ``torch.optim.Adam`` and ``new``'s base is Adam.
    """
    if type(old) is not th.optim.Adam:
        return
    for group in new.param_groups:
        if group["base"] != "adam":
            continue
        for p in group["params"]:
            state = old.state.get(p)
            if not state or "exp_avg" not in state:
                continue
            new.state[p] = {
                "step": int(th.as_tensor(state["step"]).item()),
                "exp_avg": state["exp_avg"].detach().clone(),
                "exp_avg_sq": state["exp_avg_sq"].detach().clone(),
            }
