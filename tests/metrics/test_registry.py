"""The metric registry: each entry's function writes the tags it declares, and the measurement,
the TensorBoard layout, the report's plots and the final summary all follow the entries."""

from __future__ import annotations

import re
from typing import Any

import pytest
import torch as th
from torch import nn

from fade_rl.experiments.reports.plots import plasticity_tags
from fade_rl.metrics import registry
from fade_rl.metrics.inputs import (
    HeadOutputs,
    LayerFeatures,
    MemoryInputs,
    ParameterSet,
    ProbeInputs,
)
from fade_rl.metrics.measure import final_layer_means, layer_metrics
from fade_rl.metrics.registry import METRICS, SCOPES, Metric, Panel
from fade_rl.metrics.shifts import SegmentStats
from fade_rl.metrics.summaries import final_means, report_tags
from fade_rl.metrics.tensorboard import layout

TAUS = (0.0, 0.025)


def _example(scope: str) -> Any:
    """A small input of each scope (every optional statistic present)."""
    g = th.Generator().manual_seed(0)
    acts = th.relu(th.randn(16, 6, generator=g))
    layer = nn.Linear(3, 2)
    params = list(layer.parameters())
    return {
        "layer": LayerFeatures(acts, TAUS, 0.01),
        "parameters": ParameterSet(params, [p.detach().clone() for p in params], [None, None]),
        "head": HeadOutputs(th.randn(8, 2, generator=g), th.randn(8, 1), th.randn(8, 1)),
        "critic": th.tensor(0.5),
        "fade": th.rand(20, generator=g),
        "probe": ProbeInputs(nn.Sequential(nn.Linear(3, 4)), (th.randn(32, 3),), 2, 1e-3, 0),
        "memory": MemoryInputs(acts, th.randn(16, 2), th.randn(16, 2)),
        "episode": 12.5,
        "segment": 3,
        "closed_segment": SegmentStats(2, 100, 200, 9, 10.0, 2.0, 10.0, 40, 800.0, 8.0),
    }[scope]


@pytest.mark.parametrize("metric", METRICS, ids=lambda m: m.name)
def test_each_entry_writes_exactly_its_tags(metric: Metric) -> None:
    values = metric.function(_example(metric.scope))
    assert sorted(values) == sorted(metric.suffixes(TAUS))


def test_every_scope_has_an_entry_and_names_are_unique() -> None:
    assert {m.scope for m in METRICS} == set(SCOPES)
    assert len({m.name for m in METRICS}) == len(METRICS)


def test_tagged_puts_the_scope_prefix_before_each_suffix() -> None:
    found = registry.tagged("layer", _example("layer"), network="qf1", layer="hidden2")
    assert "plasticity/qf1/hidden2/dormant_ratio_tau0.025" in found
    assert all(tag.startswith("plasticity/qf1/hidden2/") for tag in found)
    head = registry.tagged("head", _example("head"), network="q_net")
    assert set(head) == {
        f"plasticity/q_net/head/{s}" for m in registry.metrics_of("head") for s in m.tags
    }


def test_each_chart_matches_its_entrys_tags_in_their_scope_only() -> None:
    examples = {
        "layer": "plasticity/q_net/hidden1/",
        "parameters": "plasticity/qf0/head/",
        "head": "plasticity/qf0/head/",
        "critic": "plasticity/",
        "fade": "fade/qf1/",
        "probe": "plasticity/q_net/probe/",
        "memory": "plasticity/q_net/memory/",
        "episode": "shift/",
        "segment": "shift/",
        "closed_segment": "shift/",
    }
    for metric in METRICS:
        tags = [examples[metric.scope] + s for s in metric.suffixes(TAUS)]
        for _, title, regexes in metric.charts():
            assert any(re.search(rx, t) for rx in regexes for t in tags), (metric.name, title)
    srank = registry.by_name("srank").charts()[0][2]
    assert not any(re.search(rx, "plasticity/q_net/head/srank") for rx in srank)


FAKE = Metric(
    "unit_max",
    "layer",
    lambda x: {"unit_max": x.activations.max()},
    ("unit_max",),
    (Panel("plasticity", "largest unit", ("unit_max",)),),
    report=("unit_max",),
    final=("unit_max",),
)


def test_a_new_entry_reaches_measure_layout_report_and_final_summary(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(registry, "METRICS", [*METRICS, FAKE])
    acts = th.tensor([[0.0, 3.0], [1.0, 2.0]])
    assert float(layer_metrics(acts, TAUS, 0.01)["unit_max"]) == 3.0
    assert layout()["plasticity"]["largest unit"] == [
        "Multiline",
        [r"^plasticity/[^/]+/(features|hidden\d+)/unit_max$"],
    ]
    tags = {
        "plasticity/q_net/hidden0/unit_max",
        "plasticity/q_net/hidden1/unit_max",
        "plasticity/q_net/hidden1/srank",
    }
    assert plasticity_tags(tags)[-1] == "plasticity/q_net/hidden1/unit_max"
    latest = {"plasticity/q_net/hidden0/unit_max": 1.0, "plasticity/qf1/hidden1/unit_max": 3.0}
    assert final_layer_means(latest, tau=0.0) == {"final/unit_max": 2.0}


def test_without_an_entry_nothing_of_it_remains(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "METRICS", [m for m in METRICS if m.name != "srank"])
    assert "srank" not in layer_metrics(th.eye(3), TAUS, 0.01)
    assert "srank" not in layout()["plasticity"]
    assert report_tags({"plasticity/q_net/hidden0/srank"}) == []
    assert final_means({"plasticity/q_net/hidden0/srank": 2.0}, TAUS) == {}


def test_report_orders_thresholds_and_final_takes_the_largest() -> None:
    tags = {f"plasticity/qf0/hidden1/dormant_ratio_tau{t}" for t in ("0.1", "0", "0.025")}
    assert [t.rsplit("tau", 1)[1] for t in report_tags(tags)] == ["0", "0.025", "0.1"]
    latest = {"plasticity/qf0/hidden1/dormant_ratio_tau0.1": 0.5}
    assert final_means(latest, (0.0, 0.1)) == {"final/dormant_ratio_tau0.1": 0.5}


def test_an_entry_that_contradicts_its_scope_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown scope 'neuron'"):
        Metric("x", "neuron", lambda x: {}, ("x",))
    with pytest.raises(ValueError, match="scope 'head' has no report"):
        Metric("x", "head", lambda x: {}, ("x",), report=("x",))
    with pytest.raises(ValueError, match="final names a suffix not in its tags"):
        Metric("x", "layer", lambda x: {}, ("x",), final=("y",))
    with pytest.raises(KeyError, match="no metric 'nope'"):
        registry.by_name("nope")
