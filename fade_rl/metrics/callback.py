"""``PlasticityCallback``: plasticity, shift and FADE measurements of an SB3 agent, to TensorBoard.

Every ``interval`` environment steps the callback samples a batch from the replay buffer
and runs the critic(s) on it in a forward pass of its own, keeping every hidden layer's
output (see :mod:`fade_rl.parts.critics`; no forward hooks, so SAC's extra critic pass in
the actor loss cannot corrupt anything). From that pass it logs, for each critic network
(``q_net`` for DQN; ``qf0``, ``qf1`` for SAC and TD3)::

    plasticity/<network>/<layer>/dormant_ratio_tau<tau>   share of tau-dormant units
    plasticity/<network>/<layer>/active_units             share of non-zero activations
    plasticity/<network>/<layer>/srank                    srank_delta (delta = srank_delta)
    plasticity/<network>/<layer>/effective_rank
    plasticity/<network>/<layer>/feature_norm             mean L2 norm of a sample's features
    plasticity/<network>/<layer>/weight_norm              of the layer's parameters
    plasticity/<network>/<layer>/dist_from_init           of the layer's parameters
    plasticity/<network>/<layer>/grad_norm                of the critic loss on this batch
    plasticity/<network>/head/{weight_norm,dist_from_init,grad_norm}
    plasticity/<network>/head/{q_mean,q_std,q_min,q_max}  all outputs of the head
    plasticity/<network>/head/{td_mean,td_abs_mean,td_std}  target - Q of the taken action
    plasticity/<network>/net/{weight_norm,dist_from_init,grad_norm,loss}

``<layer>`` is ``hidden0``, ``hidden1``, ... (and ``features`` for a features extractor with
parameters). The TD targets and the loss are those of the algorithm itself (Huber for DQN,
MSE with the target policy's noise for TD3, with the entropy term for SAC); the gradient is
taken with ``torch.autograd.grad`` and never touches ``.grad``. Every
``histogram_interval`` steps it adds histograms ``plasticity/<network>/<layer>/activations``
and, when the critic optimizer is a :class:`~fade_rl.optim.FADE`, ``fade/<head>/lambda``;
FADE's decay rates are summarised at every interval as
``fade/<head>/lambda_{mean,min,q10,q50,q90,max}`` (the names FadeDQN/FadeSAC/FadeTD3 use).

Every ``probe_interval`` steps it runs the plasticity probe on each network
(``plasticity/<network>/probe/{fit_loss,fresh_fit_loss,fit_ratio}``; see
:mod:`fade_rl.metrics.probes`). When an environment marks a shift (``info["shift"]``, see
:mod:`fade_rl.envs`), it records the critics' outputs on a replay batch (all of it collected
before the shift) and from then on logs the memory probe at every interval:
``plasticity/<network>/memory/{probe_r2,output_r2}``.

From the environments' ``info`` it also logs, on environment 0's stream,
``shift/episode_return`` (every episode, at its step), ``shift/segment``, and when a segment
closes (at the next shift or the end of training) its statistics from
:func:`~fade_rl.metrics.shifts.shift_statistics`: ``shift/return_before``,
``shift/return_after``, ``shift/recovered``, ``shift/recovery_steps`` (if recovered),
``shift/return_area`` and ``shift/mean_return``. Steps within those statistics count the
steps of one environment copy.

Values go to the TensorBoard output of the model's SB3 logger, each at the step it was
measured (without disturbing what SB3 itself records between its dumps), and are kept in
:attr:`PlasticityCallback.history`. The callback leaves training exactly as it would have
been: it restores numpy's and torch's global random state after sampling, puts the policy
back in its training mode, and never writes ``.grad``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import astuple
from typing import Any, cast

import numpy as np
import torch as th
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import TensorBoardOutputFormat
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.preprocessing import preprocess_obs
from torch import nn

from fade_rl.metrics import functional as F
from fade_rl.metrics.probes import memory_probe, plasticity_probe
from fade_rl.metrics.shifts import Episode, SegmentStats, Shift, return_area, shift_statistics
from fade_rl.optim import FADE
from fade_rl.parts import (
    CriticNetwork,
    Periodic,
    SupportedModel,
    check_model,
    check_replay_buffer,
    check_tau,
    critic_loss,
    critic_networks,
    critic_optimizer,
    decay_rate_summary,
    readout,
    run_critics,
    td_targets,
)

__all__ = ["PlasticityCallback"]

_TEXT_FORMATS = ("stdout", "log", "json", "csv")


def _check_interval(name: str, value: int | None, allow_none: bool) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        off = " or None to turn it off" if allow_none else ""
        raise ValueError(
            f"{name} must be a positive number of environment steps{off}, got {value!r} "
            f"(e.g. {name}=1000)"
        )


def _values_key(values: Any) -> Hashable:
    """A hashable key of an ``info["shift_values"]`` dict (tuples and arrays made hashable)."""
    if not isinstance(values, dict):
        return None

    def freeze(v: Any) -> Hashable:
        if isinstance(v, np.ndarray):
            return tuple(v.tolist())
        if isinstance(v, np.generic):
            return v.item()
        if isinstance(v, (list, tuple)):
            return tuple(freeze(x) for x in v)
        return v

    return tuple(sorted((str(k), freeze(v)) for k, v in values.items()))


def _to_device(value: Any, device: th.device) -> Any:
    """``value`` with every tensor in it (dicts, lists, tuples) moved to ``device``."""
    if isinstance(value, th.Tensor):
        return value.to(device)
    if isinstance(value, dict):
        return {k: _to_device(v, device) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to_device(v, device) for v in value)
    return value


class _ProbeNet(nn.Module):
    """A critic network as one module: ``extractor -> [cat actions] -> layers``."""

    def __init__(self, net: CriticNetwork) -> None:
        super().__init__()
        self.extractor = net.extractor
        self.body = nn.Sequential(*[m for layer in net.layers for m in layer.modules])
        self.takes_actions = net.takes_actions

    def forward(self, obs: th.Tensor, actions: th.Tensor | None = None) -> th.Tensor:
        x = self.extractor(obs)
        if self.takes_actions:
            assert actions is not None, "a Q(s, a) critic needs the actions"
            x = th.cat([x, actions], dim=1)
        return self.body(x)


class PlasticityCallback(BaseCallback):
    """Logs plasticity metrics, probes, shift statistics and FADE's decay rates (see module doc).

    Works with SB3's DQN, SAC and TD3 and fade_rl's FadeDQN, FadeSAC and FadeTD3. Give the
    model a TensorBoard log (``tensorboard_log=...``, or
    :func:`fade_rl.metrics.tensorboard.configure_run`) to see the curves.

    Args:
        interval: environment steps (``model.num_timesteps``) between measurements.
        batch_size: replay transitions per measurement.
        taus: dormancy thresholds; one ``dormant_ratio_tau<tau>`` per value.
        srank_delta: the ``delta`` of srank.
        histogram_interval: steps between histograms (activations, FADE's lambdas);
            ``None`` for none.
        probe_interval: steps between plasticity probes; ``None`` for none.
        probe_steps: Adam steps of the plasticity probe.
        probe_batch_size: replay states the probe fits.
        probe_lr: the probe's Adam learning rate.
        memory: record pre-shift outputs at each shift and log the memory probe.
        memory_batch_size: replay transitions recorded for the memory probe.
        recovery_share: share of the reference return that counts as recovered.
        return_window: episodes averaged before/after a shift.
        recovery_window: episodes in the running mean tested for recovery.
        shift_reference: ``"previous"`` or ``"same_values"`` (see
            :func:`~fade_rl.metrics.shifts.shift_statistics`).
        seed: seed of the probes' random targets and fresh networks.
        verbose: SB3 verbosity.

    Attributes:
        history: ``(step, {tag: value})`` of every scalar written, in order.
        latest: the last value of every scalar tag.
        episodes: per environment copy, its finished episodes (steps of that copy).
        shifts: per environment copy, the shifts it saw.
        time_spent: seconds spent inside the callback.

    Example:
        >>> from stable_baselines3 import DQN
        >>> from fade_rl.metrics import PlasticityCallback
        >>> model = DQN("MlpPolicy", "CartPole-v1", learning_starts=100, buffer_size=1000)
        >>> callback = PlasticityCallback(interval=250, batch_size=64, probe_interval=None)
        >>> _ = model.learn(500, callback=callback)
        >>> round(callback.latest["plasticity/q_net/hidden0/active_units"], 1) > 0
        True
    """

    def __init__(
        self,
        interval: int = 1000,
        batch_size: int = 256,
        taus: Sequence[float] = (0.0, 0.025),
        srank_delta: float = 0.01,
        histogram_interval: int | None = 10_000,
        probe_interval: int | None = 25_000,
        probe_steps: int = 100,
        probe_batch_size: int = 512,
        probe_lr: float = 1e-3,
        memory: bool = True,
        memory_batch_size: int = 1024,
        recovery_share: float = 0.9,
        return_window: int = 10,
        recovery_window: int = 5,
        shift_reference: str = "previous",
        seed: int = 0,
        verbose: int = 0,
    ) -> None:
        super().__init__(verbose)
        _check_interval("interval", interval, allow_none=False)
        _check_interval("histogram_interval", histogram_interval, allow_none=True)
        _check_interval("probe_interval", probe_interval, allow_none=True)
        for name, value in (
            ("batch_size", batch_size),
            ("probe_steps", probe_steps),
            ("probe_batch_size", probe_batch_size),
            ("memory_batch_size", memory_batch_size),
            ("return_window", return_window),
            ("recovery_window", recovery_window),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if batch_size < 2 or memory_batch_size < 4:
            raise ValueError(
                "batch_size must be >= 2 and memory_batch_size >= 4 (statistics over a batch)"
            )
        self.taus = tuple(check_tau(t) for t in taus)
        if not self.taus:
            raise ValueError("taus must name at least one dormancy threshold, e.g. (0.0, 0.025)")
        if not 0.0 <= srank_delta < 1.0:
            raise ValueError(f"srank_delta must be in [0, 1) (e.g. 0.01), got {srank_delta!r}")
        if not 0.0 <= recovery_share <= 1.0:
            raise ValueError(f"recovery_share must be in [0, 1] (e.g. 0.9), got {recovery_share!r}")
        if not probe_lr > 0:
            raise ValueError(f"probe_lr must be positive, got {probe_lr!r}")
        if shift_reference not in ("previous", "same_values"):
            raise ValueError(
                f"shift_reference must be 'previous' or 'same_values', got {shift_reference!r}"
            )
        self.interval = int(interval)
        self.batch_size = batch_size
        self.srank_delta = srank_delta
        self.histogram_interval = histogram_interval
        self.probe_interval = probe_interval
        self.probe_steps = probe_steps
        self.probe_batch_size = probe_batch_size
        self.probe_lr = probe_lr
        self.memory = memory
        self.memory_batch_size = memory_batch_size
        self.recovery_share = recovery_share
        self.return_window = return_window
        self.recovery_window = recovery_window
        self.shift_reference = shift_reference
        self.seed = seed

        self.history: list[tuple[int, dict[str, float]]] = []
        self.latest: dict[str, float] = {}
        self.episodes: list[list[Episode]] = []
        self.shifts: list[list[Shift]] = []
        self.initial_values: list[Hashable] = []
        self.time_spent = 0.0

        self._networks: list[CriticNetwork] = []
        self._initial: dict[int, th.Tensor] | None = None
        self._restored_initial: list[th.Tensor] | None = None  # from load_state_dict
        self._tb: list[TensorBoardOutputFormat] = []
        self._periods = {
            "measure": Periodic(self.interval),
            "histogram": None if histogram_interval is None else Periodic(histogram_interval),
            "probe": None if probe_interval is None else Periodic(probe_interval),
        }
        self._pending_returns: list[tuple[int, float]] = []
        self._memory_ref: dict[str, Any] | None = None
        self._closed_segments = 0
        self._env_steps = 0
        self._segment: int | None = None  # env 0's info["segment"], once an env reports one

    # ----------------------------------------------------------------- resumable state
    def state_dict(self) -> dict[str, Any]:
        """The running state a resumed run needs, as lists, tuples, numbers and tensors.

        It holds the episodes and shifts seen per environment copy, the segments already
        logged, returns not yet written, the memory probe's pre-shift reference and the
        critics' initial weights (for ``dist_from_init``), so a run that saves it with its
        model and calls :meth:`load_state_dict` before ``learn`` resumes measures as if it
        had never stopped. ``torch.save`` it; ``torch.load(..., weights_only=True)`` reads it.
        """
        initial = None
        if self._initial is not None:
            initial = [self._initial[id(p)] for p in self._critic_params()]
        return {
            "episodes": [[astuple(e) for e in env] for env in self.episodes],
            "shifts": [[astuple(s) for s in env] for env in self.shifts],
            "initial_values": list(self.initial_values),
            "time_spent": self.time_spent,
            "closed_segments": self._closed_segments,
            "env_steps": self._env_steps,
            "pending_returns": list(self._pending_returns),
            "memory_ref": self._memory_ref,
            "initial": initial,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (call it before ``learn`` resumes).

        Its tensors move to the model's device when the callback starts, so a state saved
        on one device resumes on another.
        """
        self.episodes = [[Episode(*e) for e in env] for env in state["episodes"]]
        self.shifts = [[Shift(*s) for s in env] for env in state["shifts"]]
        self.initial_values = list(state["initial_values"])
        self.time_spent = state["time_spent"]
        self._closed_segments = state["closed_segments"]
        self._env_steps = state["env_steps"]
        self._pending_returns = [tuple(r) for r in state["pending_returns"]]
        self._memory_ref = state["memory_ref"]
        self._restored_initial = state["initial"]

    def _critic_params(self) -> list[nn.Parameter]:
        return [p for net in self._networks for p in net.parameters()]

    # ----------------------------------------------------------------------- set-up
    def _init_callback(self) -> None:
        check_replay_buffer(check_model(self.model, "PlasticityCallback"), "PlasticityCallback")
        self._networks = critic_networks(self.model)
        if self._restored_initial is not None:
            params = self._critic_params()
            if len(params) != len(self._restored_initial):
                raise ValueError(
                    f"the saved state holds {len(self._restored_initial)} initial critic "
                    f"tensors but the model has {len(params)}: it was saved from another "
                    "architecture"
                )
            self._initial = {
                id(p): t.to(p.device) for p, t in zip(params, self._restored_initial, strict=True)
            }
            self._restored_initial = None
        if self._memory_ref is not None:
            self._memory_ref = _to_device(self._memory_ref, self.model.device)
        n_envs = self.model.n_envs
        if len(self.episodes) != n_envs:
            self.episodes = [[] for _ in range(n_envs)]
            self.shifts = [[] for _ in range(n_envs)]
            self.initial_values = [None] * n_envs

    def _on_training_start(self) -> None:
        self._tb = [f for f in self.logger.output_formats if isinstance(f, TensorBoardOutputFormat)]
        if self._initial is None:
            self._initial = {id(p): p.detach().clone() for p in self._critic_params()}
        for period in self._periods.values():
            if period is not None:
                period.start(self.model.num_timesteps)

    # ------------------------------------------------------------------------- steps
    def _on_step(self) -> bool:
        start = time.perf_counter()
        self._track_infos()
        now = self.num_timesteps
        if self._buffer_size() >= self.batch_size and self._due("measure", now):
            values, hist_values = self._measure(histograms=self._due("histogram", now))
            if self._due("probe", now):
                values.update(self._probe())
            scalars, hists = self._read(values, hist_values)
            self._write_pending_returns()
            self._write(self._with_segment(scalars), hists, now)
        self.time_spent += time.perf_counter() - start
        return True

    def _due(self, what: str, now: int) -> bool:
        period = self._periods[what]
        return period is not None and period.due(now)

    def _on_training_end(self) -> None:
        start = time.perf_counter()
        self._write_pending_returns()
        self._close_segments(final=True)
        for output in self._tb:
            output.writer.flush()
        self.time_spent += time.perf_counter() - start

    @property
    def _replay_buffer(self) -> ReplayBuffer:
        buffer = cast(OffPolicyAlgorithm, self.model).replay_buffer
        assert buffer is not None, "check_model in _init_callback makes sure there is one"
        return buffer

    def _buffer_size(self) -> int:
        return self._replay_buffer.size()

    # -------------------------------------------------------------------- env info
    def _track_infos(self) -> None:
        infos = self.locals.get("infos")
        if not infos:
            return
        step = self._env_steps  # index of this step on each copy's clock
        self._env_steps += 1
        shifted = False
        for i, info in enumerate(infos):
            if step == 0 and i < len(self.initial_values) and not self.shifts[i]:
                self.initial_values[i] = _values_key(info.get("shift_values"))
            if i == 0 and "segment" in info:
                self._segment = int(info["segment"])
            if info.get("shift"):
                segment = info.get("segment")
                segment = len(self.shifts[i]) + 1 if segment is None else int(segment)
                self.shifts[i].append(Shift(step, segment, _values_key(info.get("shift_values"))))
                shifted = shifted or i == 0
            episode = info.get("episode")
            if episode is not None:
                ret = float(episode["r"])
                self.episodes[i].append(Episode(step + 1, ret, int(episode.get("l", 0))))
                if i == 0:
                    self._pending_returns.append((self.num_timesteps, ret))
        if shifted:
            if self.memory and self._buffer_size() >= 4:
                self._record_memory_reference()
            self._close_segments(final=False)

    def _write_pending_returns(self) -> None:
        if self._pending_returns:
            by_step: dict[int, float] = {}
            for step, ret in self._pending_returns:
                by_step[step] = ret
            for step, ret in by_step.items():
                self._write({"shift/episode_return": ret}, {}, step, flush=False)
            self._pending_returns = []

    def shift_statistics(self, env: int = 0, final: bool = False) -> list[SegmentStats]:
        """Per-segment statistics of environment copy ``env`` so far.

        The last segment ends at the current step (``final``: one step after).
        """
        end = self._env_steps + (1 if final else 0)
        return shift_statistics(
            self.episodes[env],
            self.shifts[env],
            share=self.recovery_share,
            window=self.return_window,
            recovery_window=self.recovery_window,
            reference=self.shift_reference,  # type: ignore[arg-type]
            end=max(end, 1),
            initial_values=self.initial_values[env],
        )

    def _close_segments(self, final: bool) -> None:
        """Log the statistics of env 0's segments that have closed and were not logged yet.

        With ``final`` (the end of a ``learn`` call) the running segment is logged too, as it
        stands; it is logged again when it really closes, if training goes on.
        """
        if not self.episodes:
            return
        stats = self.shift_statistics(0, final=final)
        closed = stats if final else stats[:-1]
        for s in closed[self._closed_segments :]:
            scalars = {"shift/segment_closed": float(s.segment)}
            if s.return_area is not None:
                scalars["shift/return_area"] = s.return_area
                scalars["shift/mean_return"] = s.mean_return  # type: ignore[assignment]
            if s.segment > 0:
                if s.return_before is not None:
                    scalars["shift/return_before"] = s.return_before
                if s.return_after is not None:
                    scalars["shift/return_after"] = s.return_after
                if s.reference_return is not None:
                    scalars["shift/recovered"] = float(s.recovery_steps is not None)
                if s.recovery_steps is not None:
                    scalars["shift/recovery_steps"] = float(s.recovery_steps)
            self._write(scalars, {}, self.num_timesteps)
        self._closed_segments = max(self._closed_segments, len(stats) - 1)

    # ------------------------------------------------------------------ measuring
    def _sample(self, batch_size: int) -> Any:
        return self._replay_buffer.sample(batch_size, env=self.model._vec_normalize_env)

    def _rng_devices(self) -> list[int]:
        device = th.device(self.model.device)
        if device.type == "cuda":
            return [device.index if device.index is not None else th.cuda.current_device()]
        return []

    def measure(self, histograms: bool = False) -> tuple[dict[str, float], dict[str, th.Tensor]]:
        """One measurement on a fresh replay batch: ``(scalars, histograms)`` by tag.

        Training's random streams, the policy's mode and every ``.grad`` are left as they were.
        """
        scalars, hists = self._read(*self._measure(histograms))
        return self._with_segment(scalars), hists

    def _read(
        self, values: dict[str, th.Tensor], hists: dict[str, th.Tensor]
    ) -> tuple[dict[str, float], dict[str, th.Tensor]]:
        """The one host read of a measurement (everything before it stays on the device).

        Memory-probe values that are not finite (a degenerate probe) are left out.
        """
        scalars = {
            tag: value
            for tag, value in readout.read_scalars(values).items()
            if "/memory/" not in tag or math.isfinite(value)
        }
        return scalars, readout.read_histograms(hists)

    def _with_segment(self, scalars: dict[str, float]) -> dict[str, float]:
        if self._segment is not None:
            scalars["shift/segment"] = float(self._segment)
        return scalars

    def _measure(self, histograms: bool) -> tuple[dict[str, th.Tensor], dict[str, th.Tensor]]:
        """:meth:`measure` before the read: ``(scalars, histograms)`` as device tensors."""
        model = self.model
        policy = model.policy
        np_state = np.random.get_state()
        was_training = policy.training
        try:
            with th.random.fork_rng(devices=self._rng_devices()):
                data = self._sample(self.batch_size)
                policy.set_training_mode(False)
                with th.no_grad():
                    targets = td_targets(model, data)
                with th.enable_grad():
                    passes = run_critics(self._networks, data.observations, data.actions)
                    loss, taken = critic_loss(model, passes, data, targets)
                    params = self._unique_params()
                    grads = th.autograd.grad(
                        loss, params, allow_unused=True, materialize_grads=True
                    )
        finally:
            np.random.set_state(np_state)
            policy.set_training_mode(was_training)
        grad_of = {id(p): g for p, g in zip(params, grads, strict=True)}
        scalars: dict[str, th.Tensor] = {}
        hists: dict[str, th.Tensor] = {}
        for net in self._networks:
            record = passes[net.name]
            prefix = f"plasticity/{net.name}"
            for layer in net.hidden:
                acts = record.activations[layer.name].detach()
                tag = f"{prefix}/{layer.name}"
                for tau in self.taus:
                    scalars[f"{tag}/dormant_ratio_tau{tau:g}"] = F.dormant_ratio(acts, tau)
                scalars[f"{tag}/active_units"] = F.active_units(acts)
                sv = F.singular_values(acts)
                scalars[f"{tag}/srank"] = F.srank_of_singular_values(sv, self.srank_delta)
                scalars[f"{tag}/effective_rank"] = F.effective_rank_of_singular_values(sv)
                scalars[f"{tag}/feature_norm"] = F.feature_norm(acts)
                scalars.update(self._param_stats(tag, layer.parameters(), grad_of))
                if histograms:
                    hists[f"{tag}/activations"] = acts
            scalars.update(self._param_stats(f"{prefix}/head", net.head.parameters(), grad_of))
            q = record.q_values
            assert q is not None
            scalars.update({f"{prefix}/head/{k}": v for k, v in F.value_stats(q).items()})
            td = F.td_error_stats(taken[net.name], targets)
            scalars.update({f"{prefix}/head/{k}": v for k, v in td.items()})
            scalars.update(self._param_stats(f"{prefix}/net", net.parameters(), grad_of))
        scalars["plasticity/critic_loss"] = loss.detach()
        fade_scalars, fade_hists = self._fade_stats(histograms)
        scalars.update(fade_scalars)
        hists.update(fade_hists)
        if self._memory_ref is not None:
            scalars.update(self._memory_scores())
        return scalars, hists

    def _unique_params(self) -> list[nn.Parameter]:
        seen: set[int] = set()
        params = []
        for net in self._networks:
            for p in net.parameters():
                if id(p) not in seen and p.requires_grad:
                    seen.add(id(p))
                    params.append(p)
        return params

    def _param_stats(
        self, tag: str, params: list[nn.Parameter], grad_of: Mapping[int, th.Tensor | None]
    ) -> dict[str, th.Tensor]:
        assert self._initial is not None
        initial = [self._initial[id(p)] for p in params]
        return {
            f"{tag}/weight_norm": F.weight_norm(params),
            f"{tag}/dist_from_init": F.distance_from_init(params, initial),
            f"{tag}/grad_norm": F.gradient_norm(grad_of.get(id(p)) for p in params),
        }

    def _fade_stats(self, histograms: bool) -> tuple[dict[str, th.Tensor], dict[str, th.Tensor]]:
        optimizer = critic_optimizer(cast(SupportedModel, self.model))
        if not isinstance(optimizer, FADE):
            return {}, {}
        fade_ids = {id(p) for g in optimizer.param_groups if g["fade"] for p in g["params"]}
        scalars: dict[str, th.Tensor] = {}
        hists: dict[str, th.Tensor] = {}
        for net in self._networks:
            params = [p for p in net.head.parameters() if id(p) in fade_ids]
            if not params:
                continue
            rates = th.cat([optimizer.decay_rates(p).detach().flatten() for p in params])
            tag = f"fade/{net.name}"
            scalars.update({f"{tag}/{k}": v for k, v in decay_rate_summary(rates).items()})
            if histograms:
                hists[f"{tag}/lambda"] = rates
        return scalars, hists

    # ------------------------------------------------------------------------ probes
    def probe(self) -> dict[str, float]:
        """Run the plasticity probe on every critic network: ``{tag: value}``."""
        return self._read(self._probe(), {})[0]

    def _probe(self) -> dict[str, th.Tensor]:
        """:meth:`probe` before the read: ``{tag: device tensor}``."""
        np_state = np.random.get_state()
        policy = self.model.policy
        was_training = policy.training
        out: dict[str, th.Tensor] = {}
        try:
            with th.random.fork_rng(devices=self._rng_devices()):
                data = self._sample(self.probe_batch_size)
                policy.set_training_mode(False)
                for net in self._networks:
                    obs = preprocess_obs(
                        data.observations,
                        net.owner.observation_space,
                        normalize_images=net.owner.normalize_images,
                    )
                    inputs: tuple[Any, ...] = (obs, data.actions) if net.takes_actions else (obs,)
                    result = plasticity_probe(
                        _ProbeNet(net), inputs, self.probe_steps, self.probe_lr, seed=self.seed
                    )
                    tag = f"plasticity/{net.name}/probe"
                    out[f"{tag}/fit_loss"] = result["loss"]
                    out[f"{tag}/fresh_fit_loss"] = result["fresh_loss"]
                    out[f"{tag}/fit_ratio"] = result["ratio"]
        finally:
            np.random.set_state(np_state)
            policy.set_training_mode(was_training)
        return out

    def _record_memory_reference(self) -> None:
        """Keep a replay batch (all pre-shift) and the critics' outputs on it."""
        np_state = np.random.get_state()
        policy = self.model.policy
        was_training = policy.training
        try:
            with th.random.fork_rng(devices=self._rng_devices()), th.no_grad():
                data = self._sample(self.memory_batch_size)
                policy.set_training_mode(False)
                passes = run_critics(self._networks, data.observations, data.actions)
        finally:
            np.random.set_state(np_state)
            policy.set_training_mode(was_training)
        self._memory_ref = {
            "obs": data.observations,
            "actions": data.actions,
            "targets": {name: p.q_values.detach() for name, p in passes.items()},  # type: ignore[union-attr]
        }

    def _memory_scores(self) -> dict[str, th.Tensor]:
        ref = self._memory_ref
        assert ref is not None
        policy = self.model.policy
        was_training = policy.training
        try:
            policy.set_training_mode(False)
            with th.no_grad():
                passes = run_critics(self._networks, ref["obs"], ref["actions"])
        finally:
            policy.set_training_mode(was_training)
        out: dict[str, th.Tensor] = {}
        for net in self._networks:
            record = passes[net.name]
            features = record.activations[net.hidden[-1].name]
            assert record.q_values is not None
            scores = memory_probe(features, record.q_values, ref["targets"][net.name])
            for key, value in scores.items():
                out[f"plasticity/{net.name}/memory/{key}"] = value
        return out

    # ------------------------------------------------------------------------- output
    def _write(
        self, scalars: dict[str, float], hists: dict[str, th.Tensor], step: int, flush: bool = True
    ) -> None:
        """Record values at ``step`` and send them to TensorBoard.

        SB3's TensorBoard output flushes the event file on every write, which costs more
        than the write itself; ``flush=False`` (scalars only) leaves that to the next write.
        """
        if not scalars and not hists:
            return
        scalars = {k: float(v) for k, v in scalars.items()}
        self.history.append((step, scalars))
        self.latest.update(scalars)
        if not flush and not hists:
            for output in self._tb:
                for tag, value in scalars.items():
                    output.writer.add_scalar(tag, value, step)
            return
        if not self._tb:
            return
        values: dict[str, Any] = {**scalars, **hists}
        excluded: dict[str, tuple[str, ...]] = {k: () for k in values}
        for output in self._tb:
            output.write(values, excluded, step)

    def final_metrics(self) -> dict[str, float]:
        """Summary numbers of the run so far, for hparams (tags ``final/...``).

        ``final/return``: mean return of env 0's last ``return_window`` episodes;
        ``final/mean_return``: time-averaged return over all of env 0's steps (the area
        under its return curve per step, from its first episode's end);
        ``final/recovery_steps``: mean over recovered segments; ``final/recovered``: share of
        shifts recovered from; ``final/dormant_ratio_tau<max tau>``, ``final/srank``,
        ``final/effective_rank``: means over networks and hidden layers at the last
        measurement; ``final/probe_fit_ratio``: mean of the last probe ratios.
        """
        out: dict[str, float] = {}
        if self.episodes and self.episodes[0]:
            recent = self.episodes[0][-self.return_window :]
            out["final/return"] = sum(e.ret for e in recent) / len(recent)
            whole = return_area(self.episodes[0], 0, self._env_steps + 1)
            if whole is not None:
                out["final/mean_return"] = whole[1]
            stats = self.shift_statistics(0, final=True)
            shifted = [s for s in stats if s.segment > 0 and s.reference_return is not None]
            if shifted:
                recovered = [s.recovery_steps for s in shifted if s.recovery_steps is not None]
                out["final/recovered"] = len(recovered) / len(shifted)
                if recovered:
                    out["final/recovery_steps"] = sum(recovered) / len(recovered)

        def mean_of(suffix: str) -> float | None:
            values = [
                v
                for k, v in self.latest.items()
                if k.startswith("plasticity/")
                and k.endswith(suffix)
                and "/head/" not in k
                and "/net/" not in k
            ]
            return sum(values) / len(values) if values else None

        for key, suffix in (
            (f"final/dormant_ratio_tau{max(self.taus):g}", f"/dormant_ratio_tau{max(self.taus):g}"),
            ("final/srank", "/srank"),
            ("final/effective_rank", "/effective_rank"),
            ("final/probe_fit_ratio", "/probe/fit_ratio"),
        ):
            value = mean_of(suffix)
            if value is not None:
                out[key] = value
        return out
