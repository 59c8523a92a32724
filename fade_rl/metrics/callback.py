"""``PlasticityCallback``: plasticity, shift and FADE measurements of an SB3 agent, to TensorBoard.

The callback schedules and writes; each concern lives in its own module:

* :mod:`fade_rl.metrics.registry` -- every metric as one entry. Add a metric there.
* :mod:`fade_rl.metrics.measure` -- every ``interval`` steps, the metrics of each critic
  network (``q_net``; ``qf0``, ``qf1``; PPO's ``value_net``) on a batch from
  :func:`~fade_rl.metrics.batches.batch_source` (the replay buffer; for PPO, the last
  rollout, kept at its end): per hidden layer
  ``plasticity/<network>/<layer>/...``, per head ``.../head/...``, per network
  ``.../net/...``, FADE's ``fade/<network>/lambda_*``.
* :mod:`fade_rl.metrics.probing` -- every ``probe_interval`` steps the plasticity probe;
  after a shift (``info["shift"]``) the memory probe at every interval.
* :mod:`fade_rl.metrics.episodes` -- episodes and shifts from the ``info`` dicts:
  ``shift/episode_return``, ``shift/segment`` and each closed segment's statistics.
* :mod:`fade_rl.metrics.writer` -- history, latest values and the TensorBoard output.
* :mod:`fade_rl.metrics.settings` -- the settings below, each checked once (the experiments'
  config uses the same checks).

Every tag is listed in ``docs/metrics.md``. Everything is computed on the model's device
and read to the host once per measurement (:mod:`fade_rl.nets.readout`). The callback
leaves training exactly as it would have been: numpy's and torch's random state and the
policy's mode are restored after each measurement, and ``.grad`` is never written.
"""

from __future__ import annotations

import math
import time
from collections.abc import Hashable, Sequence
from typing import Any

import torch as th
from stable_baselines3.common.callbacks import BaseCallback
from torch import nn

from fade_rl.algos import CriticNetwork, Periodic, critic_networks, readout
from fade_rl.metrics import registry
from fade_rl.metrics.batches import BatchSource, batch_source
from fade_rl.metrics.episodes import EpisodeLog
from fade_rl.metrics.measure import isolated, measure_critics
from fade_rl.metrics.probing import memory_scores, probe_critics, record_reference, to_device
from fade_rl.metrics.settings import MeasurementSettings
from fade_rl.metrics.shifts import Episode, SegmentStats, Shift
from fade_rl.metrics.summaries import final_means
from fade_rl.metrics.writer import Writer

__all__ = ["PlasticityCallback"]

_SETTING_NAMES = frozenset(MeasurementSettings.__dataclass_fields__)


class PlasticityCallback(BaseCallback):
    """Logs plasticity metrics, probes, shift statistics and FADE's decay rates (see module doc).

    Works with SB3's DQN, SAC, TD3 and PPO and fade_rl's FadeDQN, FadeSAC, FadeTD3 and
    FadePPO. On PPO it measures on samples of the last collected rollout (its returns are
    the value targets), from the first rollout's end on. Give the model a TensorBoard log
    (``tensorboard_log=...``, or :func:`fade_rl.metrics.tensorboard.configure_run`) to see
    the curves.

    Args:
        interval, batch_size, taus, srank_delta, histogram_interval, probe_interval,
        probe_steps, probe_batch_size, probe_lr, memory, memory_batch_size, recovery_share,
        return_window, recovery_window, shift_reference, seed: the measurement settings,
            described and checked in :class:`~fade_rl.metrics.settings.MeasurementSettings`.
        episode_log: an :class:`~fade_rl.metrics.episodes.EpisodeLog` to share with another
            callback (e.g. one writing a run's episode file), so episodes and shifts are
            tracked once; its own statistics settings then apply (``recovery_share``,
            ``return_window``, ``recovery_window`` and ``shift_reference`` are not used).
        log_returns: write ``shift/episode_return`` for every episode of env 0; ``False``
            when another callback already logs the returns (shift statistics are still
            written).
        verbose: SB3 verbosity.

    Attributes:
        settings: the :class:`~fade_rl.metrics.settings.MeasurementSettings` above (each
            also readable as an attribute, e.g. ``callback.interval``).
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
        episode_log: EpisodeLog | None = None,
        log_returns: bool = True,
        seed: int = 0,
        verbose: int = 0,
    ) -> None:
        arguments = locals()  # taken first: only the arguments
        super().__init__(verbose)
        settings = {name: arguments[name] for name in _SETTING_NAMES}
        self.settings = MeasurementSettings(**{**settings, "taus": tuple(taus)})
        if episode_log is not None and not isinstance(episode_log, EpisodeLog):
            raise TypeError(
                f"episode_log must be a fade_rl.metrics.episodes.EpisodeLog or None, got a "
                f"{type(episode_log).__name__}"
            )
        self.time_spent = 0.0
        self.log_returns = bool(log_returns)
        self._log = episode_log or EpisodeLog(
            0, recovery_share, return_window, recovery_window, shift_reference
        )
        self._writer = Writer()
        self._source: BatchSource | None = None
        self._networks: list[CriticNetwork] = []
        self._initial: dict[int, th.Tensor] | None = None
        self._restored_initial: list[th.Tensor] | None = None  # from load_state_dict
        self._memory_ref: dict[str, Any] | None = None
        self._periods = {
            "measure": Periodic(self.settings.interval),
            "histogram": None if histogram_interval is None else Periodic(histogram_interval),
            "probe": None if probe_interval is None else Periodic(probe_interval),
        }

    def __getattr__(self, name: str) -> Any:
        """A setting read as an attribute (``callback.interval``, ``callback.taus``, ...)."""
        settings = self.__dict__.get("settings")
        if settings is not None and name in _SETTING_NAMES:
            return getattr(settings, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    # --------------------------------------------------------------- what it has seen
    @property
    def history(self) -> list[tuple[int, dict[str, float]]]:
        """``(step, {tag: value})`` of every scalar written, in order."""
        return self._writer.history

    @history.setter
    def history(self, value: list[tuple[int, dict[str, float]]]) -> None:
        self._writer.history = value

    @property
    def latest(self) -> dict[str, float]:
        """The last value of every scalar tag."""
        return self._writer.latest

    @latest.setter
    def latest(self, value: dict[str, float]) -> None:
        self._writer.latest = value

    @property
    def episode_log(self) -> EpisodeLog:
        """The episode and shift bookkeeping (shareable: see ``episode_log=``)."""
        return self._log

    @property
    def episodes(self) -> list[list[Episode]]:
        """Per environment copy, its finished episodes (steps of that copy)."""
        return self._log.episodes

    @property
    def shifts(self) -> list[list[Shift]]:
        """Per environment copy, the shifts it saw."""
        return self._log.shifts

    @property
    def initial_values(self) -> list[Hashable]:
        """Per environment copy, the key of its first ``info["shift_values"]``."""
        return self._log.initial_values

    def shift_statistics(self, env: int = 0, final: bool = False) -> list[SegmentStats]:
        """Per-segment statistics of environment copy ``env`` so far.

        The last segment ends at the current step (``final``: one step after).
        """
        return self._log.statistics(env, final)

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
            **self._log.state_dict(),
            "time_spent": self.time_spent,
            "memory_ref": self._memory_ref,
            "initial": initial,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (call it before ``learn`` resumes).

        Its tensors move to the model's device when the callback starts, so a state saved
        on one device resumes on another.
        """
        self._log.load_state_dict(state)
        self.time_spent = state["time_spent"]
        self._memory_ref = state["memory_ref"]
        self._restored_initial = state["initial"]

    def _critic_params(self) -> list[nn.Parameter]:
        return [p for net in self._networks for p in net.parameters()]

    # ------------------------------------------------------------------------ set-up
    def _init_callback(self) -> None:
        self._source = batch_source(self.model)
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
            self._memory_ref = to_device(self._memory_ref, self.model.device)
        self._log.ensure_envs(self.model.n_envs)

    def _on_training_start(self) -> None:
        self._writer.attach(self.logger)
        if self._initial is None:
            self._initial = {id(p): p.detach().clone() for p in self._critic_params()}
        for period in self._periods.values():
            if period is not None:
                period.start(self.model.num_timesteps)

    # -------------------------------------------------------------------------- steps
    def _on_step(self) -> bool:
        start = time.perf_counter()
        infos = self.locals.get("infos")
        if infos and self._log.track(infos, self.num_timesteps):
            if self.settings.memory and self._batches.size() >= 4:
                with isolated(self.model):
                    data = self._sample(self.settings.memory_batch_size)
                    self._memory_ref = record_reference(self._networks, data)
            self._write_closed_segments(final=False)
        now = self.num_timesteps
        if self._batches.size() >= self.settings.batch_size and self._due("measure", now):
            values, hists = self._measure(histograms=self._due("histogram", now))
            if self._due("probe", now):
                values.update(self._probe())
            scalars, host_hists = self._read(values, hists)
            self._write_pending_returns()
            self._writer.write(scalars, host_hists, now)
        self.time_spent += time.perf_counter() - start
        return True

    def _due(self, what: str, now: int) -> bool:
        period = self._periods[what]
        return period is not None and period.due(now)

    def _on_rollout_end(self) -> None:
        """Let the batch source keep the rollout just collected (on-policy models)."""
        start = time.perf_counter()
        with isolated(self.model):  # its draws leave training's random streams alone
            self._batches.rollout_end()
        self.time_spent += time.perf_counter() - start

    def _on_training_end(self) -> None:
        start = time.perf_counter()
        self._write_pending_returns()
        self._write_closed_segments(final=True)
        self._writer.flush()
        self.time_spent += time.perf_counter() - start

    @property
    def _batches(self) -> BatchSource:
        assert self._source is not None, "_init_callback sets it"
        return self._source

    def _sample(self, batch_size: int) -> Any:
        """Every batch the callback measures on (see :mod:`fade_rl.metrics.batches`)."""
        return self._batches.sample(batch_size)

    def _write_pending_returns(self) -> None:
        returns = self._log.take_pending_returns()
        if not self.log_returns:
            return
        for step, ret in returns.items():
            self._writer.write(registry.tagged("episode", ret), {}, step, flush=False)

    def _write_closed_segments(self, final: bool) -> None:
        for scalars in self._log.close_segments(final):
            self._writer.write(scalars, {}, self.num_timesteps)

    # ---------------------------------------------------------------------- measuring
    def measure(self, histograms: bool = False) -> tuple[dict[str, float], dict[str, th.Tensor]]:
        """One measurement on a fresh batch: ``(scalars, histograms)`` by tag.

        Training's random streams, the policy's mode and every ``.grad`` are left as they were.
        """
        return self._read(*self._measure(histograms))

    def probe(self) -> dict[str, float]:
        """Run the plasticity probe on every critic network: ``{tag: value}``."""
        return self._read(self._probe(), {})[0]

    def _measure(self, histograms: bool) -> tuple[dict[str, th.Tensor], dict[str, th.Tensor]]:
        """:meth:`measure` before the read: device tensors."""
        assert self._initial is not None
        with isolated(self.model):
            data = self._sample(self.settings.batch_size)
            s = self.settings
            values, hists = measure_critics(
                self.model, self._networks, data, self._initial, s.taus, s.srank_delta, histograms
            )
            if self._memory_ref is not None:
                values.update(self._memory_scores())
        return values, hists

    def _probe(self) -> dict[str, th.Tensor]:
        with isolated(self.model):
            s = self.settings
            data = self._sample(s.probe_batch_size)
            return probe_critics(self._networks, data, s.probe_steps, s.probe_lr, s.seed)

    def _memory_scores(self) -> dict[str, th.Tensor]:
        assert self._memory_ref is not None
        with isolated(self.model):
            return memory_scores(self._networks, self._memory_ref)

    def _read(
        self, values: dict[str, th.Tensor], hists: dict[str, th.Tensor]
    ) -> tuple[dict[str, float], dict[str, th.Tensor]]:
        """The one host read of a measurement (everything before it stays on the device).

        Memory-probe values that are not finite (a degenerate probe) are left out;
        ``shift/segment`` (env 0's current segment) is added.
        """
        scalars = {
            tag: value
            for tag, value in readout.read_scalars(values).items()
            if "/memory/" not in tag or math.isfinite(value)
        }
        if self._log.segment is not None:
            scalars.update(registry.tagged("segment", self._log.segment))
        return scalars, readout.read_histograms(hists)

    # ------------------------------------------------------------------------ summary
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
        return {**self._log.summary(), **final_means(self.latest, self.settings.taus)}
