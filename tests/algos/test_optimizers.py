"""SB3 drop-in: any optimizer_class keeps the body and the actor, FADE takes only the heads.

Old code refused every optimizer but plain Adam and SGD for the whole model, and a
learning rate of 0 still decayed the heads by ``1 - lambda`` per step.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch as th
from stable_baselines3.common.sb2_compat.rmsprop_tf_like import RMSpropTFLike

from fade_rl import FADE, FadeDQN, FadeSAC, FadeTD3

from .helpers import fix_replay_batch, trained

OPTIMIZERS = [
    (th.optim.AdamW, dict(weight_decay=0.0)),
    (th.optim.AdamW, dict(weight_decay=0.05, eps=1e-6)),
    (RMSpropTFLike, dict(alpha=0.95, eps=1e-5)),
]


def _ids(params: object) -> set[int]:
    return {id(p) for p in params}  # type: ignore[attr-defined]


@pytest.mark.parametrize(("optimizer_class", "optimizer_kwargs"), OPTIMIZERS)
def test_sac_body_and_actor_keep_the_users_optimizer(
    optimizer_class: type, optimizer_kwargs: dict, tmp_path: Path
) -> None:
    model = FadeSAC(
        "MlpPolicy",
        "Pendulum-v1",
        learning_starts=30,
        batch_size=8,
        policy_kwargs=dict(
            net_arch=[16], optimizer_class=optimizer_class, optimizer_kwargs=optimizer_kwargs
        ),
        seed=0,
    )
    assert type(model.actor.optimizer) is optimizer_class
    critic = model.critic.optimizer
    assert isinstance(critic, FADE) and type(critic.body) is optimizer_class
    heads = [p for h in model.fade_heads.values() for p in (h.weight, h.bias)]
    (body_group,) = critic.body.param_groups
    assert _ids(body_group["params"]) == _ids(critic.param_groups[0]["params"])
    assert not _ids(body_group["params"]) & _ids(heads)
    for key, value in optimizer_kwargs.items():
        assert body_group[key] == value and model.actor.optimizer.param_groups[0][key] == value
    (head_group,) = [g for g in critic.param_groups if g["fade"]]
    assert head_group["base"] == "adam"  # AdamW's base; FADE's default for RMSpropTFLike
    adamw = optimizer_class is th.optim.AdamW
    assert head_group["eps"] == (optimizer_kwargs.get("eps", 1e-8) if adamw else 1e-8)

    model.learn(60)
    body_param = body_group["params"][0]
    expected_keys = {"square_avg"} if optimizer_class is RMSpropTFLike else {"exp_avg"}
    assert expected_keys <= set(critic.state[body_param])  # the user's optimizer ran
    assert {"log_decay", "decay_trace"} <= set(critic.state[heads[0]])

    model.save(tmp_path / "m.zip")  # SB3 reloads optimizer state with weights_only=True
    loaded = FadeSAC.load(tmp_path / "m.zip")
    restored = loaded.critic.optimizer
    assert type(restored.body) is optimizer_class and restored.body.state is restored.state
    for key, value in critic.state_dict()["state"][0].items():
        assert th.equal(th.as_tensor(value), th.as_tensor(restored.state_dict()["state"][0][key]))


def test_dqn_with_adamw_steps_the_body_as_adamw() -> None:
    """The body's step is AdamW's own: the same update a separate AdamW computes."""
    model = trained(
        FadeDQN,
        "CartPole-v1",
        80,
        net_arch=[16],
        policy_kwargs=dict(optimizer_class=th.optim.AdamW, optimizer_kwargs=dict(weight_decay=0.1)),
        learning_starts=50,
        batch_size=16,
        seed=0,
    )
    fix_replay_batch(model, 16)
    body = model.policy.optimizer.body
    body_params = body.param_groups[0]["params"]
    copies = [p.detach().clone().requires_grad_() for p in body_params]
    reference = th.optim.AdamW(copies, weight_decay=0.1)
    for p, q in zip(body_params, copies, strict=True):  # body.state is FADE's (all params)
        reference.state[q] = {k: v.clone() for k, v in body.state[p].items()}
    grads = {}
    original_step = body.step

    def capturing_step() -> None:
        grads.update({i: p.grad.clone() for i, p in enumerate(body_params)})
        original_step()

    body.step = capturing_step
    model.train(gradient_steps=1, batch_size=16)
    for i, p in enumerate(reference.param_groups[0]["params"]):
        p.grad = grads[i]
    reference.param_groups[0]["lr"] = body.param_groups[0]["lr"]
    reference.step()
    for p, q in zip(body_params, reference.param_groups[0]["params"], strict=True):
        assert th.equal(p, q)


@pytest.mark.parametrize(
    ("algorithm", "env_id"), [(FadeDQN, "CartPole-v1"), (FadeTD3, "Pendulum-v1")]
)
def test_learning_rate_zero_freezes_the_heads_and_their_decay_rates(
    algorithm: type, env_id: str
) -> None:
    model = algorithm(
        "MlpPolicy",
        env_id,
        learning_rate=0.0,
        learning_starts=30,
        batch_size=8,
        policy_kwargs=dict(net_arch=[16]),
        fade_kwargs=dict(init_decay=1e-2, meta_lr=10.0),
        seed=0,
    )
    before = {n: h.weight.detach().clone() for n, h in model.fade_heads.items()}
    model.learn(90)
    optimizer = model.fade_optimizer
    for name, head in model.fade_heads.items():
        # Old code: every step multiplied the head by 1 - 0.01 and moved lambda.
        assert th.equal(head.weight, before[name]), name
        assert th.allclose(optimizer.decay_rates(head.weight), th.tensor(1e-2))
        assert optimizer.state[head.weight]["step"] > 0  # train() did run
