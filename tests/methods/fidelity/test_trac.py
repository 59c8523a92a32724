"""TRAC against the paper's update (explicit base iterate, erfi tuner), computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch as th
from scipy.special import erfi

from fade_rl.methods import TRAC, TRACCallback
from tests.methods.fidelity.models import (
    ALGORITHMS,
    assert_every_trainable_parameter_is_optimized,
    tiny,
)

BETAS = (0.9, 0.99, 0.999, 0.9999, 0.99999, 0.999999)


def _problem() -> tuple[th.nn.Linear, th.Tensor, th.Tensor]:
    th.manual_seed(0)
    net = th.nn.Linear(3, 1).double()
    x, y = th.randn(16, 3, dtype=th.float64), th.randn(16, 1, dtype=th.float64)
    return net, x, y


def _grad(w: th.Tensor, b: th.Tensor, x: th.Tensor, y: th.Tensor) -> tuple[th.Tensor, th.Tensor]:
    w, b = w.clone().requires_grad_(True), b.clone().requires_grad_(True)
    loss = ((x @ w.T + b - y) ** 2).mean()
    return th.autograd.grad(loss, (w, b))


def test_first_step_by_hand() -> None:
    """Step 1: theta_base = theta_ref, so h = 0, sigma_j = beta_j * 1e-8, v_j = 0:
    s_j = s_prev / erfi(1/sqrt 2) * erfi(beta_j * 1e-8 / 1e-8) and theta_1 = ref - S lr g."""
    net, x, y = _problem()
    ref = [p.detach().clone() for p in net.parameters()]
    opt = th.optim.SGD(net.parameters(), lr=0.1)
    trac = TRAC(opt)
    grads = _grad(*ref, x, y)
    opt.zero_grad()
    ((net(x) - y) ** 2).mean().backward()
    opt.step()
    S = sum(1e-8 / erfi(1 / math.sqrt(2)) * erfi(beta) for beta in BETAS)
    assert trac.scale == pytest.approx(S, rel=1e-12)
    for p, r, g in zip(net.parameters(), ref, grads, strict=True):
        assert th.allclose(p, r - S * 0.1 * g, rtol=0, atol=1e-15)


def test_ten_steps_match_the_papers_update() -> None:
    net, x, y = _problem()
    lr, eps, s_prev = 0.05, 1e-8, 1e-8
    ref = [p.detach().clone() for p in net.parameters()]
    base = [r.clone() for r in ref]
    theta = [r.clone() for r in ref]
    betas = np.array(BETAS)
    v, sigma = np.zeros(6), np.full(6, 1e-8)
    expected = []
    for _ in range(10):  # the paper's Algorithm 1 with an SGD base, written out
        g = _grad(*theta, x, y)
        h = float(sum((gi * (bi - ri)).sum() for gi, bi, ri in zip(g, base, ref, strict=True)))
        base = [bi - lr * gi for bi, gi in zip(base, g, strict=True)]
        v = betas**2 * v + h**2
        sigma = betas * sigma - h
        s = s_prev / erfi(1 / math.sqrt(2)) * erfi(sigma / (math.sqrt(2) * np.sqrt(v) + eps))
        theta = [ri + s.sum() * (bi - ri) for ri, bi in zip(ref, base, strict=True)]
        expected.append(([t.clone() for t in theta], s.sum()))
    opt = th.optim.SGD(net.parameters(), lr=lr)
    trac = TRAC(opt, betas=BETAS, s_prev=s_prev, eps=eps)
    for theta_t, scale in expected:
        opt.zero_grad()
        ((net(x) - y) ** 2).mean().backward()
        opt.step()
        assert trac.scale == pytest.approx(scale, rel=1e-9)
        for p, t in zip(net.parameters(), theta_t, strict=True):
            assert th.allclose(p, t, rtol=1e-9, atol=1e-12)
    assert trac.scale > 5 * expected[0][1]  # the scale grows: the tuner is doing something


def test_state_round_trip_and_remove() -> None:
    net, x, y = _problem()
    opt = th.optim.Adam(net.parameters(), lr=0.01)
    trac = TRAC(opt)
    for _ in range(3):
        opt.zero_grad()
        ((net(x) - y) ** 2).mean().backward()
        opt.step()
    state = trac.state_dict()
    trac.remove()
    other = TRAC(opt)
    other.load_state_dict(state)
    assert other.scale == trac.scale and other.n_steps == 3
    assert all(th.equal(a, b) for a, b in zip(other.base, trac.base, strict=True))
    with pytest.raises(ValueError, match="does not match"):
        TRAC(th.optim.SGD([th.zeros(2, requires_grad=True)], lr=0.1)).load_state_dict(state)


@pytest.mark.parametrize("cls", ALGORITHMS)
def test_trac_callback_on_every_algorithm_keeps_optimizer_state_saveable(cls, tmp_path) -> None:
    model = tiny(cls, net_arch=[8])
    callback = TRACCallback()
    model.learn(40, callback=callback)
    assert callback.state_dict()["n_steps"] > 0
    assert_every_trainable_parameter_is_optimized(model)
    model.save(tmp_path / "model.zip")  # the base optimizer's state_dict is untouched
    loaded = type(model).load(tmp_path / "model.zip", device="cpu")
    assert loaded.num_timesteps == model.num_timesteps


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"betas": []}, "betas must be a non-empty list"),
        ({"betas": [1.0]}, "betas must be a non-empty list"),
        ({"s_prev": 0.0}, "s_prev must be a finite number > 0"),
        ({"eps": -1.0}, "eps must be a finite number > 0"),
    ],
)
def test_trac_validation(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        TRACCallback(**kwargs)


def test_erfi_matches_scipy_over_the_range_trac_uses() -> None:
    """float64 erfi on the device: 1e-10 relative to scipy wherever erfi is finite."""
    from fade_rl.methods.trac import erfi as torch_erfi

    x = np.concatenate(
        [np.linspace(-26.5, 26.5, 4001), np.logspace(-12, 0, 40), -np.logspace(-12, 0, 40)]
    )
    got = torch_erfi(th.tensor(x, dtype=th.float64)).numpy()
    np.testing.assert_allclose(got, erfi(x), rtol=1e-10, atol=0)
    edge = torch_erfi(th.tensor([0.0, 27.0, -27.0], dtype=th.float64))
    assert edge.tolist() == [0.0, math.inf, -math.inf]


def test_an_overflowing_scale_is_not_applied_and_raised_at_the_next_read() -> None:
    net, x, y = _problem()
    opt = th.optim.SGD(net.parameters(), lr=0.1)
    trac = TRAC(opt, BETAS)
    for _ in range(2):
        opt.zero_grad()
        (net(x) - y).square().mean().backward()
        opt.step()
    before = trac.s.clone()
    trac.sigma.fill_(1e6)  # erfi(1e6 / ...) overflows at the next step
    opt.zero_grad()
    (net(x) - y).square().mean().backward()
    opt.step()  # no host read here: the overflow is only flagged
    assert th.equal(trac.s, before)
    with pytest.raises(FloatingPointError, match="lower the base learning rate"):
        _ = trac.scale
