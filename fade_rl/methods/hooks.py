"""The bases of the methods' callbacks: optimizer hooks or an object attached while ``learn``
runs, a change of the networks (once per period, or when due), which on an on-policy algorithm
waits for the next rollout."""

from __future__ import annotations

from typing import Any, Generic, Protocol, TypeVar

from stable_baselines3.common.callbacks import BaseCallback
from torch.utils.hooks import RemovableHandle

from fade_rl.algos import Periodic, check_positive_int, family_of

__all__ = [
    "Attachment",
    "AttachmentCallback",
    "HookCallback",
    "NetworkChangeCallback",
    "PeriodicCallback",
]


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


class Attachment(Protocol):
    """What :class:`AttachmentCallback` attaches: an object that detaches and has a state.

    Example:
        :class:`~fade_rl.methods.ContinualBackprop` and :class:`~fade_rl.methods.TRAC` are:

        >>> from fade_rl.methods import TRAC, ContinualBackprop
        >>> methods = ("remove", "state_dict", "load_state_dict")
        >>> [all(callable(getattr(cls, m)) for m in methods) for cls in (ContinualBackprop, TRAC)]
        [True, True]
    """

    def remove(self) -> None: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


AttachmentT = TypeVar("AttachmentT", bound=Attachment)


class AttachmentCallback(BaseCallback, Generic[AttachmentT]):
    """Attaches an object (:meth:`_attach`) while ``learn`` runs; its state outlives it.

    When training ends the object's state is kept and the object removed; the next
    ``learn`` attaches a new one and gives it that state. :meth:`state_dict` and
    :meth:`load_state_dict` carry the state through a checkpoint.

    Subclasses: :class:`~fade_rl.methods.ContinualBackpropCallback`,
    :class:`~fade_rl.methods.TRACCallback`.

    Example:
        >>> from stable_baselines3 import DQN
        >>> class Counter:
        ...     def __init__(self):
        ...         self.n = 0
        ...     def remove(self):
        ...         pass
        ...     def state_dict(self):
        ...         return {"n": self.n}
        ...     def load_state_dict(self, state):
        ...         self.n = state["n"]
        >>> class CountSteps(AttachmentCallback):
        ...     def _attach(self):
        ...         return Counter()
        ...     def _on_step(self):
        ...         self.attached.n += 1
        ...         return True
        >>> model = DQN("MlpPolicy", "CartPole-v1", learning_starts=50, seed=0)
        >>> callback = CountSteps()
        >>> _ = model.learn(8, callback=callback)
        >>> _ = model.learn(8, callback=callback, reset_num_timesteps=False)
        >>> callback.attached, callback.state_dict()  # detached; the count carries on
        (None, {'n': 16})
    """

    def __init__(self, verbose: int = 0) -> None:
        super().__init__(verbose)
        self._attached: AttachmentT | None = None
        self._saved: dict[str, Any] | None = None

    @property
    def attached(self) -> AttachmentT | None:
        """The attached object while ``learn`` runs, else None."""
        return self._attached

    def _attach(self) -> AttachmentT:
        """Build the object on ``self.model``, attached."""
        raise NotImplementedError

    def _on_training_start(self) -> None:
        self._attached = self._attach()
        if self._saved is not None:
            self._attached.load_state_dict(self._saved)
            self._saved = None

    def _on_step(self) -> bool:
        return True

    def _on_training_end(self) -> None:
        if self._attached is not None:
            self._saved = self._attached.state_dict()
            self._attached.remove()
            self._attached = None

    def state_dict(self) -> dict[str, Any] | None:
        """The attached object's state (the saved one between calls), or None before training."""
        return self._attached.state_dict() if self._attached is not None else self._saved

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the state before ``learn`` resumes."""
        self._saved = state


class NetworkChangeCallback(BaseCallback):
    """Changes the networks (:meth:`_act`) when :meth:`_due` says so; on an on-policy
    algorithm (PPO) at the start of the next rollout.

    An on-policy algorithm trains on the rollout its networks have just collected, with the
    log-probabilities and values they gave. A change in the middle of a rollout would leave
    its first part collected by networks that no longer exist, so there the change is
    ``pending`` until the rollout has been collected and trained on, and is applied when the
    next rollout starts, before its first action (the family's ``on_policy`` decides). A
    checkpoint keeps ``pending`` (:meth:`state`). Off-policy algorithms change at once.

    Subclasses: :class:`~fade_rl.methods.ResetCallback`, :class:`PeriodicCallback`.

    Example:
        >>> from stable_baselines3 import PPO
        >>> class Mark(NetworkChangeCallback):
        ...     def _on_step(self):
        ...         if self.num_timesteps == 40:
        ...             self._due()
        ...         return True
        ...     def _act(self):
        ...         self.marks.append(self.num_timesteps)
        >>> callback = Mark()
        >>> callback.marks = []
        >>> model = PPO("MlpPolicy", "CartPole-v1", n_steps=32, batch_size=32)
        >>> _ = model.learn(96, callback=callback)
        >>> callback.marks  # due at step 40, in the second rollout: applied when the third starts
        [64]
    """

    def __init__(self, verbose: int = 0) -> None:
        super().__init__(verbose)
        #: A change came due and waits for the next rollout's start (on-policy only).
        self.pending = False
        self._waits = False

    def _init_callback(self) -> None:
        self._waits = family_of(self.model, type(self).__name__).on_policy

    def _act(self) -> None:
        """The change of the networks."""
        raise NotImplementedError

    def _due(self) -> None:
        """The change is due now: apply it, or on an on-policy algorithm mark it pending."""
        if self._waits:
            self.pending = True
        else:
            self._act()

    def _on_rollout_start(self) -> None:
        if self.pending:
            self.pending = False
            self._act()

    def state(self) -> dict[str, Any]:
        """What a checkpoint keeps (JSON-able): whether a change waits for the next rollout."""
        return {"pending": self.pending}


class PeriodicCallback(NetworkChangeCallback):
    """Acts (:meth:`_act`) each time ``num_timesteps`` crosses a multiple of ``every``.

    The period counts from where training starts (a resumed run keeps its multiples). On an
    on-policy algorithm the action waits for the next rollout's start
    (:class:`NetworkChangeCallback`): with ``every`` a multiple of the rollout's length the
    multiple is reached on a rollout's last step, so the action falls exactly between two
    rollouts.

    Subclasses: :class:`~fade_rl.methods.ShrinkPerturbCallback`,
    :class:`~fade_rl.methods.ReDoCallback`.

    Args:
        every: the period in environment steps, >= 1.

    Example:
        >>> from stable_baselines3 import DQN
        >>> class Mark(PeriodicCallback):
        ...     def _act(self):
        ...         self.marks.append(self.num_timesteps)
        >>> callback = Mark(every=30)
        >>> callback.marks = []
        >>> _ = DQN("MlpPolicy", "CartPole-v1").learn(100, callback=callback)
        >>> callback.marks
        [30, 60, 90]
    """

    def __init__(self, every: int, verbose: int = 0) -> None:
        super().__init__(verbose)
        checked = check_positive_int("every", every)
        assert checked is not None
        self.every: int = checked
        self._period = Periodic(self.every)

    def _act(self) -> None:
        """What the callback does once per period."""
        raise NotImplementedError

    def _on_training_start(self) -> None:
        self._period.start(self.num_timesteps)

    def _on_step(self) -> bool:
        if self._period.due(self.num_timesteps):
            self._due()
        return True
