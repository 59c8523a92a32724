"""FADE as a drop-in for SB3: lr 0 freezes a head, any optimizer on the body, NaN curvature."""

from __future__ import annotations

import copy
import io
import math
import pickle

import pytest
import torch
from torch import nn

from fade_rl.optim import FADE, half_squared_error_output_hessian, linear_head_curvature


def _net(seed: int = 0) -> tuple[nn.Linear, nn.Linear]:
    torch.manual_seed(seed)
    return nn.Linear(4, 6), nn.Linear(6, 2)


def _backward(hidden: nn.Linear, head: nn.Linear, opt: FADE, seed: int = 1) -> None:
    gen = torch.Generator().manual_seed(seed)
    x, y = torch.randn(8, 4, generator=gen), torch.randn(8, 2, generator=gen)
    phi = torch.relu(hidden(x))
    loss = 0.5 * ((head(phi) - y) ** 2).sum(1).mean()
    opt.zero_grad()
    loss.backward()
    h_w, h_b = linear_head_curvature(phi, half_squared_error_output_hessian(y))
    opt.set_curvature(head.weight, h_w)
    opt.set_curvature(head.bias, h_b)


@pytest.mark.parametrize("base", ["adam", "sgd"])
def test_lr_zero_freezes_the_head_and_its_decay_rates(base: str) -> None:
    hidden, head = _net()
    opt = FADE(
        [{"params": hidden.parameters()}, {"params": head.parameters(), "fade": True}],
        lr=1e-2,
        base=base,
        meta_lr=10.0,
        init_decay=1e-2,
    )
    for seed in range(3):  # some state worth freezing: traces and decay rates moved
        _backward(hidden, head, opt, seed)
        opt.step()
    before = {k: v.clone() for k, v in opt.state[head.weight].items() if torch.is_tensor(v)}
    weight = head.weight.detach().clone()
    for group in opt.param_groups:
        group["lr"] = 0.0  # what SB3's schedule does at its end
    for seed in range(3, 6):
        _backward(hidden, head, opt, seed)
        opt.step()
    # Old code: w -> (1 - lambda) w every step (0.01 here) and lambda kept adapting.
    assert torch.equal(head.weight, weight)
    for key in ("log_decay", "decay_trace"):
        assert torch.equal(opt.state[head.weight][key], before[key]), key
    if base == "adam":  # Adam's moments advance at lr 0, as torch.optim.Adam's do
        assert not torch.equal(opt.state[head.weight]["exp_avg"], before["exp_avg"])


def test_lr_zero_needs_no_curvature() -> None:
    p = nn.Parameter(torch.ones(3))
    opt = FADE([{"params": [p], "fade": True}], lr=0.0)
    p.grad = torch.ones(3)
    opt.step()  # frozen: no curvature is used, so none is demanded
    assert torch.equal(p, torch.ones(3))


def _adamw_pair() -> tuple[nn.Linear, nn.Linear, torch.optim.AdamW, FADE]:
    hidden, head = _net()
    body = torch.optim.AdamW(hidden.parameters(), lr=1e-2, betas=(0.8, 0.9), weight_decay=0.1)
    opt = FADE([{"params": head.parameters(), "fade": True}], lr=1e-2, meta_lr=1.0, body=body)
    return hidden, head, body, opt


def test_the_body_steps_exactly_as_its_own_optimizer() -> None:
    hidden, head, _, opt = _adamw_pair()
    ref_hidden, ref_head = _net()
    ref_body = torch.optim.AdamW(
        ref_hidden.parameters(), lr=1e-2, betas=(0.8, 0.9), weight_decay=0.1
    )
    ref_fade = FADE([{"params": ref_head.parameters(), "fade": True}], lr=1e-2, meta_lr=1.0)
    for seed in range(4):
        lr = 1e-2 / (seed + 1)
        for group in opt.param_groups:  # one lr written into FADE's groups reaches the body
            group["lr"] = lr
        for o in (ref_body, ref_fade):
            for group in o.param_groups:
                group["lr"] = lr
        _backward(hidden, head, opt, seed)
        opt.step()
        ref_fade.zero_grad()
        ref_body.zero_grad()
        _backward(ref_hidden, ref_head, ref_fade, seed)
        ref_body.step()
        ref_fade.step()
    for a, b in zip(
        [*hidden.parameters(), *head.parameters()],
        [*ref_hidden.parameters(), *ref_head.parameters()],
        strict=True,
    ):
        assert torch.equal(a, b)
    assert opt.state[hidden.weight]["exp_avg"].shape == (6, 4)  # one state dict for all


def test_body_state_survives_state_dict_weights_only_pickle_and_deepcopy() -> None:
    hidden, head, _, opt = _adamw_pair()
    _backward(hidden, head, opt)
    opt.step()
    buffer = io.BytesIO()
    torch.save(opt.state_dict(), buffer)
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)  # what SB3's load does

    hidden2, head2, body2, opt2 = _adamw_pair()
    hidden2.load_state_dict(hidden.state_dict())
    head2.load_state_dict(head.state_dict())
    opt2.load_state_dict(saved)
    assert body2.state is opt2.state and body2.param_groups[0] is opt2.param_groups[0]
    assert body2.param_groups[0]["weight_decay"] == 0.1
    for o, (h, hd) in ((opt, (hidden, head)), (opt2, (hidden2, head2))):
        _backward(h, hd, o, seed=7)
        o.step()
    assert torch.equal(hidden.weight, hidden2.weight) and torch.equal(head.weight, head2.weight)

    for clone in (copy.deepcopy(opt), pickle.loads(pickle.dumps(opt))):
        assert clone.body is not None and clone.body.state is clone.state
        assert clone.body.param_groups[0] is clone.param_groups[0]


def test_bad_bodies_are_refused() -> None:
    hidden, head = _net()
    with pytest.raises(ValueError, match="in both FADE's groups and body's"):
        FADE(
            [{"params": head.parameters(), "fade": True}],
            body=torch.optim.SGD([*hidden.parameters(), head.weight], lr=0.1),
        )
    inner = FADE([{"params": hidden.parameters(), "fade": True}])
    with pytest.raises(ValueError, match="must not hold FADE"):
        FADE([{"params": head.parameters(), "fade": True}], body=inner)


def test_nan_curvature_is_refused_at_the_next_host_read_by_default() -> None:
    """Without check_finite (no host sync in the step) a NaN is raised when the state is read."""
    p = nn.Parameter(torch.ones(2))
    opt = FADE([{"params": [p], "fade": True}], lr=0.1, meta_lr=1.0)
    for _ in range(3):
        p.grad = torch.ones(2)
        opt.set_curvature(p, torch.tensor([float("nan"), 0.0]))
        opt.step()
    with pytest.raises(ValueError, match="NaN or infinite curvature reached a step"):
        opt.state_dict()


def test_check_finite_refuses_a_nan_curvature_and_leaves_the_head_as_it_was() -> None:
    hidden, head = _net()
    opt = FADE(
        [{"params": hidden.parameters()}, {"params": head.parameters(), "fade": True}],
        check_finite=True,
    )
    _backward(hidden, head, opt)
    opt.step()
    weight, log_decay = head.weight.detach().clone(), opt.state[head.weight]["log_decay"].clone()
    bad = torch.zeros_like(head.weight)
    bad[0, 1] = math.nan
    with pytest.raises(ValueError, match=r"shape \(2, 6\) has 1 non-finite element"):
        opt.set_curvature(head.weight, bad)
    assert torch.equal(head.weight, weight)
    assert torch.equal(opt.state[head.weight]["log_decay"], log_decay)
    with pytest.raises(ValueError, match="check_finite must be True or False"):
        FADE([head.weight], check_finite="yes")  # type: ignore[arg-type]
