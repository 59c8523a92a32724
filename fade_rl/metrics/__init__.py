"""Plasticity measurement: pure metric functions, probes, shift statistics, the SB3 callback."""

from fade_rl.metrics import functional

__all__ = ["functional"]
