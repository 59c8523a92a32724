"""FADE refuses what it cannot use: non-finite settings, complex, misplaced or NaN curvature."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from fade_rl.optim import FADE, NonFiniteCurvatureError
from fade_rl.optim.kernels import multi_tensor_fade


@pytest.mark.parametrize("name", ["lr", "meta_lr", "eps", "init_decay", "idbd_meta_lr"])
@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_non_finite_hyperparameters_are_refused_by_name(name, value):
    with pytest.raises(ValueError, match=rf"^{name} must be"):
        FADE([torch.zeros(2, requires_grad=True)], **{name: value})


@pytest.mark.parametrize(
    "kwargs",
    [
        {"betas": (0.9, math.nan)},
        {"log_decay_bounds": (-math.inf, 0.0)},
        {"log_decay_bounds": (-15.0, math.nan)},
    ],
)
def test_non_finite_betas_and_bounds_are_refused(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        FADE([torch.zeros(2, requires_grad=True)], **kwargs)


def _head(foreach=None, bias=True):
    torch.manual_seed(0)
    head = nn.Linear(3, 2, bias=bias)
    opt = FADE([{"params": head.parameters(), "fade": True}], lr=0.1, foreach=foreach)
    return head, opt


def _step(head, opt, weight_curvature):
    for p in head.parameters():
        p.grad = torch.ones_like(p)
    opt.set_curvature(head.weight, weight_curvature)
    if head.bias is not None:
        opt.set_curvature(head.bias, torch.ones(2))
    opt.step()


def test_complex_curvature_is_refused_at_set_curvature():
    head, opt = _head()
    with pytest.raises(ValueError, match=r"real floating-point tensor, got torch\.complex64"):
        opt.set_curvature(head.weight, torch.ones(2, 3, dtype=torch.complex64))
    with pytest.raises(ValueError, match=r"real floating-point tensor, got torch\.bool"):
        opt.set_curvature(head.weight, torch.ones(2, 3, dtype=torch.bool))


def test_curvature_on_another_device_is_refused_at_set_curvature():
    head, opt = _head()
    with pytest.raises(ValueError, match="curvature is on meta but the parameter is on cpu"):
        opt.set_curvature(head.weight, torch.ones(2, 3, device="meta"))


# foreach=None on the CPU is the fused loop (numpy views of CPU tensors: no device to
# sync); True packs weight and bias into one flat torch step (the GPU's path) and must read
# nothing on the host; False is the reference loop; a bias-free head is one tensor
@pytest.mark.parametrize(
    ("foreach", "bias"), [(None, True), (None, False), (True, True), (True, False), (False, True)]
)
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_curvature_is_raised_at_the_next_host_read(monkeypatch, foreach, bias, bad):
    head, opt = _head(foreach, bias)
    _step(head, opt, torch.ones(2, 3))
    opt.check_finite()  # finite so far
    curvature = torch.ones(2, 3)
    curvature[1, 2] = bad
    with monkeypatch.context() as m:  # the torch steps read nothing on the host
        if foreach is not None:
            for name in ("item", "tolist", "__bool__", "__float__", "__int__", "cpu", "numpy"):
                m.setattr(torch.Tensor, name, lambda *a, **k: pytest.fail("host read in step"))
        _step(head, opt, curvature)
    _step(head, opt, torch.ones(2, 3))  # later finite steps do not clear it
    for read in (opt.check_finite, opt.state_dict, lambda: opt.decay_rates(head.weight)):
        with pytest.raises(NonFiniteCurvatureError, match="NaN or infinite curvature reached"):
            read()


def test_loading_a_state_clears_the_non_finite_note():
    head, opt = _head()
    _step(head, opt, torch.ones(2, 3))
    saved = opt.state_dict()
    _step(head, opt, torch.full((2, 3), math.nan))
    opt.load_state_dict(saved)
    opt.check_finite()


def test_packed_step_equals_the_per_tensor_step_bit_for_bit():
    """The flat step of a head's small tensors runs the same kernel as the foreach step."""
    heads = [nn.Linear(5, 3), nn.Linear(5, 3)]
    heads[1].load_state_dict(heads[0].state_dict())
    opts = [
        FADE([{"params": h.parameters(), "fade": True}], lr=0.05, meta_lr=5.0, foreach=True)
        for h in heads
    ]
    gen = torch.Generator().manual_seed(0)
    for _ in range(10):
        grads = [torch.randn(3, 5, generator=gen), torch.randn(3, generator=gen)]
        curvatures = [torch.rand(3, 5, generator=gen), torch.rand(3, generator=gen)]
        for head, opt in zip(heads, opts, strict=True):
            for p, g, h in zip(head.parameters(), grads, curvatures, strict=True):
                p.grad = g.clone()
                opt.set_curvature(p, h)
        opts[0].step()  # packed
        params = list(heads[1].parameters())  # the foreach kernel, tensor by tensor
        group = opts[1].param_groups[0]
        states = [opts[1]._init_state(p, group) for p in params]
        for s in states:
            s["step"] += 1
        with torch.no_grad():
            multi_tensor_fade(params, grads, curvatures, states, states[0]["step"], group)
        opts[1]._curvature.clear()
    assert opts[0]._packs, "the head was not packed"
    for p, q in zip(heads[0].parameters(), heads[1].parameters(), strict=True):
        assert torch.equal(p, q)
    for p, q in zip(heads[0].parameters(), heads[1].parameters(), strict=True):
        for key, value in opts[0].state[p].items():
            assert torch.equal(torch.as_tensor(value), torch.as_tensor(opts[1].state[q][key]))


@pytest.mark.parametrize("foreach", [True, None])  # packed, fused
def test_a_state_entry_replaced_from_outside_is_used(foreach):
    head, opt = _head(foreach)
    _step(head, opt, torch.ones(2, 3))
    opt.param_groups[0]["meta_lr"] = 0.0  # the decay rates stay where they are put
    opt.state[head.weight]["log_decay"] = torch.full((2, 3), -3.0)
    _step(head, opt, torch.zeros(2, 3))
    assert torch.equal(opt.state[head.weight]["log_decay"], torch.full((2, 3), -3.0))
    assert torch.allclose(opt.decay_rates(head.bias), torch.full((2,), 1e-4))


def test_a_state_dict_with_bad_hyperparameters_is_refused_and_nothing_is_loaded():
    head, opt = _head()
    _step(head, opt, torch.ones(2, 3))
    saved = opt.state_dict()
    saved["param_groups"][0].update(lr=math.inf, meta_lr=math.nan)
    before = [p.clone() for p in head.parameters()]
    with pytest.raises(
        ValueError,
        match=r"^FADE\.load_state_dict: param_groups\[0\]: lr must be finite, got inf; ",
    ):
        opt.load_state_dict(saved)
    assert opt.param_groups[0]["lr"] == 0.1  # nothing was loaded
    _step(head, opt, torch.ones(2, 3))
    assert all(torch.isfinite(p).all() for p in head.parameters())
    assert not any(torch.equal(p, q) for p, q in zip(head.parameters(), before, strict=True))


@pytest.mark.parametrize("foreach", [None, False])
@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("lr", math.inf),
        ("meta_lr", math.nan),
        ("eps", -1.0),
        ("idbd_meta_lr", math.inf),
        ("lr", "0.1"),
        ("betas", (0.9, 1.0)),
        ("init_decay", 2.0),
    ],
)
def test_a_hyperparameter_set_between_steps_is_refused_before_the_step(foreach, name, value):
    head, opt = _head(foreach)
    _step(head, opt, torch.ones(2, 3))
    before = [p.clone() for p in head.parameters()]
    opt.param_groups[0][name] = value
    with pytest.raises(ValueError, match=rf"^FADE\.step: param_groups\[0\]: {name} must be"):
        _step(head, opt, torch.ones(2, 3))
    assert all(torch.equal(p, q) for p, q in zip(head.parameters(), before, strict=True))


def test_the_step_check_reads_no_tensor_on_the_host(monkeypatch):
    head, opt = _head()
    opt.param_groups[0]["lr"] = torch.tensor(0.1)  # FADE refuses a tensor lr, by its type
    with monkeypatch.context() as m:
        for name in ("item", "tolist", "__bool__", "__float__", "__repr__", "__format__"):
            m.setattr(torch.Tensor, name, lambda *a, **k: pytest.fail("host read in the check"))
        with pytest.raises(ValueError, match=r"param_groups\[0\]: lr must be a float, got a Tens"):
            _step(head, opt, torch.ones(2, 3))


def test_an_idbd_group_frozen_at_lr_0_still_steps_and_loads():
    """lr > 0 is needed only to start IDBD's step sizes: a schedule may freeze it at 0."""
    head = nn.Linear(3, 2)
    opt = FADE([{"params": head.parameters(), "fade": True}], lr=0.1, base="sgd", idbd=True)
    _step(head, opt, torch.ones(2, 3))
    opt.param_groups[0]["lr"] = 0.0
    before = [p.clone() for p in head.parameters()]
    _step(head, opt, torch.ones(2, 3))
    assert all(torch.equal(p, q) for p, q in zip(head.parameters(), before, strict=True))
    opt.load_state_dict(opt.state_dict())
    with pytest.raises(ValueError, match=r"^idbd=True starts the step sizes at lr"):
        FADE([torch.zeros(2, requires_grad=True)], lr=0.0, base="sgd", idbd=True)
