"""The parts of an SB3 model that agents, baselines and metrics share.

* :mod:`fade_rl.parts.modules` -- re-initializing networks.
* :mod:`fade_rl.parts.readout` -- the one batched read of measured values to the host.
"""

from fade_rl.parts.modules import fresh_copy, reinitialize_, rng_devices
from fade_rl.parts.readout import read_histograms, read_scalars

__all__ = ["fresh_copy", "read_histograms", "read_scalars", "reinitialize_", "rng_devices"]
