"""Plasticity measurement: pure metric functions, probes, shift statistics, the SB3 callback.

* :mod:`fade_rl.metrics.functional` -- dormant ratio, active units, srank, effective rank,
  norms, Q-value and TD-error statistics, linear probe (pure functions on tensors).
* :mod:`fade_rl.metrics.probes` -- plasticity probe and memory probe.
* :mod:`fade_rl.metrics.shifts` -- return statistics around environment shifts.
* :class:`PlasticityCallback` -- logs all of it from an SB3 DQN/SAC/TD3 (or FADE) run; its
  parts: :mod:`~fade_rl.metrics.measure` (the metrics of a batch: add a metric there),
  :mod:`~fade_rl.metrics.probing`, :mod:`~fade_rl.metrics.episodes`,
  :mod:`~fade_rl.metrics.writer`.
* :mod:`fade_rl.metrics.tensorboard` -- run names, custom-scalars layout, hparams.
"""

from fade_rl.metrics import functional
from fade_rl.metrics.callback import PlasticityCallback
from fade_rl.metrics.probes import memory_probe, plasticity_probe
from fade_rl.metrics.shifts import Episode, SegmentStats, Shift, shift_statistics

__all__ = [
    "Episode",
    "PlasticityCallback",
    "SegmentStats",
    "Shift",
    "functional",
    "memory_probe",
    "plasticity_probe",
    "shift_statistics",
]
