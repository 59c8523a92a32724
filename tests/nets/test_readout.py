"""The batched host read: one value per tag, in order, as floats."""

from __future__ import annotations

import pytest
import torch

from fade_rl.nets import readout


def test_read_scalars_keeps_tags_and_order() -> None:
    values = {
        "b": torch.tensor(2, dtype=torch.int64),
        "a": torch.tensor([1.5]),
        "c": torch.tensor(0.25, dtype=torch.float64),
    }
    out = readout.read_scalars(values)
    assert out == {"b": 2.0, "a": 1.5, "c": 0.25}
    assert list(out) == ["b", "a", "c"]
    assert readout.read_scalars({}) == {}


def test_read_scalars_refuses_a_vector() -> None:
    with pytest.raises(ValueError, match="one-element tensor"):
        readout.read_scalars({"x": torch.ones(3)})


def test_read_histograms_flattens_to_cpu_float32() -> None:
    out = readout.read_histograms({"h": torch.ones(2, 3, dtype=torch.float64)})
    assert out["h"].shape == (6,) and out["h"].dtype == torch.float32
