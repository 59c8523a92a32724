"""The metric registry: every metric the callback logs is one :class:`Metric` in :data:`METRICS`.

An entry names its function, its scope (what the function receives and where its tags go),
the tags it writes, its TensorBoard panels, what the report plots and what the final
summary averages. Everything else derives from :data:`METRICS`: the measurement
(:mod:`fade_rl.metrics.measure`, :mod:`~fade_rl.metrics.probing`,
:mod:`~fade_rl.metrics.episodes`) through :func:`compute` and :func:`tagged`, the
custom-scalars layout (:func:`fade_rl.metrics.tensorboard.layout`), the report's plasticity
plots (:func:`fade_rl.metrics.summaries.report_tags`) and the final summary
(:func:`fade_rl.metrics.summaries.final_means`). Adding a metric is adding an entry (and its
function); ``docs/architecture.md`` shows how.

Example:
    >>> import torch
    >>> from fade_rl.metrics.inputs import LayerFeatures
    >>> layer = LayerFeatures(torch.eye(3), taus=(0.0,), srank_delta=0.01)
    >>> values = tagged("layer", layer, network="q_net", layer="hidden0")
    >>> float(values["plasticity/q_net/hidden0/srank"])
    3.0
    >>> by_name("srank").panels[0].title
    'srank'
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fade_rl.algos.decay import decay_rate_summary
from fade_rl.metrics import functional as F
from fade_rl.metrics.inputs import LayerFeatures, ParameterSet, ProbeInputs
from fade_rl.metrics.probes import memory_probe, plasticity_probe
from fade_rl.metrics.shifts import segment_scalars

__all__ = [
    "METRICS",
    "SCOPES",
    "TAU",
    "Metric",
    "Panel",
    "Scope",
    "by_name",
    "compute",
    "metrics_of",
    "tagged",
]

#: The placeholder of a per-threshold tag suffix, expanded over the dormancy thresholds.
TAU = "{tau}"


@dataclass(frozen=True)
class Scope:
    """Where a metric is measured: what its function receives, where its tags go.

    Attributes:
        prefix: the tags' prefix, a template of the names :func:`tagged` is given.
        pattern: a regex matching that prefix, for the TensorBoard panels.
        takes: what the function receives.
        report: the prefix the report plots (``{network}``: the first critic network;
            ``{layer}``: its last hidden layer); ``None``: the report plots none.
        final: the stem of its ``final/<stem><suffix>`` keys; ``None``: none.

    Example:
        >>> SCOPES["layer"].prefix.format(network="qf0", layer="hidden1")
        'plasticity/qf0/hidden1/'
    """

    prefix: str
    pattern: str
    takes: str
    report: str | None = None
    final: str | None = None


_NET = "plasticity/{network}/"
_NET_RX = "^plasticity/[^/]+/"


def _network_part(part: str, takes: str, *, report: bool = True, final: str | None = None) -> Scope:
    """The scope of ``plasticity/<network>/<part>/``; ``report``: the report plots it."""
    prefix = f"{_NET}{part}/"
    return Scope(prefix, f"{_NET_RX}{part}/", takes, report=prefix if report else None, final=final)


#: The scopes by name.
SCOPES: dict[str, Scope] = {
    "layer": Scope(
        _NET + "{layer}/",
        _NET_RX + r"(features|hidden\d+)/",
        "LayerFeatures: a hidden layer's activations on the batch",
        report=_NET + "{layer}/",
        final="",
    ),
    "parameters": Scope(
        _NET + "{group}/",
        _NET_RX + "[^/]+/",
        "ParameterSet: a layer's, the head's ('head') or the network's ('net') parameters",
        report=_NET + "net/",
    ),
    "head": _network_part("head", "HeadOutputs: the head's outputs", report=False),
    "critic": Scope("plasticity/", "^plasticity/", "the critic loss on the batch, a 0-d tensor"),
    "fade": Scope("fade/{network}/", "^fade/[^/]+/", "FADE's decay rates of a critic head"),
    "probe": _network_part(
        "probe",
        "ProbeInputs: a network as one module, replay inputs, the probe's settings",
        final="probe_",
    ),
    "memory": _network_part(
        "memory",
        "MemoryInputs: features and outputs now, and outputs at the shift, on recorded states",
    ),
    "episode": Scope("shift/", "^shift/", "the return of an episode of env 0, a float"),
    "segment": Scope("shift/", "^shift/", "env 0's current segment, an int"),
    "closed_segment": Scope("shift/", "^shift/", "a closed segment's SegmentStats"),
}


@dataclass(frozen=True)
class Panel:
    """A chart of the custom-scalars layout: its section, title and tag regexes.

    A regex that does not start with ``^`` is a tag suffix: the metric's scope pattern goes
    before it and ``$`` after it. One starting with ``^`` is taken as it is (e.g. SB3's own
    ``^train/loss$`` on the same chart).

    Example:
        >>> by_name("td_error").charts()
        [('plasticity', 'TD error', ['^plasticity/[^/]+/head/td_abs_mean$'])]
    """

    section: str
    title: str
    patterns: tuple[str, ...]


@dataclass(frozen=True)
class Metric:
    """One metric: its function, scope, tags, panels, report and final-summary share.

    Attributes:
        name: the entry's name.
        scope: a key of :data:`SCOPES`.
        function: takes the scope's input, returns ``{tag suffix: value}``.
        tags: the suffixes it may return (``{tau}``: one per dormancy threshold).
        panels: its charts in TensorBoard's custom scalars.
        report: the suffixes the report plots (the scope's ``report`` prefix before them).
        final: the suffixes whose latest values, averaged over the tags of the scope, go into
            the final summary as ``final/<scope stem><suffix>`` (``{tau}``: the largest).

    Example:
        >>> by_name("dormant_ratio").suffixes(taus=(0.0, 0.025))
        ['dormant_ratio_tau0', 'dormant_ratio_tau0.025']
    """

    name: str
    scope: str
    function: Callable[[Any], Mapping[str, Any]]
    tags: tuple[str, ...]
    panels: tuple[Panel, ...] = ()
    report: tuple[str, ...] = ()
    final: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.scope not in SCOPES:
            raise ValueError(
                f"metric {self.name!r}: unknown scope {self.scope!r}; one of {list(SCOPES)}"
            )
        scope = SCOPES[self.scope]
        for what, names, allowed in (
            ("report", self.report, scope.report is not None),
            ("final", self.final, scope.final is not None),
        ):
            if names and not allowed:
                raise ValueError(f"metric {self.name!r}: scope {self.scope!r} has no {what}")
            if not set(names) <= set(self.tags):
                raise ValueError(f"metric {self.name!r}: {what} names a suffix not in its tags")

    def charts(self) -> list[tuple[str, str, list[str]]]:
        """``(section, title, regexes)`` of each panel, suffixes completed by the scope."""
        pattern = SCOPES[self.scope].pattern
        return [
            (
                p.section,
                p.title,
                [rx if rx.startswith("^") else f"{pattern}{rx}$" for rx in p.patterns],
            )
            for p in self.panels
        ]

    def suffixes(self, taus: Sequence[float]) -> list[str]:
        """The tag suffixes it writes with dormancy thresholds ``taus``."""
        return [s for tag in self.tags for s in _expand(tag, taus)]


def _expand(suffix: str, taus: Sequence[float]) -> list[str]:
    return [suffix.replace(TAU, f"{tau:g}") for tau in taus] if TAU in suffix else [suffix]


# ------------------------------------------------------------------- the entries' functions
def _dormant_ratio(x: LayerFeatures) -> dict[str, Any]:
    return {f"dormant_ratio_tau{tau:g}": F.dormant_ratio(x.activations, tau) for tau in x.taus}


def _probe(x: ProbeInputs) -> dict[str, Any]:
    found = plasticity_probe(x.module, x.inputs, x.steps, x.lr, seed=x.seed)
    return {
        "fit_loss": found["loss"],
        "fresh_fit_loss": found["fresh_loss"],
        "fit_ratio": found["ratio"],
    }


def _srank(x: LayerFeatures) -> Any:
    return F.srank_of_singular_values(x.singular_values, x.srank_delta)


def _effective_rank(x: LayerFeatures) -> Any:
    return F.effective_rank_of_singular_values(x.singular_values)


def _distance_from_init(x: ParameterSet) -> Any:
    return F.distance_from_init(x.params, x.initial)


def _panel(title: str, *patterns: str, section: str = "plasticity") -> tuple[Panel]:
    return (Panel(section, title, patterns),)


def _one_tag(
    name: str,
    title: str,
    value: Callable[[Any], Any],
    *,
    scope: str = "layer",
    report: bool = True,
    final: bool = False,
) -> Metric:
    """A metric of one tag, its name, on one chart ``title``: ``{name: value(x)}``.

    ``report``: the report plots it; ``final``: the final summary averages it.
    """
    return Metric(
        name,
        scope,
        lambda x: {name: value(x)},
        (name,),
        _panel(title, name),
        report=(name,) if report else (),
        final=(name,) if final else (),
    )


_Q = ("q_mean", "q_std", "q_min", "q_max")
_TD = ("td_mean", "td_abs_mean", "td_std")
_LAMBDA = ("lambda_mean", "lambda_min", "lambda_q10", "lambda_q50", "lambda_q90", "lambda_max")
_SEGMENT = ("segment_closed", "return_area", "mean_return", "return_before", "return_after")

#: Every metric, in the order of the layout's charts, the report's plots and the summary.
METRICS: list[Metric] = [
    Metric(
        "episode_return",
        "episode",
        lambda ret: {"episode_return": ret},
        ("episode_return",),
        _panel(
            "episode return",
            r"^(shift/episode_return|episode/return)$",
            r"^rollout/ep_rew_mean$",
            section="return",
        ),
    ),
    Metric(
        "segment_statistics",
        "closed_segment",
        segment_scalars,
        (*_SEGMENT, "recovered", "recovery_steps"),
        (
            Panel("return", "return around shifts", ("return_(before|after)", "mean_return")),
            Panel("return", "steps to recover", ("recovery_steps",)),
        ),
    ),
    Metric(
        "segment",
        "segment",
        lambda segment: {"segment": float(segment)},
        ("segment",),
        _panel("segment", "segment", section="return"),
    ),
    Metric(
        "dormant_ratio",
        "layer",
        _dormant_ratio,
        ("dormant_ratio_tau{tau}",),
        _panel("dormant ratio", "dormant_ratio_tau.*"),
        report=("dormant_ratio_tau{tau}",),
        final=("dormant_ratio_tau{tau}",),
    ),
    _one_tag("active_units", "active units", lambda x: F.active_units(x.activations)),
    _one_tag("srank", "srank", _srank, final=True),
    _one_tag("effective_rank", "effective rank", _effective_rank, final=True),
    _one_tag("feature_norm", "feature norm", lambda x: F.feature_norm(x.activations)),
    _one_tag("weight_norm", "weight norm", lambda x: F.weight_norm(x.params), scope="parameters"),
    _one_tag("dist_from_init", "distance from init", _distance_from_init, scope="parameters"),
    _one_tag(
        "grad_norm",
        "gradient norm",
        lambda x: F.gradient_norm(x.grads),
        scope="parameters",
        report=False,
    ),
    Metric(
        "q_values",
        "head",
        lambda x: F.value_stats(x.q_values),
        _Q,
        _panel("Q values", "q_(mean|min|max)"),
    ),
    Metric(
        "td_error",
        "head",
        lambda x: F.td_error_stats(x.taken, x.targets),
        _TD,
        _panel("TD error", "td_abs_mean"),
    ),
    Metric(
        "critic_loss",
        "critic",
        lambda loss: {"critic_loss": loss.detach()},
        ("critic_loss",),
        _panel("critic loss", "critic_loss", r"^train/loss$", r"^train/critic_loss$"),
    ),
    Metric(
        "plasticity_probe",
        "probe",
        _probe,
        ("fit_loss", "fresh_fit_loss", "fit_ratio"),
        _panel("plasticity probe (loss / fresh loss)", "fit_ratio"),
        report=("fit_ratio",),
        final=("fit_ratio",),
    ),
    Metric(
        "memory_probe",
        "memory",
        lambda x: memory_probe(x.features, x.outputs, x.recorded),
        ("probe_r2", "output_r2"),
        _panel("memory probe (R^2 of pre-shift outputs)", "(probe|output)_r2"),
        report=("probe_r2",),
    ),
    Metric(
        "decay_rates",
        "fade",
        decay_rate_summary,
        _LAMBDA,
        (
            Panel("FADE", "lambda mean", ("lambda_mean",)),
            Panel("FADE", "lambda quantiles", (r"lambda_(min|q\d+|max)",)),
        ),
    ),
]


def by_name(name: str, metrics: Iterable[Metric] | None = None) -> Metric:
    """The entry called ``name``."""
    for metric in METRICS if metrics is None else metrics:
        if metric.name == name:
            return metric
    raise KeyError(f"no metric {name!r} in the registry; see fade_rl.metrics.registry.METRICS")


def metrics_of(scope: str) -> list[Metric]:
    """The entries of ``scope``, in registry order."""
    if scope not in SCOPES:
        raise ValueError(f"unknown metric scope {scope!r}; one of {list(SCOPES)}")
    return [m for m in METRICS if m.scope == scope]


def compute(scope: str, value: Any) -> dict[str, Any]:
    """Every metric of ``scope`` on ``value`` (the scope's input), by tag suffix."""
    out: dict[str, Any] = {}
    for metric in metrics_of(scope):
        out.update(metric.function(value))
    return out


def tagged(scope: str, value: Any, **names: str) -> dict[str, Any]:
    """:func:`compute` by full tag: the scope's prefix filled with ``names`` (e.g.
    ``network="q_net", layer="hidden0"``) before each suffix."""
    prefix = SCOPES[scope].prefix.format(**names)
    return {prefix + suffix: v for suffix, v in compute(scope, value).items()}
