"""MinAtarCNN: its output against a loop-by-loop reference, its size, bad spaces, and DQN /
FadeDQN training with it (FADE takes the linear head after it)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from stable_baselines3 import DQN
from stable_baselines3.common.preprocessing import preprocess_obs

import fade_rl.envs  # noqa: F401  (registers the MinAtar ids)
from fade_rl.algos import FadeDQN, MinAtarCNN, minatar_policy_kwargs

th.set_num_threads(1)


def _reference(cnn: MinAtarCNN, x: np.ndarray) -> np.ndarray:
    """The MinAtar network written out with loops: valid 3x3 cross-correlation, ReLU,
    row-major flatten (filter, row, column), linear, ReLU."""
    conv, linear = cnn.cnn[0], cnn.linear[0]
    k = conv.weight.detach().double().numpy()  # (filters, C, 3, 3)
    kb = conv.bias.detach().double().numpy()
    w = linear.weight.detach().double().numpy()
    b = linear.bias.detach().double().numpy()
    n, _, h, wd = x.shape
    out = np.zeros((n, w.shape[0]))
    for s in range(n):
        flat = []
        for f in range(k.shape[0]):
            for i in range(h - 2):
                for j in range(wd - 2):
                    v = kb[f] + np.sum(k[f] * x[s, :, i : i + 3, j : j + 3])
                    flat.append(max(v, 0.0))
        out[s] = np.maximum(w @ np.array(flat) + b, 0.0)
    return out


def test_forward_matches_the_written_out_network() -> None:
    th.manual_seed(0)
    space = gym.spaces.Box(0, 1, (4, 10, 10), np.uint8)
    cnn = MinAtarCNN(space)
    x = (np.random.default_rng(0).random((3, 4, 10, 10)) < 0.3).astype(np.float64)
    got = cnn(th.as_tensor(x, dtype=th.float32)).detach().double().numpy()
    assert got.shape == (3, 128) and cnn.features_dim == 128
    np.testing.assert_allclose(got, _reference(cnn, x), rtol=1e-5, atol=1e-5)
    assert (got > 0).any() and (got == 0).any()  # both sides of the final ReLU are exercised


def test_hand_computed_one_filter_case() -> None:
    """1 channel, 3x4 image, 1 filter of ones (bias -1), 2 features: by hand."""
    cnn = MinAtarCNN(gym.spaces.Box(0, 1, (1, 3, 4), np.uint8), features_dim=2, n_filters=1)
    with th.no_grad():
        cnn.cnn[0].weight.fill_(1.0)
        cnn.cnn[0].bias.fill_(-1.0)
        cnn.linear[0].weight.copy_(th.tensor([[1.0, -1.0], [-1.0, 0.5]]))
        cnn.linear[0].bias.copy_(th.tensor([0.5, 0.0]))
    x = th.tensor([[[[1.0, 0.0, 0.0, 1.0], [1.0, 1.0, 0.0, 0.0], [0.0, 1.0, 1.0, 1.0]]]])
    # Windows: columns 0-2 sum 5, columns 1-3 sum 5 -> minus 1 -> (4, 4) after ReLU.
    # Features: relu(4 - 4 + 0.5) = 0.5, relu(-4 + 2 + 0) = 0.
    np.testing.assert_allclose(cnn(x).detach().numpy(), [[0.5, 0.0]])


@pytest.mark.parametrize("channels", [4, 10])
def test_parameter_count_is_the_minatar_networks(channels: int) -> None:
    cnn = MinAtarCNN(gym.spaces.Box(0, 1, (channels, 10, 10), np.uint8))
    n = sum(p.numel() for p in cnn.parameters())
    assert n == (channels * 9 * 16 + 16) + (16 * 8 * 8 * 128 + 128)


@pytest.mark.parametrize(
    ("space", "kwargs", "match"),
    [
        (gym.spaces.Box(0, 1, (100,), np.uint8), {}, r"needs a channels-first \(C, H, W\) Box"),
        (gym.spaces.Discrete(3), {}, r"needs a channels-first \(C, H, W\) Box"),
        (gym.spaces.Box(0, 1, (10, 10, 2), np.uint8), {}, r"at least 3x3, got \(10, 10, 2\)"),
        (gym.spaces.Box(0, 1, (4, 10, 10), np.uint8), {"features_dim": 0}, "features_dim must"),
        (gym.spaces.Box(0, 1, (4, 10, 10), np.uint8), {"n_filters": 2.5}, "n_filters must"),
    ],
)
def test_bad_spaces_and_sizes_are_refused(space, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        MinAtarCNN(space, **kwargs)


def test_policy_kwargs_are_fresh_dicts() -> None:
    a = minatar_policy_kwargs()
    a["net_arch"].append(64)
    assert minatar_policy_kwargs()["net_arch"] == []
    assert minatar_policy_kwargs(features_dim=32)["features_extractor_kwargs"] == {
        "features_dim": 32,
        "n_filters": 16,
    }


def _params(module: th.nn.Module) -> list[th.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


@pytest.mark.parametrize("policy", ["MlpPolicy", "CnnPolicy"])
@pytest.mark.parametrize("algo", [DQN, FadeDQN])
def test_dqn_and_fade_dqn_train_with_it(algo: type, policy: str) -> None:
    model = algo(
        policy,
        "fade_rl/MinAtar-Breakout-v0",
        policy_kwargs=minatar_policy_kwargs(),
        learning_starts=100,
        train_freq=1,
        batch_size=32,
        buffer_size=1_000,
        target_update_interval=100,
        seed=0,
        device="cpu",
    )
    q_net = model.q_net
    assert isinstance(q_net.features_extractor, MinAtarCNN)
    (head,) = q_net.q_net  # net_arch=[]: the Q head sits right on the 128 features
    assert isinstance(head, th.nn.Linear) and (head.in_features, head.out_features) == (128, 6)
    # What the conv sees: the uint8 {0, 1} cells as 0.0 / 1.0, never divided by 255.
    obs, _ = model.policy.obs_to_tensor(model.env.reset())
    seen = preprocess_obs(obs, model.observation_space, model.policy.normalize_images)
    assert seen.dtype == th.float32 and set(seen.unique().tolist()) == {0.0, 1.0}
    before_cnn, before_head = _params(q_net.features_extractor), _params(head)
    model.learn(300)
    # Every part trained (the observations reach the conv as floats in {0, 1}).
    for old, new in zip(
        before_cnn + before_head, _params(q_net.features_extractor) + _params(head), strict=True
    ):
        assert not th.equal(old, new)
    if algo is FadeDQN:
        assert model.fade_heads["q_net"] is head
        (fade_group,) = [g for g in model.policy.optimizer.param_groups if g["fade"]]
        assert [id(p) for p in fade_group["params"]] == [id(head.weight), id(head.bias)]
        base_ids = {
            id(p) for g in model.policy.optimizer.param_groups if not g["fade"] for p in g["params"]
        }
        assert base_ids == {id(p) for p in q_net.features_extractor.parameters()}
        rates = model.fade_decay_rates()["q_net"]
        assert rates.shape == (6 * 128 + 6,) and th.isfinite(rates).all() and (rates >= 0).all()
        init = model.policy.optimizer.param_groups[-1]["init_decay"]
        assert not th.allclose(rates, th.full_like(rates, init))  # FADE adapted them
