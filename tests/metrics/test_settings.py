"""One check of the measurement settings: the callback and the experiments' config refuse the
same values with the same one-line message."""

from __future__ import annotations

from typing import Any

import pytest

from fade_rl import PlasticityCallback
from fade_rl.experiments.runs.config import ConfigError, validate_config
from fade_rl.metrics.settings import MeasurementSettings, check_setting

#: config key under ``logging`` -> the callback's argument.
KEYS = {
    "plasticity_interval": "interval",
    "plasticity_batch": "batch_size",
    "probe_interval": "probe_interval",
    "histogram_interval": "histogram_interval",
}
VALUES: list[Any] = [-3, 0, 1, 2, 7, 8, 256, None, True, 2.0, "16", 1.5]


def _config(key: str, value: Any) -> None:
    validate_config({"env": {"id": "CartPole-v1"}, "logging": {key: value}})


@pytest.mark.parametrize("key", KEYS)
def test_callback_and_config_refuse_the_same_values_alike(key: str) -> None:
    argument = KEYS[key]
    for value in VALUES:
        if key == "plasticity_interval" and value == 0 and type(value) is int:
            _config(key, value)  # the config's own "no measurements"
            continue
        try:
            PlasticityCallback(**{argument: value})
        except ValueError as exc:
            with pytest.raises(ConfigError) as refused:
                _config(key, value)
            assert str(refused.value) == f"config: logging.{key}: {exc}"
            assert "\n" not in str(exc)
        else:
            _config(key, value)


def test_the_batch_bound_is_the_callbacks() -> None:
    _config("plasticity_batch", 2)
    PlasticityCallback(batch_size=2)
    with pytest.raises(
        ValueError, match=r"batch_size must be an integer in \[2, 1000000\] .*got 1$"
    ):
        PlasticityCallback(batch_size=1)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("taus", (), "at least one dormancy threshold"),
        ("taus", "0.1", "sequence of dormancy thresholds"),
        ("srank_delta", 1.0, r"srank_delta must be in \[0, 1\)"),
        ("probe_lr", 0.0, "probe_lr must be a positive number"),
        ("memory_batch_size", 3, r"memory_batch_size must be an integer in \[4, 1000000\]"),
        ("recovery_share", 1.5, r"recovery_share must be in \[0, 1\]"),
        ("shift_reference", "best", "'previous' or 'same_values'"),
        ("seed", -1, "seed must be a non-negative integer"),
    ],
)
def test_each_setting_names_itself_and_the_fix(name: str, value: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_setting(name, value)
    with pytest.raises(ValueError, match=message):
        MeasurementSettings(**{name: value})


def test_settings_are_normalised_and_read_on_the_callback() -> None:
    assert MeasurementSettings(taus=[0, 1]).taus == (0.0, 1.0)
    callback = PlasticityCallback(interval=300, taus=(0.1,))
    assert callback.settings == MeasurementSettings(interval=300, taus=(0.1,))
    assert (callback.interval, callback.taus, callback.batch_size) == (300, (0.1,), 256)
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        _ = callback.nothing
    with pytest.raises(ValueError, match="unknown measurement setting 'intervals'"):
        check_setting("intervals", 3)
