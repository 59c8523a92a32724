"""The registry of algorithm families: every family satisfies the protocol; others are refused."""

from __future__ import annotations

from typing import Any

import pytest
import torch as th
from stable_baselines3 import A2C

from fade_rl.algos import (
    ALGORITHM_NAMES,
    FAMILIES,
    AlgorithmFamily,
    LossPass,
    critic_arch_policy,
    family_of,
    family_of_class,
)
from fade_rl.algos.registry import family_of_policy
from fade_rl.nets import q_values_of, run_critics, split_head

from .helpers import FAMILY_CASES, quick_kwargs


def _model(cls: type, env_id: str) -> Any:
    model = cls("MlpPolicy", env_id, **quick_kwargs(cls, 16, 8), seed=0)
    return model.learn(32)


@pytest.mark.parametrize(("family", "env_id"), FAMILY_CASES)
def test_each_family_satisfies_the_protocol(family: AlgorithmFamily, env_id: str) -> None:
    assert isinstance(family, AlgorithmFamily)
    assert FAMILIES[family.name] is family
    assert issubclass(family.fade_class, family.sb3_class)
    assert issubclass(family.critic_arch_policy, family.policy_class)
    assert family_of_class(family.fade_class) is family
    assert family_of_policy(family.critic_arch_policy) is family
    assert critic_arch_policy(family.sb3_class) is family.critic_arch_policy

    for cls in (family.sb3_class, family.fade_class):
        model = _model(cls, env_id)
        assert family.owns(model) and family_of(model) is family
        q_nets, targets = family.critic_q_nets(model), family.critic_target_nets(model)
        assert list(q_nets) == [n.name for n in family.critic_networks(model)]
        assert list(targets) in ([], list(q_nets))  # every critic's target, or none at all
        heads = {name: split_head(net, name)[1] for name, net in q_nets.items()}
        assert all(net.head.modules == [heads[net.name]] for net in family.critic_networks(model))

        batch = family.sample_batch(model, 8)
        with th.no_grad():
            value_targets = family.value_targets(model, batch)
        assert value_targets.shape == (8, 1)
        passes = run_critics(family.critic_networks(model), batch.observations, batch.actions)
        q_values = q_values_of(passes)
        loss, taken = family.critic_loss(q_values, batch, value_targets)
        assert loss.dim() == 0 and list(taken) == list(q_nets)
        c = family.output_hessian(model, LossPass(batch, q_values, taken, value_targets))
        assert c.shape == next(iter(q_values.values())).shape

        owner = family.critic_optimizer_owner(model)
        assert family.optimizers(model)[0] is owner.optimizer
        critic_params = {
            id(p) for m in family.trained_modules(model, "critic") for p in m.parameters()
        }
        assert all(id(p) in critic_params for head in heads.values() for p in head.parameters())
        for online, target in family.target_pairs(model):
            assert type(online) is type(target) and online is not target
    assert list(model.fade_heads) == list(q_nets)  # the last model is the FADE version


def test_the_config_and_the_cli_offer_the_registered_algorithms() -> None:
    from fade_rl.cli import build_parser
    from fade_rl.experiments.runs.config import ALGOS

    assert ALGOS == ALGORITHM_NAMES == tuple(FAMILIES)
    parser = build_parser()
    train = next(
        action.choices["train"]
        for action in parser._actions
        if getattr(action, "choices", None) and "train" in action.choices
    )
    algo = next(a for a in train._actions if "--algo" in a.option_strings)
    assert tuple(algo.choices) == ALGORITHM_NAMES


def test_an_unsupported_model_is_refused_in_one_line() -> None:
    model = A2C("MlpPolicy", "CartPole-v1", n_steps=64)
    with pytest.raises(TypeError) as info:
        family_of(model, "ReDo")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("ReDo works on SB3 DQN, SAC, TD3 and PPO models")
    assert "got a A2C" in message
    with pytest.raises(TypeError, match="got 'A2C'"):
        family_of_class(A2C)
    with pytest.raises(ValueError, match="exist for DQN, SAC, TD3 and PPO"):
        critic_arch_policy(A2C)
