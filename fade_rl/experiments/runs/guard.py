"""Stop training on the first non-finite reward, loss, parameter or optimizer state."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

from fade_rl.nets.schedule import next_multiple

__all__ = ["NonFiniteError", "NonFiniteGuard"]


class NonFiniteError(ArithmeticError):
    """Training produced a NaN or an infinity; ``reason`` says where, ``step`` when.

    Example (a parameter set to NaN by hand, caught by :meth:`NonFiniteGuard.check_model`):
        >>> import torch
        >>> from stable_baselines3 import DQN
        >>> model = DQN("MlpPolicy", "CartPole-v1", buffer_size=100,
        ...             policy_kwargs={"net_arch": [8]})
        >>> with torch.no_grad():
        ...     model.policy.q_net.q_net[0].bias[0] = float("nan")
        >>> NonFiniteGuard().check_model(model)
        Traceback (most recent call last):
        ...
        fade_rl.experiments.runs.guard.NonFiniteError: non-finite parameter q_net.q_net.0.bias ...
        >>> error = NonFiniteError("reward", 300)
        >>> str(error), error.reason, error.step
        ('non-finite reward at step 300', 'reward', 300)
    """

    def __init__(self, reason: str, step: int) -> None:
        super().__init__(f"non-finite {reason} at step {step}")
        self.reason = reason
        self.step = step


def _optimizers(model: Any) -> dict[str, Any]:
    """Every torch optimizer of an SB3 model, by attribute path."""
    import torch as th

    found: dict[str, Any] = {}
    for name, module in model.policy.named_modules():
        opt = getattr(module, "optimizer", None)
        if isinstance(opt, th.optim.Optimizer):
            found[f"policy.{name}.optimizer" if name else "policy.optimizer"] = opt
    for name, value in vars(model).items():
        if isinstance(value, th.optim.Optimizer):
            found[name] = value
    return found


class NonFiniteGuard(BaseCallback):
    """Raise :class:`NonFiniteError` when training goes non-finite.

    Rewards are checked every step, on the host (``self.locals["rewards"]``, a numpy
    array: no device sync). Every ``check_every`` steps and at the end of training the
    model's parameters, the state of every optimizer (FADE's decay rates and traces
    included) and the losses in the logger are checked, with one host read per check.
    Checks also run before every checkpoint when the run's checkpointer is given this
    guard, so a checkpoint never holds a NaN.

    Example:
        >>> from stable_baselines3 import DQN
        >>> from fade_rl import NonFiniteGuard
        >>> model = DQN("MlpPolicy", "CartPole-v1", learning_starts=50, buffer_size=500)
        >>> _ = model.learn(100, callback=NonFiniteGuard(check_every=50))
    """

    def __init__(self, check_every: int = 1000, verbose: int = 0) -> None:
        super().__init__(verbose)
        if check_every < 1:
            raise ValueError(f"check_every must be >= 1, got {check_every}")
        self.check_every = check_every
        self._next = check_every

    def _on_training_start(self) -> None:
        self._next = next_multiple(self.num_timesteps, self.check_every)

    def _on_step(self) -> bool:
        rewards = self.locals.get("rewards")
        if rewards is not None and not np.isfinite(rewards).all():
            raise NonFiniteError("reward", self.num_timesteps)
        if self.num_timesteps >= self._next:
            while self._next <= self.num_timesteps:
                self._next += self.check_every
            self.check_model(self.model)
        return True

    def _on_training_end(self) -> None:
        self.check_model(self.model)

    def check_model(self, model: Any) -> None:
        """Check losses, parameters and optimizer state of ``model`` (one host read)."""
        import torch as th

        step = int(model.num_timesteps)
        logger = getattr(model, "_logger", None)
        for key, value in getattr(logger, "name_to_value", {}).items():
            if isinstance(value, (int, float)) and not math.isfinite(value):
                raise NonFiniteError(f"value of {key} (loss)", step)
        named: list[tuple[str, th.Tensor]] = [
            (f"parameter {name}", p) for name, p in model.policy.named_parameters()
        ]
        for opt_name, opt in _optimizers(model).items():
            for i, group in enumerate(opt.param_groups):
                for j, p in enumerate(group["params"]):
                    for key, value in opt.state.get(p, {}).items():
                        if isinstance(value, th.Tensor) and value.is_floating_point():
                            named.append(
                                (f"{opt_name} state {key!r} (group {i}, param {j})", value)
                            )
        for name, value in vars(model).items():  # e.g. SAC's log_ent_coef
            if isinstance(value, th.Tensor) and value.is_floating_point():
                named.append((f"attribute {name}", value))
        if not named:
            return
        flags = th.stack([th.isfinite(t).all() for _, t in named])
        if bool(flags.all()):  # the one host read
            return
        bad = int((~flags).nonzero()[0, 0])
        raise NonFiniteError(named[bad][0], step)
