"""Critic layer norm and CReLU: the structure, and FADE still owning and training the final head."""

from __future__ import annotations

import pytest
import torch as th
from stable_baselines3 import DQN, SAC, TD3
from torch import nn

from fade_rl import FadeDQN, FadeSAC, FadeTD3
from fade_rl.algos import (
    CReLU,
    CriticArchDQNPolicy,
    CriticArchSACPolicy,
    CriticArchTD3Policy,
    critic_arch_policy,
    critic_mlp_with_options,
)
from tests.methods.fidelity.models import (
    assert_every_trainable_parameter_is_optimized,
    critic_nets,
    tiny,
)

OPTIONS = [
    {"layer_norm": True, "crelu": False},
    {"layer_norm": False, "crelu": True},
    {"layer_norm": True, "crelu": True},
]


def test_crelu_by_hand() -> None:
    x = th.tensor([[1.5, -2.0, 0.0]])
    assert th.equal(CReLU()(x), th.tensor([[1.5, 0.0, 0.0, 0.0, 2.0, 0.0]]))


def test_mlp_options_structure_and_forward() -> None:
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 2))
    both = critic_mlp_with_options(net, layer_norm=True, crelu=True)
    kinds = [type(m).__name__ for m in both]
    assert kinds == ["Linear", "LayerNorm", "CReLU", "Linear", "LayerNorm", "CReLU", "Linear"]
    assert both[3].in_features == 8 and both[6].in_features == 10
    x = th.randn(6, 3)
    # by hand: LN over the 4 pre-activations, then [relu, relu(-)]
    pre = both[0](x)
    normed = (pre - pre.mean(1, keepdim=True)) / th.sqrt(
        pre.var(1, unbiased=False, keepdim=True) + 1e-5
    )
    h = th.cat([th.relu(normed), th.relu(-normed)], dim=1)
    assert th.allclose(both[:3](x), h, atol=1e-5)
    assert both(x).shape == (6, 2)
    plain = critic_mlp_with_options(net, layer_norm=False, crelu=False)
    assert [type(m) for m in plain] == [type(m) for m in net]


@pytest.mark.parametrize("cls", [FadeDQN, FadeSAC])
@pytest.mark.parametrize("options", OPTIONS)
def test_fade_owns_the_final_linear_head_and_trains_it(cls, options) -> None:
    policy = critic_arch_policy(cls)
    model = tiny(cls, net_arch=[8, 8], policy=policy, policy_kwargs=options)
    for name, net in zip(model.fade_heads, critic_nets(model), strict=True):
        head = model.fade_heads[name]
        assert head is net[-1] and type(head) is nn.Linear
        assert (type(net[1]) is nn.LayerNorm) == options["layer_norm"]
        assert any(isinstance(m, CReLU) for m in net) == options["crelu"]
        assert head.in_features == 8 * (2 if options["crelu"] else 1)
    fade_group = next(g for g in model.fade_optimizer.param_groups if g["fade"])
    heads = {id(p) for head in model.fade_heads.values() for p in head.parameters()}
    assert {id(p) for p in fade_group["params"]} == heads
    assert_every_trainable_parameter_is_optimized(model)
    before = {name: h.weight.detach().clone() for name, h in model.fade_heads.items()}
    ln_before = [
        net[1].weight.detach().clone() if options["layer_norm"] else None
        for net in critic_nets(model)
    ]
    model.train(gradient_steps=2, batch_size=16)
    for name, head in model.fade_heads.items():
        assert not th.equal(head.weight, before[name])
        assert model.fade_optimizer.state[head.weight]["step"] == 2
    if options["layer_norm"]:  # the layer norm's gain is trained by the base group
        assert any(
            not th.equal(net[1].weight, w)
            for net, w in zip(critic_nets(model), ln_before, strict=True)
        )


@pytest.mark.parametrize(
    ("cls", "policy"),
    [(DQN, CriticArchDQNPolicy), (SAC, CriticArchSACPolicy), (TD3, CriticArchTD3Policy)],
)
def test_options_on_vanilla_algorithms_save_and_load(cls, policy, tmp_path) -> None:
    model = tiny(
        cls, net_arch=[8], policy=policy, policy_kwargs={"layer_norm": True, "crelu": True}
    )
    model.train(gradient_steps=1, batch_size=16)
    model.save(tmp_path / "m.zip")
    loaded = cls.load(tmp_path / "m.zip", device="cpu")
    for a, b in zip(critic_nets(model), critic_nets(loaded), strict=True):
        assert [type(m) for m in a] == [type(m) for m in b]
        assert th.equal(a[-1].weight, b[-1].weight)


def test_fade_td3_with_options_runs() -> None:
    model = tiny(FadeTD3, net_arch=[8], policy=CriticArchTD3Policy, policy_kwargs={"crelu": True})
    model.train(gradient_steps=2, batch_size=16)
    assert all(type(h) is nn.Linear for h in model.fade_heads.values())


def test_bad_options_are_refused() -> None:
    with pytest.raises(ValueError, match="layer_norm must be True or False"):
        DQN(CriticArchDQNPolicy, "CartPole-v1", policy_kwargs={"layer_norm": "yes"})
    with pytest.raises(ValueError, match="exist for DQN, SAC, TD3 and PPO"):
        critic_arch_policy(int)
