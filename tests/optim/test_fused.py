"""The fused CPU loop against the torch kernel it replaces (fade_rl/optim/fused.py)."""

import pytest
import torch
from torch import nn

from fade_rl.optim import FADE
from fade_rl.optim.kernels import supports_fused

CASES = [("sgd", False), ("adam", False), ("sgd", True)]


def _pair(base, idbd, dtype, **kwargs):
    """Two identical heads: one stepped by the fused loop (foreach=None), one by torch's ops."""
    heads = [nn.Linear(6, 3).to(dtype) for _ in range(2)]
    if idbd:
        kwargs["idbd_meta_lr"] = 0.01  # IDBD's own meta step diverges at meta_lr
    heads[1].load_state_dict(heads[0].state_dict())
    opts = [
        FADE(
            [{"params": head.parameters(), "fade": True}],
            lr=0.05,
            base=base,
            idbd=idbd,
            foreach=foreach,
            **kwargs,
        )
        for head, foreach in zip(heads, (None, True), strict=True)
    ]
    return heads, opts


def _steps(heads, opts, n, curvature_scale=1.0, seed=0):
    gen = torch.Generator().manual_seed(seed)
    for _ in range(n):
        grads = [torch.randn(3, 6, generator=gen), torch.randn(3, generator=gen)]
        curvatures = [curvature_scale * torch.rand(3, 6, generator=gen)]
        curvatures.append(curvature_scale * torch.rand(3, generator=gen))
        for head, opt in zip(heads, opts, strict=True):
            for p, g, h in zip(head.parameters(), grads, curvatures, strict=True):
                p.grad = g.to(p.dtype)
                opt.set_curvature(p, h)
            opt.step()


def _assert_same(heads, opts, rtol, atol):
    for p, q in zip(heads[0].parameters(), heads[1].parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=rtol, atol=atol)
        for key, value in opts[0].state[p].items():
            expected = opts[1].state[q][key]
            if torch.is_tensor(value):
                torch.testing.assert_close(value, expected, rtol=rtol, atol=atol)
            else:
                assert value == expected


@pytest.mark.parametrize(("base", "idbd"), CASES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_fused_loop_agrees_with_the_torch_kernel_step_by_step(base, idbd, dtype):
    heads, opts = _pair(base, idbd, dtype, meta_lr=5.0)
    tolerance = dict(rtol=1e-5, atol=1e-7) if dtype == torch.float32 else dict(rtol=1e-12, atol=0)
    for seed in range(20):
        _steps(heads, opts, 1, seed=seed)
        _assert_same(heads, opts, **tolerance)
    assert not opts[0]._packs and opts[1]._packs, "fused on one side, the torch step on the other"


@pytest.mark.parametrize(("base", "idbd"), CASES)
def test_fused_loop_clamps_as_the_torch_kernel(base, idbd):
    """A huge meta step drives log decay to both bounds; a huge H clamps the shrink at 1."""
    heads, opts = _pair(
        base, idbd, torch.float32, meta_lr=1e4, log_decay_bounds=(-6.0, -1.0), init_decay=0.01
    )
    _steps(heads, opts, 8, curvature_scale=1e6)
    rates = opts[0].state[heads[0].weight]["log_decay"]
    assert rates.min() == -6.0 and rates.max() == -1.0, "both bounds were reached"
    _assert_same(heads, opts, rtol=1e-5, atol=1e-6)


def test_fused_loop_writes_through_to_the_parameters_and_state():
    """The loop works on views: the head and the state the optimizer holds change in place."""
    head = nn.Linear(2, 1)
    opt = FADE([{"params": head.parameters(), "fade": True}], lr=0.5, base="sgd", meta_lr=0.0)
    weight = head.weight.detach().clone()
    head.weight.grad, head.bias.grad = torch.ones(1, 2), torch.ones(1)
    opt.set_curvature(head.weight, torch.zeros(1, 2))
    opt.set_curvature(head.bias, torch.zeros(1))
    opt.step()
    decay = torch.tensor(1e-4)  # init_decay, kept by meta_lr 0
    torch.testing.assert_close(head.weight.detach(), (1 - decay) * weight - 0.5)
    assert opt.state[head.weight]["step"] == 1


def test_supports_fused_only_contiguous_float_cpu_tensors():
    assert supports_fused([torch.zeros(2, 3), torch.zeros(3, dtype=torch.float32)])
    assert supports_fused([torch.zeros(2, dtype=torch.float64)])
    assert not supports_fused([torch.zeros(2, 3).T])  # not contiguous
    assert not supports_fused([torch.zeros(2, dtype=torch.float16)])
    assert not supports_fused([torch.zeros(2), torch.zeros(2, dtype=torch.float64)])
    assert not supports_fused([torch.zeros(2, device="meta")])


def test_the_fused_step_is_an_in_place_change_to_autograd() -> None:
    """A graph that saved the head's weight refuses to backpropagate after the step, as with
    the torch kernels (the loop writes through numpy, which torch does not see by itself)."""
    head = nn.Linear(3, 1)
    opt = FADE([{"params": head.parameters(), "fade": True}], lr=0.1)
    x = torch.randn(4, 3, requires_grad=True)
    loss = head(x).pow(2).sum()
    loss.backward(retain_graph=True)
    opt.set_curvature(head.weight, torch.ones(1, 3))
    opt.set_curvature(head.bias, torch.ones(1))
    versions = [p._version for p in head.parameters()]
    opt.step()
    assert [p._version for p in head.parameters()] > versions
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


def test_without_numba_the_cpu_takes_the_packed_torch_step(monkeypatch) -> None:
    """A Python or numpy that numba has no build for: FADE still steps, by torch's ops."""
    import fade_rl.optim.fade as fade_module

    monkeypatch.setattr(fade_module, "_fused_kernel", lambda: None)
    heads, opts = _pair("adam", False, torch.float32)
    _steps(heads, opts, 3)
    assert opts[0]._packs, "the packed torch step ran"
    _assert_same(heads, opts, rtol=0, atol=0)  # the same path on both sides
