"""Plasticity measurement: pure metric functions, probes, shift statistics, the SB3 callback.

* :mod:`fade_rl.metrics.functional` -- dormant ratio, active units, srank, effective rank,
  norms, Q-value and TD-error statistics, linear probe (pure functions on tensors).
* :mod:`fade_rl.metrics.probes` -- plasticity probe and memory probe.
* :mod:`fade_rl.metrics.shifts` -- return statistics around environment shifts.
* :mod:`fade_rl.metrics.registry` -- every metric as one entry (function, scope, tags,
  TensorBoard panel, report, final summary): add a metric there.
* :class:`PlasticityCallback` -- logs all of it from an SB3 DQN/SAC/TD3 (or FADE) run; its
  parts: :mod:`~fade_rl.metrics.settings` (its settings, checked once),
  :mod:`~fade_rl.metrics.batches`, :mod:`~fade_rl.metrics.measure`,
  :mod:`~fade_rl.metrics.probing`, :mod:`~fade_rl.metrics.episodes`,
  :mod:`~fade_rl.metrics.writer`.
* :mod:`fade_rl.metrics.tensorboard` -- run names, custom-scalars layout, hparams;
  :mod:`fade_rl.metrics.summaries` -- the report's tags and the final summary.
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
