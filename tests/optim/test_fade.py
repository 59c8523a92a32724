"""FADE against the online linear derivation, its own reference implementation, and torch."""

from __future__ import annotations

import io
import math

import pytest
import torch

from fade_rl.optim import FADE, half_squared_error_output_hessian, linear_head_curvature

# ----------------------------------------------------------- online linear FADE


def online_linear_fade(xs, ys, w0, alpha, theta, gamma0, bounds=(-15.0, 0.0), idbd_theta=None):
    """docs/fade.md section 1, written out in plain Python floats (float64), one weight at a time.

    With ``idbd_theta`` it is FADE+IDBD with initial step size ``alpha``.
    Returns the weights after every step.
    """
    d = len(w0)
    w = list(w0)
    gamma = [gamma0] * d
    g = [0.0] * d
    beta = [math.log(alpha)] * d
    h = [0.0] * d
    history = []
    for x, y_star in zip(xs, ys, strict=True):
        delta = y_star - sum(wi * xi for wi, xi in zip(w, x, strict=True))
        for i in range(d):
            if idbd_theta is not None:
                beta[i] += idbd_theta * delta * x[i] * h[i]
            a = math.exp(beta[i]) if idbd_theta is not None else alpha
            gamma[i] = min(max(gamma[i] + theta * delta * x[i] * g[i], bounds[0]), bounds[1])
            lam = math.exp(gamma[i])
            f = max(0.0, 1.0 - lam - a * x[i] ** 2)
            if idbd_theta is not None:
                h[i] = f * h[i] + a * delta * x[i]
            g[i] = f * g[i] - lam * w[i]
            w[i] = (1.0 - lam) * w[i] + a * delta * x[i]
        history.append(list(w))
    return history


def fade_on_linear_layer(xs, ys, w0, **fade_kwargs):
    """The optimizer on a bias-free linear layer, loss delta^2 / 2, curvature H = x^2."""
    w = torch.tensor([w0], dtype=torch.float64, requires_grad=True)
    opt = FADE([{"params": [w], "fade": True}], base="sgd", **fade_kwargs)
    history = []
    for x, y_star in zip(xs, ys, strict=True):
        x_t = torch.tensor(x, dtype=torch.float64)
        loss = 0.5 * (y_star - (w[0] * x_t).sum()) ** 2
        opt.zero_grad()
        loss.backward()
        opt.set_curvature(w, (x_t**2).unsqueeze(0))
        opt.step()
        history.append(w.detach()[0].tolist())
    return history, opt, w


def tracking_stream(steps, d=5, seed=0):
    gen = torch.Generator().manual_seed(seed)
    target = torch.randn(d, generator=gen, dtype=torch.float64)
    xs, ys = [], []
    for t in range(steps):
        if t % 25 == 0:
            target[t % d] *= -1.0
        x = torch.randn(d, generator=gen, dtype=torch.float64)
        xs.append(x.tolist())
        ys.append(float(target @ x))
    return xs, ys


@pytest.mark.parametrize("foreach", [False, True])
def test_sgd_fade_reproduces_online_linear_fade_step_for_step(foreach):
    xs, ys = tracking_stream(300)
    w0 = [0.1, -0.2, 0.05, 0.3, 0.0]
    expected = online_linear_fade(xs, ys, w0, alpha=0.05, theta=0.05, gamma0=-3.0)
    got, opt, w = fade_on_linear_layer(
        xs, ys, w0, lr=0.05, meta_lr=0.05, init_decay=math.exp(-3.0), foreach=foreach
    )
    for step, (e, g) in enumerate(zip(expected, got, strict=True)):
        assert g == pytest.approx(e, rel=1e-9, abs=1e-12), f"step {step}"
    # The decays really moved: the test exercises the meta-gradient, not a fixed decay.
    assert opt.decay_rates(w).std() > 1e-3


@pytest.mark.parametrize("foreach", [False, True])
def test_fade_idbd_reproduces_online_linear_fade_idbd_step_for_step(foreach):
    xs, ys = tracking_stream(300, seed=1)
    w0 = [0.0, 0.1, -0.1, 0.2, 0.05]
    expected = online_linear_fade(xs, ys, w0, alpha=0.02, theta=0.02, gamma0=-2.3, idbd_theta=0.01)
    got, opt, w = fade_on_linear_layer(
        xs,
        ys,
        w0,
        lr=0.02,
        meta_lr=0.02,
        init_decay=math.exp(-2.3),
        idbd=True,
        idbd_meta_lr=0.01,
        foreach=foreach,
    )
    for step, (e, g) in enumerate(zip(expected, got, strict=True)):
        assert g == pytest.approx(e, rel=1e-9, abs=1e-12), f"step {step}"
    step_sizes = opt.state[w]["log_step_size"].exp()
    assert not torch.allclose(step_sizes, torch.full_like(step_sizes, 0.02))


def test_decay_clamp_bounds_are_respected():
    xs, ys = tracking_stream(200, seed=2)
    _, opt, w = fade_on_linear_layer(
        xs, ys, [0.0] * 5, lr=0.05, meta_lr=50.0, init_decay=0.05, log_decay_bounds=(-4.0, -1.0)
    )
    gamma = opt.state[w]["log_decay"]
    assert gamma.min() >= -4.0 and gamma.max() <= -1.0
    assert (gamma == -4.0).any() or (gamma == -1.0).any()  # the huge meta rate hits a bound


# ------------------------------------------------- reference vs batched (foreach)


def make_problem(base, idbd=False, foreach=False, seed=0):
    torch.manual_seed(seed)
    hidden = torch.nn.Linear(6, 8)
    head = torch.nn.Linear(8, 3)
    head2 = torch.nn.Linear(8, 1)
    opt = FADE(
        [
            {"params": hidden.parameters()},
            {"params": list(head.parameters()) + list(head2.parameters()), "fade": True},
        ],
        lr=0.01,
        base=base,
        meta_lr=0.5,
        init_decay=1e-3,
        idbd=idbd,
        foreach=foreach,
    )
    return hidden, head, head2, opt


def train_steps(hidden, head, head2, opt, steps=30, seed=0, device="cpu"):
    """``steps`` steps on random batches (drawn on the CPU, then moved to ``device``)."""
    gen = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        x = torch.randn(16, 6, generator=gen).to(device)
        y = torch.randn(16, 3, generator=gen).to(device)
        y2 = torch.randn(16, 1, generator=gen).to(device)
        phi = torch.relu(hidden(x))
        loss = 0.5 * ((head(phi) - y) ** 2).sum(1).mean() + 0.5 * ((head2(phi) - y2) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        for module, k in ((head, 3), (head2, 1)):
            h_w, h_b = linear_head_curvature(
                phi, half_squared_error_output_hessian(phi.new_empty(16, k))
            )
            opt.set_curvature(module.weight, h_w)
            opt.set_curvature(module.bias, h_b)
        opt.step()


@pytest.mark.parametrize(("base", "idbd"), [("sgd", False), ("adam", False), ("sgd", True)])
def test_batched_and_reference_implementations_agree_step_by_step(base, idbd):
    ref = make_problem(base, idbd, foreach=False)
    fast = make_problem(base, idbd, foreach=True)
    for _ in range(20):
        train_steps(*ref, steps=1)
        train_steps(*fast, steps=1)
        for m_ref, m_fast in zip(ref[:3], fast[:3], strict=True):
            for p_ref, p_fast in zip(m_ref.parameters(), m_fast.parameters(), strict=True):
                torch.testing.assert_close(p_fast, p_ref, rtol=1e-5, atol=1e-7)
    for s_ref, s_fast in zip(ref[3].state.values(), fast[3].state.values(), strict=True):
        assert s_ref.keys() == s_fast.keys()
        for key in s_ref:
            if torch.is_tensor(s_ref[key]):
                torch.testing.assert_close(s_fast[key], s_ref[key], rtol=1e-5, atol=1e-7)


def test_non_fade_groups_match_torch_adam_and_sgd():
    for base, torch_cls in (("adam", torch.optim.Adam), ("sgd", torch.optim.SGD)):
        torch.manual_seed(0)
        a = torch.nn.Linear(5, 4)
        b = torch.nn.Linear(5, 4)
        b.load_state_dict(a.state_dict())
        ours = FADE(a.parameters(), lr=0.01, base=base)
        theirs = torch_cls(b.parameters(), lr=0.01)
        for _ in range(10):
            x = torch.randn(8, 5)
            for model, opt in ((a, ours), (b, theirs)):
                opt.zero_grad()
                model(x).pow(2).mean().backward()
                opt.step()
        for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
            torch.testing.assert_close(pa, pb)


def test_adam_fade_first_step_by_hand():
    """One step of FADE on an Adam base, computed by hand from docs/fade.md section 2."""
    p = torch.tensor([1.0, -2.0], requires_grad=True)
    grad = torch.tensor([0.5, -0.25])
    curv = torch.tensor([4.0, 0.5])
    lr, decay = 0.1, 0.01
    opt = FADE([{"params": [p], "fade": True}], lr=lr, base="adam", init_decay=decay, eps=1e-8)
    p.grad = grad.clone()
    opt.set_curvature(p, curv)
    opt.step()
    # Step 1: m_hat = G, v_hat = G^2, alpha_eff = lr / (|G| + eps); the trace starts at 0,
    # so gamma does not move.
    alpha_eff = lr / (grad.abs() + 1e-8)
    keep = (1 - decay - alpha_eff * curv).clamp(min=0)
    trace = keep * 0 - decay * torch.tensor([1.0, -2.0])
    expected_p = (1 - decay) * torch.tensor([1.0, -2.0]) - alpha_eff * grad
    torch.testing.assert_close(p.detach(), expected_p)
    torch.testing.assert_close(opt.state[p]["decay_trace"], trace)
    torch.testing.assert_close(opt.decay_rates(p), torch.full((2,), decay))


def test_lr_is_read_from_the_param_group_every_step():
    p = torch.zeros(3, requires_grad=True)
    opt = FADE([{"params": [p], "fade": True}], lr=0.1, base="sgd", meta_lr=0.0, init_decay=1e-6)
    for lr in (0.1, 0.5):
        for group in opt.param_groups:
            group["lr"] = lr  # what SB3's update_learning_rate does
        before = p.detach().clone()
        p.grad = torch.ones(3)
        opt.set_curvature(p, torch.zeros(3))
        opt.step()
        torch.testing.assert_close(p.detach(), before * (1 - 1e-6) - lr)


# ------------------------------------------------------------------ the contract


def test_missing_curvature_is_an_error_not_a_silent_zero():
    p = torch.zeros(2, 3, requires_grad=True)
    opt = FADE([{"params": [p], "fade": True}])
    p.grad = torch.ones(2, 3)
    with pytest.raises(RuntimeError, match=r"no curvature was set .*\(2, 3\).*set_curvature"):
        opt.step()


def test_curvature_is_consumed_by_each_step():
    p = torch.zeros(2, requires_grad=True)
    opt = FADE([{"params": [p], "fade": True}])
    p.grad = torch.ones(2)
    opt.set_curvature(p, torch.ones(2))
    opt.step()
    with pytest.raises(RuntimeError, match="no curvature"):
        opt.step()


def test_fade_parameter_without_gradient_is_skipped():
    p = torch.ones(2, requires_grad=True)
    opt = FADE([{"params": [p], "fade": True}])
    opt.step()
    torch.testing.assert_close(p.detach(), torch.ones(2))


def test_set_curvature_rejects_wrong_shape_foreign_tensor_and_non_fade_param():
    p, q = torch.zeros(2, 3, requires_grad=True), torch.zeros(3, requires_grad=True)
    opt = FADE([{"params": [p], "fade": True}, {"params": [q]}])
    with pytest.raises(ValueError, match=r"shape \(3, 2\) but the parameter has shape \(2, 3\)"):
        opt.set_curvature(p, torch.zeros(3, 2))
    with pytest.raises(ValueError, match="not a parameter of the optimizer"):
        opt.set_curvature(torch.zeros(2, 3), torch.zeros(2, 3))
    with pytest.raises(ValueError, match="without 'fade': True"):
        opt.set_curvature(q, torch.zeros(3))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lr": -1.0}, "lr must be >= 0, got -1.0"),
        ({"base": "rmsprop"}, r"base must be one of \('sgd', 'adam'\), got 'rmsprop'"),
        ({"betas": (0.9, 1.0)}, r"betas must be two numbers in \[0, 1\), got \(0.9, 1.0\)"),
        ({"eps": -1e-8}, "eps must be >= 0"),
        ({"meta_lr": -0.1}, "meta_lr must be >= 0, got -0.1"),
        ({"init_decay": 0.0}, r"init_decay must be in \(0, 1\], got 0.0"),
        ({"init_decay": 1.5}, r"init_decay must be in \(0, 1\], got 1.5"),
        ({"init_decay": 1e-9}, "lies outside log_decay_bounds"),
        ({"log_decay_bounds": (0.0, -15.0)}, "finite gamma_min < gamma_max <= 0"),
        ({"log_decay_bounds": (-15.0, 1.0)}, "finite gamma_min < gamma_max <= 0"),
        ({"idbd": True}, "use base='sgd', got base='adam'"),
        ({"idbd": True, "base": "sgd", "lr": 0.0}, "must be > 0, got 0.0"),
        ({"idbd_meta_lr": -1.0}, "idbd_meta_lr must be >= 0, got -1.0"),
    ],
)
def test_bad_hyperparameters_are_rejected_by_name(kwargs, message):
    with pytest.raises(ValueError, match=message):
        FADE([torch.zeros(2, requires_grad=True)], **kwargs)


def test_bad_fade_flag_in_a_group_is_rejected():
    with pytest.raises(ValueError, match="'fade' must be True or False, got 'yes'"):
        FADE([{"params": [torch.zeros(2, requires_grad=True)], "fade": "yes"}])


# ------------------------------------------------------------------ save and load


@pytest.mark.parametrize(("base", "idbd"), [("sgd", False), ("adam", False), ("sgd", True)])
def test_state_survives_weights_only_save_and_load_and_continues_identically(base, idbd):
    hidden, head, head2, opt = make_problem(base, idbd, foreach=True)
    train_steps(hidden, head, head2, opt, steps=5)
    buffer = io.BytesIO()
    torch.save(
        {"opt": opt.state_dict(), "models": [m.state_dict() for m in (hidden, head, head2)]},
        buffer,
    )
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)

    hidden2, head_b, head2_b, opt2 = make_problem(base, idbd, foreach=True, seed=1)
    for module, sd in zip((hidden2, head_b, head2_b), saved["models"], strict=True):
        module.load_state_dict(sd)
    opt2.load_state_dict(saved["opt"])
    for (p1, s1), (p2, s2) in zip(opt.state.items(), opt2.state.items(), strict=True):
        assert p1.shape == p2.shape and s1.keys() == s2.keys()
        for key, value in s1.items():
            if torch.is_tensor(value):
                torch.testing.assert_close(s2[key], value, rtol=0, atol=0)
            else:
                assert s2[key] == value
    train_steps(hidden, head, head2, opt, steps=3, seed=7)
    train_steps(hidden2, head_b, head2_b, opt2, steps=3, seed=7)
    for m1, m2 in zip((hidden, head, head2), (hidden2, head_b, head2_b), strict=True):
        for p1, p2 in zip(m1.parameters(), m2.parameters(), strict=True):
            torch.testing.assert_close(p1, p2, rtol=0, atol=0)


# -------------------------------------------------------- no host synchronisation


class _SyncForbiddenError(RuntimeError):
    pass


@pytest.mark.parametrize(("base", "idbd"), [("sgd", False), ("adam", False), ("sgd", True)])
def test_step_makes_no_host_synchronising_call(monkeypatch, base, idbd):
    """On CPU we cannot observe a device sync, so forbid the calls that would cause one."""
    hidden, head, head2, opt = make_problem(base, idbd, foreach=True)
    train_steps(hidden, head, head2, opt, steps=1)

    def forbidden(*args, **kwargs):
        raise _SyncForbiddenError("host synchronisation inside FADE.step")

    original_step = opt.step

    def guarded_step(*args, **kwargs):
        with monkeypatch.context() as m:
            for name in ("item", "tolist", "__bool__", "__float__", "__int__", "cpu", "numpy"):
                m.setattr(torch.Tensor, name, forbidden)
            return original_step(*args, **kwargs)

    opt.step = guarded_step
    train_steps(hidden, head, head2, opt, steps=2)


cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


@cuda
@pytest.mark.parametrize(("base", "idbd"), [("sgd", False), ("adam", False), ("sgd", True)])
def test_cuda_matches_cpu_without_synchronising(base, idbd):
    cpu = make_problem(base, idbd, foreach=True)
    gpu = make_problem(base, idbd, foreach=True)
    for module in gpu[:3]:
        module.cuda()
    # Recreate the optimizer on the moved parameters.
    gpu = (
        *gpu[:3],
        FADE(
            [
                {"params": gpu[0].parameters()},
                {"params": list(gpu[1].parameters()) + list(gpu[2].parameters()), "fade": True},
            ],
            lr=0.01,
            base=base,
            meta_lr=0.5,
            init_decay=1e-3,
            idbd=idbd,
        ),
    )
    train_steps(*cpu, steps=5)
    opt = gpu[3]
    original_step = opt.step

    def step_without_sync():
        torch.cuda.set_sync_debug_mode("error")
        try:
            original_step()
        finally:
            torch.cuda.set_sync_debug_mode("default")

    opt.step = step_without_sync
    train_steps(*gpu, steps=5, device="cuda")
    for m_cpu, m_gpu in zip(cpu[:3], gpu[:3], strict=True):
        for p_cpu, p_gpu in zip(m_cpu.parameters(), m_gpu.parameters(), strict=True):
            torch.testing.assert_close(p_gpu.cpu(), p_cpu, rtol=1e-4, atol=1e-5)


def test_state_moved_in_from_adam_gains_the_missing_fade_entries():
    p = torch.nn.Parameter(torch.ones(3))
    opt = FADE([{"params": [p], "fade": True}], init_decay=0.01)
    moved_m = torch.full((3,), 0.5)
    opt.state[p] = {"step": 4, "exp_avg": moved_m.clone(), "exp_avg_sq": torch.full((3,), 0.25)}
    p.grad = torch.zeros(3)
    opt.set_curvature(p, torch.zeros(3))
    opt.step()
    state = opt.state[p]
    assert state["step"] == 5
    torch.testing.assert_close(state["exp_avg"], 0.9 * moved_m)  # kept, then updated
    torch.testing.assert_close(opt.decay_rates(p), torch.full((3,), 0.01))
    torch.testing.assert_close(state["decay_trace"], torch.full((3,), -0.01))  # -lambda * p
