"""Run names, the custom-scalars layout and hparams, read back from the event files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from stable_baselines3 import DQN
from tbparse import SummaryReader
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.custom_scalar import layout_pb2

from fade_rl import FadeDQN, PlasticityCallback
from fade_rl.metrics.tensorboard import (
    configure_run,
    env_slug,
    layout,
    run_dir,
    run_name,
    write_hparams,
    write_layout,
)
from tests.metrics.helpers import reward_flip_env

ENV = "fade_rl/CartPole-RewardFlip-v0"


def test_run_names() -> None:
    assert env_slug(ENV) == "fade_rl-CartPole-RewardFlip-v0"
    assert env_slug("ALE/Pong v5") == "ALE-Pong-v5"
    assert run_name(ENV, "fade", 3) == "fade_rl-CartPole-RewardFlip-v0/fade/seed_3"
    assert run_dir("runs", "CartPole-v1", "wd", 0) == Path("runs/CartPole-v1/wd/seed_0")
    assert run_name(ENV, "l2init", 0).endswith("/l2init/seed_0")  # any method name of the registry
    with pytest.raises(ValueError, match="method must be a non-empty name"):
        run_name(ENV, "a/b", 0)
    with pytest.raises(ValueError, match="seed"):
        run_name(ENV, "fade", -1)
    with pytest.raises(ValueError, match="non-empty"):
        env_slug("")


def test_layout_regexes_match_the_tags_the_callback_writes() -> None:
    charts = {title: tags for panel in layout().values() for title, (_, tags) in panel.items()}
    written = {
        "dormant ratio": "plasticity/q_net/hidden1/dormant_ratio_tau0.025",
        "srank": "plasticity/qf0/hidden0/srank",
        "weight norm": "plasticity/qf1/head/weight_norm",
        "plasticity probe (loss / fresh loss)": "plasticity/q_net/probe/fit_ratio",
        "memory probe (R^2 of pre-shift outputs)": "plasticity/q_net/memory/probe_r2",
        "lambda quantiles": "fade/qf0/lambda_q90",
        "episode return": "rollout/ep_rew_mean",
        "steps to recover": "shift/recovery_steps",
    }
    for title, tag in written.items():
        assert any(re.search(rx, tag) for rx in charts[title]), (title, tag)
    # a per-layer chart does not pick up the head or whole-network tags
    assert not any(re.search(rx, "plasticity/q_net/head/srank") for rx in charts["srank"])


def _run(root: Path, method: str, seed: int) -> tuple[Path, PlasticityCallback]:
    kwargs = dict(learning_starts=100, batch_size=32, policy_kwargs=dict(net_arch=[16]), seed=seed)
    if method == "fade":
        model = FadeDQN("MlpPolicy", reward_flip_env(), fade_kwargs=dict(meta_lr=1.0), **kwargs)
    else:
        model = DQN("MlpPolicy", reward_flip_env(), **kwargs)
    path = configure_run(model, root, ENV, method, seed, formats=("tensorboard", "csv"))
    callback = PlasticityCallback(interval=200, batch_size=32, probe_interval=None)
    model.learn(500, callback=callback, log_interval=1)
    metrics = callback.final_metrics()
    write_hparams(model, method, ENV, seed, {"learning_rate": 1e-4, "net_arch": [16]}, metrics)
    return path, callback


def test_runs_overlay_with_layout_and_hparams(tmp_path: Path) -> None:
    runs = {(m, s): _run(tmp_path, m, s) for m, s in (("none", 0), ("fade", 1))}
    reader = SummaryReader(str(tmp_path), extra_columns={"dir_name"})
    df = reader.scalars
    assert set(df.dir_name) == {
        "fade_rl-CartPole-RewardFlip-v0/none/seed_0",
        "fade_rl-CartPole-RewardFlip-v0/fade/seed_1",
    }
    # both runs write the same tags (FADE adds its own), so TensorBoard overlays them
    tags = {d: set(g.tag) for d, g in df.groupby("dir_name")}
    none_tags = tags["fade_rl-CartPole-RewardFlip-v0/none/seed_0"]
    fade_tags = tags["fade_rl-CartPole-RewardFlip-v0/fade/seed_1"]
    assert {t for t in fade_tags if not t.startswith("fade/")} == none_tags
    assert "fade/q_net/lambda_mean" in fade_tags and "rollout/ep_rew_mean" in none_tags

    hp = reader.hparams
    fade_hp = hp[hp.dir_name == "fade_rl-CartPole-RewardFlip-v0/fade/seed_1"].set_index("tag").value
    assert fade_hp["method"] == "fade" and fade_hp["env"] == ENV
    assert fade_hp["seed"] == 1 and fade_hp["learning_rate"] == pytest.approx(1e-4)
    assert fade_hp["net_arch"] == "[16]"
    # the final metrics are scalars at the last step, with the callback's values
    path, callback = runs[("fade", 1)]
    final = df[(df.dir_name.str.endswith("fade/seed_1")) & (df.tag == "final/return")]
    assert list(final.step) == [500]
    assert final.value.iloc[0] == pytest.approx(callback.final_metrics()["final/return"])

    events = EventAccumulator(str(path))
    events.Reload()
    assert "custom_scalars__config__" in events.PluginTagToContent("custom_scalars")
    proto = events.Tensors("custom_scalars__config__")[0].tensor_proto
    config = layout_pb2.Layout.FromString(proto.string_val[0])
    titles = {c.title: [ch.title for ch in c.chart] for c in config.category}
    assert set(titles) == {"return", "plasticity", "FADE"}
    assert "dormant ratio" in titles["plasticity"] and "lambda mean" in titles["FADE"]
    assert (path / "progress.csv").exists()


def test_errors_name_the_fix(tmp_path: Path) -> None:
    model = DQN("MlpPolicy", "CartPole-v1")
    with pytest.raises(ValueError, match="lack 'tensorboard'"):
        configure_run(model, tmp_path, "CartPole-v1", "none", 0, formats=("csv",))
    model.set_logger(__import__("stable_baselines3").common.logger.configure(None, ["csv"]))
    with pytest.raises(ValueError, match="no TensorBoard output"):
        write_layout(model)
    configure_run(model, tmp_path, "CartPole-v1", "none", 0)
    with pytest.raises(ValueError, match="metrics is empty"):
        write_hparams(model, "none", "CartPole-v1", 0, {}, {})
    with pytest.raises(ValueError, match="redefine 'seed'"):
        write_hparams(model, "none", "CartPole-v1", 0, {"seed": 1}, {"final/return": 1.0})
