"""Head curvature helpers against autograd's second derivatives on small random heads."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from fade_rl.optim import (
    cross_entropy_output_hessian,
    dqn_output_hessian,
    grad_clip_factor,
    half_squared_error_output_hessian,
    linear_head_curvature,
    mse_output_hessian,
)

B, J, K = 7, 5, 3


def autograd_diagonal_hessian(loss_fn, weight, bias):
    """Diagonal of d^2 loss / d theta^2 for theta = (weight, bias), by double backward."""
    flat = torch.cat([weight.reshape(-1), bias]).detach().requires_grad_(True)

    def loss_of_flat(theta):
        w = theta[: weight.numel()].reshape(weight.shape)
        b = theta[weight.numel() :]
        return loss_fn(w, b)

    hessian = torch.autograd.functional.hessian(loss_of_flat, flat)
    diag = hessian.diagonal()
    return diag[: weight.numel()].reshape(weight.shape), diag[weight.numel() :]


@pytest.fixture
def head():
    gen = torch.Generator().manual_seed(0)
    phi = torch.randn(B, J, generator=gen, dtype=torch.float64)
    weight = torch.randn(K, J, generator=gen, dtype=torch.float64) * 0.3
    bias = torch.randn(K, generator=gen, dtype=torch.float64) * 0.1
    targets = torch.randn(B, K, generator=gen, dtype=torch.float64)
    return phi, weight, bias, targets


def check(phi, weight, bias, loss_fn, c):
    expected_w, expected_b = autograd_diagonal_hessian(loss_fn, weight, bias)
    h_w, h_b = linear_head_curvature(phi, c)
    torch.testing.assert_close(h_w, expected_w)
    torch.testing.assert_close(h_b, expected_b)


def test_half_squared_error(head):
    phi, weight, bias, t = head

    def loss(w, b):
        return 0.5 * ((phi @ w.T + b - t) ** 2).sum(dim=1).mean()

    check(phi, weight, bias, loss, half_squared_error_output_hessian(t))


def test_mse_loss(head):
    phi, weight, bias, t = head

    def loss(w, b):
        return F.mse_loss(phi @ w.T + b, t)

    check(phi, weight, bias, loss, mse_output_hessian(t))


def test_sb3_sac_critic_loss_per_critic(head):
    """SB3 SAC: 0.5 * sum_i mse(Q_i, target): each critic's head sees c = 1/B."""
    phi, weight, bias, t = head
    weight, bias, target = weight[:1], bias[:1], t[:, :1]

    def loss(w, b):
        return 0.5 * F.mse_loss(phi @ w.T + b, target)

    check(phi, weight, bias, loss, half_squared_error_output_hessian(target))


def test_sb3_td3_critic_loss_per_critic(head):
    """SB3 TD3: sum_i mse(Q_i, target): each critic's head sees c = 2/B."""
    phi, weight, bias, t = head
    weight, bias, target = weight[:1], bias[:1], t[:, :1]

    def loss(w, b):
        return F.mse_loss(phi @ w.T + b, target)

    check(phi, weight, bias, loss, mse_output_hessian(target))


@pytest.mark.parametrize(("loss_name", "beta"), [("huber", 1.0), ("huber", 0.5), ("mse", 1.0)])
def test_dqn_losses_on_the_taken_action(head, loss_name, beta):
    phi, weight, bias, _ = head
    actions = torch.tensor([0, 2, 2, 0, 0, 2, 2])  # action 1 is absent
    # Targets put some TD errors inside Huber's quadratic zone and some far outside it,
    # none near the kink where the second derivative does not exist.
    q_taken = (phi @ weight.T + bias).gather(1, actions[:, None]).squeeze(1).detach()
    offsets = torch.tensor([0.2, -3.0, 0.1, 2.5, -0.3, 4.0, -0.05], dtype=torch.float64) * beta
    target = q_taken - offsets

    def loss(w, b):
        q = (phi @ w.T + b).gather(1, actions[:, None]).squeeze(1)
        if loss_name == "huber":
            return F.smooth_l1_loss(q, target, beta=beta)
        return F.mse_loss(q, target)

    c = dqn_output_hessian(actions, offsets, K, loss=loss_name, huber_beta=beta)
    check(phi, weight, bias, loss, c)
    if loss_name == "huber":
        # Samples in the linear zone add no curvature.
        assert (c[[1, 3, 5]] == 0).all()
    # The row of an action absent from the batch gets no curvature at all.
    assert (c[:, 1] == 0).all() and (c[:, [0, 2]] > 0).any()


def test_dqn_mask_differs_from_a_regression_hook_by_about_the_number_of_actions(head):
    """The trap docs/fade.md section 3 warns about: mean_b phi^2 on every row overshoots ~K."""
    phi, *_ = head
    actions = torch.arange(B) % K
    c = dqn_output_hessian(actions, torch.zeros(B, dtype=torch.float64), K, loss="huber")
    h_w, _ = linear_head_curvature(phi, c)
    regression_hook = (phi**2).mean(0).expand(K, J)
    ratio = regression_hook.sum() / h_w.sum()
    assert 2.0 < ratio < 4.5


def test_softmax_cross_entropy_diagonal(head):
    phi, weight, bias, _ = head
    labels = torch.tensor([0, 1, 2, 2, 1, 0, 1])

    def loss(w, b):
        return F.cross_entropy(phi @ w.T + b, labels)

    c = cross_entropy_output_hessian(phi @ weight.T + bias)
    check(phi, weight, bias, loss, c)


def test_grad_clip_factor_is_the_scale_clip_grad_norm_applied():
    for scale in (0.01, 100.0):
        p = torch.nn.Parameter(torch.zeros(10))
        p.grad = torch.arange(10.0) * scale
        original = p.grad.clone()
        total_norm = torch.nn.utils.clip_grad_norm_([p], max_norm=10.0)
        factor = grad_clip_factor(total_norm, 10.0)
        torch.testing.assert_close(p.grad, original * factor)
        assert (factor < 1) == (scale == 100.0)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: linear_head_curvature(torch.zeros(3, 2), torch.zeros(4, 1)), "batch size 3"),
        (lambda: linear_head_curvature(torch.zeros(3), torch.zeros(3, 1)), "must be 2-D"),
        (lambda: half_squared_error_output_hessian(torch.zeros(0, 1)), "must be >= 1"),
        (lambda: mse_output_hessian(torch.zeros(3)), "2-D tensor"),
        (
            lambda: dqn_output_hessian(torch.zeros(3), torch.zeros(3), 2, loss="l1"),
            "loss must be 'huber' or 'mse', got 'l1'",
        ),
        (
            lambda: dqn_output_hessian(torch.zeros(3), torch.zeros(3), 2, huber_beta=0.0),
            "huber_beta must be > 0",
        ),
        (lambda: dqn_output_hessian(torch.zeros(3), torch.zeros(4), 2), "one entry per sample"),
        (lambda: grad_clip_factor(torch.tensor(1.0), 0.0), "max_norm must be > 0"),
    ],
)
def test_bad_arguments_are_rejected(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_grad_clip_factor_refuses_a_python_number():
    # a float would make a CPU tensor, which a GPU curvature cannot be mixed with
    with pytest.raises(TypeError, match="tensor clip_grad_norm_ returned"):
        grad_clip_factor(3.0, 10.0)  # type: ignore[arg-type]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_every_helper_takes_device_and_dtype_from_its_inputs(dtype):
    """On the meta device (a stand-in for CUDA) a CPU tensor mixed in raises."""
    meta = torch.device("meta")
    phi = torch.empty(5, 3, device=meta, dtype=dtype)
    outputs = torch.empty(5, 2, device=meta, dtype=dtype)
    actions = torch.empty(5, 1, device=meta, dtype=torch.long)
    helpers = {
        "half_squared_error": half_squared_error_output_hessian(outputs),
        "mse": mse_output_hessian(outputs),
        "dqn_huber": dqn_output_hessian(actions, outputs[:, :1], 2),
        "dqn_mse": dqn_output_hessian(actions, outputs[:, :1], 2, loss="mse"),
        "cross_entropy": cross_entropy_output_hessian(outputs),
        "clip": grad_clip_factor(torch.empty((), device=meta, dtype=dtype), 10.0),
    }
    for name, c in helpers.items():
        assert c.device == meta and c.dtype == dtype, name
    h_w, h_b = linear_head_curvature(phi, helpers["mse"] * helpers["clip"])
    assert (h_w.device, h_w.shape, h_b.device, h_b.shape) == (meta, (2, 3), meta, (2,))


def test_output_hessians_have_the_hand_computed_values():
    outputs = torch.zeros(4, 2, dtype=torch.float64)
    torch.testing.assert_close(
        half_squared_error_output_hessian(outputs), torch.full((4, 2), 0.25, dtype=torch.float64)
    )
    torch.testing.assert_close(
        mse_output_hessian(outputs), torch.full((4, 2), 2 / 8, dtype=torch.float64)
    )
