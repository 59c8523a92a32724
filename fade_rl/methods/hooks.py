"""A callback whose method is a set of optimizer hooks, live only while ``learn`` runs."""

from __future__ import annotations

from stable_baselines3.common.callbacks import BaseCallback
from torch.utils.hooks import RemovableHandle

__all__ = ["HookCallback"]


class HookCallback(BaseCallback):
    """Installs hooks (:meth:`_install`) when training starts and removes them when it ends.

    Subclasses: :class:`~fade_rl.methods.WeightDecayCallback`,
    :class:`~fade_rl.methods.L2InitCallback`.

    Example:
        >>> from stable_baselines3 import DQN
        >>> class CountSteps(HookCallback):
        ...     def _install(self):
        ...         self.steps = 0
        ...
        ...         def count(optimizer, args, kwargs):
        ...             self.steps += 1
        ...
        ...         return [self.model.policy.optimizer.register_step_post_hook(count)]
        >>> model = DQN("MlpPolicy", "CartPole-v1", learning_starts=50, seed=0)
        >>> callback = CountSteps()
        >>> _ = model.learn(100, callback=callback)
        >>> callback.steps, callback._handles  # optimizer steps taken; no hooks left
        (13, [])
    """

    def __init__(self, verbose: int = 0) -> None:
        super().__init__(verbose)
        self._handles: list[RemovableHandle] = []

    def _install(self) -> list[RemovableHandle]:
        """Register the hooks on ``self.model`` and return their handles."""
        raise NotImplementedError

    def _on_training_start(self) -> None:
        self._handles = self._install()

    def _on_step(self) -> bool:
        return True

    def _on_training_end(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []
