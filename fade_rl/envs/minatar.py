"""MinAtar games as Gymnasium environments for SB3, and the continual MinAtar sequence.

`MinAtar <https://github.com/kenjyoung/MinAtar>`_ (package ``minatar`` 1.0.15) gives five
10x10 miniatures of Atari games. Its own Gymnasium classes need
``minatar.gym.register_envs()`` before ``gym.make`` knows them, never call
``super().reset()`` (so Gymnasium's ``check_env`` fails) and return ``(10, 10, C)`` boolean
arrays, channels last. :class:`MinAtarEnv` drives ``minatar.Environment`` directly instead:

* **Observations** are ``Box(0, 1, (C, 10, 10), uint8)``: channels first (what
  ``torch.nn.Conv2d`` reads), one byte per cell (replay buffers stay 4x smaller than
  float32), bounds ``[0, 1]``. SB3 treats only ``uint8`` boxes with bounds ``[0, 255]`` as
  images, so it neither divides these by 255 nor transposes them: the network sees 0.0/1.0.
* **Actions** are MinAtar's full set, ``Discrete(6)`` in every game (no-op, left, up, right,
  down, fire).
* **Sticky actions**: with probability ``sticky_action_prob`` (MinAtar's default 0.1) the
  previous action is repeated. The previous action is reset to no-op at every ``reset``
  (as ALE does), so a seeded reset restarts the game exactly.
* **Seeding**: ``reset(seed=s)`` reseeds the game (spawns, sticky draws) from
  ``self.np_random``; unseeded resets continue the random stream.
* ``channels=N`` pads the observation with empty channels up to ``N`` (the continual
  sequence pads every game to 10, Seaquest's count).

Importing this module imports neither ``minatar`` nor torch: ``minatar`` (and the
matplotlib it pulls in, 2.7 s on the dev machine) is imported when the first game is built.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np

from fade_rl.envs.task_sequence import TaskSequence

__all__ = [
    "C_MINATAR_GAMES",
    "MINATAR_GAMES",
    "MinAtarEnv",
    "make_minatar_sequence",
    "minatar_channels",
    "minatar_env_id",
]

#: Game names as MinAtar spells them, keyed by the name in the ``fade_rl/MinAtar-<Name>-v0`` ids.
MINATAR_GAMES: dict[str, str] = {
    "Asterix": "asterix",
    "Breakout": "breakout",
    "Freeway": "freeway",
    "Seaquest": "seaquest",
    "SpaceInvaders": "space_invaders",
}
#: The games of the C-MinAtar benchmark (C-CHAIN paper), in its order.
C_MINATAR_GAMES: tuple[str, ...] = ("space_invaders", "asterix", "seaquest")
#: MinAtar's full action set, the same in every game.
N_ACTIONS = 6


def _check_game(game: str, where: str) -> None:
    if game not in MINATAR_GAMES.values():
        raise ValueError(
            f"{where}: unknown MinAtar game {game!r}; use one of {sorted(MINATAR_GAMES.values())}."
        )


def minatar_env_id(game: str) -> str:
    """A game's registered id: ``"space_invaders"`` -> ``"fade_rl/MinAtar-SpaceInvaders-v0"``.

    Example:
        >>> from fade_rl.envs.minatar import C_MINATAR_GAMES, minatar_env_id
        >>> [minatar_env_id(game) for game in C_MINATAR_GAMES]  # doctest: +NORMALIZE_WHITESPACE
        ['fade_rl/MinAtar-SpaceInvaders-v0', 'fade_rl/MinAtar-Asterix-v0',
         'fade_rl/MinAtar-Seaquest-v0']
    """
    _check_game(game, "minatar_env_id")
    name = next(k for k, v in MINATAR_GAMES.items() if v == game)
    return f"fade_rl/MinAtar-{name}-v0"


def _minatar_module() -> Any:
    try:
        return importlib.import_module("minatar")
    except ImportError as exc:
        raise ImportError(
            f"MinAtar environments need the minatar package ({exc}); "
            "install it with `pip install minatar==1.0.15`."
        ) from None


def minatar_channels(game: str) -> int:
    """How many observation channels a MinAtar game has (Asterix 4 ... Seaquest 10).

    Example:
        >>> from fade_rl.envs.minatar import C_MINATAR_GAMES, minatar_channels
        >>> {game: minatar_channels(game) for game in C_MINATAR_GAMES}
        {'space_invaders': 6, 'asterix': 4, 'seaquest': 10}
    """
    _check_game(game, "minatar_channels")
    return int(_minatar_module().Environment(game).state_shape()[2])


class MinAtarEnv(gym.Env[np.ndarray, np.int64]):
    """One MinAtar game: channels-first ``uint8`` observations in {0, 1}, 6 actions.

    Example:
        >>> import gymnasium as gym
        >>> import fade_rl.envs
        >>> env = gym.make("fade_rl/MinAtar-Breakout-v0", sticky_action_prob=0.0)
        >>> obs, info = env.reset(seed=0)
        >>> obs.shape, obs.dtype, env.action_space
        ((4, 10, 10), dtype('uint8'), Discrete(6))
        >>> padded = MinAtarEnv("breakout", channels=10)
        >>> padded.reset(seed=0)[0][4:].any()
        np.False_

    Args:
        game: MinAtar's name of the game: ``asterix``, ``breakout``, ``freeway``,
            ``seaquest`` or ``space_invaders``.
        sticky_action_prob: probability that the previous action is repeated instead of
            the chosen one (MinAtar's default 0.1; 0 for deterministic control).
        difficulty_ramping: MinAtar's option that makes the games speed up over an episode.
        channels: pad the observation with empty channels up to this many (``None``: the
            game's own count). Must be at least the game's count.
        render_mode: ``None`` or ``"rgb_array"`` (a ``(10, 10, 3)`` uint8 frame, each
            channel in its own colour).
    """

    metadata: dict[str, Any] = {"render_modes": ["rgb_array"], "render_fps": 30}  # noqa: RUF012

    def __init__(
        self,
        game: str,
        sticky_action_prob: float = 0.1,
        difficulty_ramping: bool = True,
        channels: int | None = None,
        render_mode: str | None = None,
    ) -> None:
        where = "MinAtarEnv"
        _check_game(game, where)
        if (
            isinstance(sticky_action_prob, bool)
            or not isinstance(sticky_action_prob, (int, float))
            or not 0.0 <= sticky_action_prob <= 1.0
        ):
            raise ValueError(
                f"{where}: sticky_action_prob must be a probability in [0, 1], "
                f"got {sticky_action_prob!r}."
            )
        if not isinstance(difficulty_ramping, bool):
            raise ValueError(
                f"{where}: difficulty_ramping must be true or false, got {difficulty_ramping!r}."
            )
        if render_mode not in (None, "rgb_array"):
            raise ValueError(
                f"{where}: render_mode must be None or 'rgb_array', got {render_mode!r}."
            )
        self.game_name = game
        self.sticky_action_prob = float(sticky_action_prob)
        self.render_mode = render_mode
        self.game = _minatar_module().Environment(
            game, sticky_action_prob=self.sticky_action_prob, difficulty_ramping=difficulty_ramping
        )
        own = int(self.game.state_shape()[2])
        if channels is None:
            channels = own
        elif isinstance(channels, bool) or not isinstance(channels, int) or channels < own:
            raise ValueError(
                f"{where}: channels must be an integer >= {own} ({game} has {own} channels), "
                f"got {channels!r}."
            )
        self.game_channels = own
        self._shape = (channels, 10, 10)
        self.observation_space = gym.spaces.Box(0, 1, self._shape, np.uint8)
        self.action_space = gym.spaces.Discrete(N_ACTIONS)

    def _observe(self) -> np.ndarray:
        obs = np.zeros(self._shape, np.uint8)
        obs[: self.game_channels] = self.game.state().transpose(2, 0, 1)
        return obs

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode; a seeded reset reseeds the game from ``seed``."""
        super().reset(seed=seed)
        if seed is not None:
            self.game.seed(int(self.np_random.integers(2**31 - 1)))
        self.game.last_action = 0
        self.game.reset()
        return self._observe(), {}

    def step(self, action: Any) -> tuple[np.ndarray, SupportsFloat, bool, bool, dict[str, Any]]:
        """One game frame (the chosen action, or the previous one if it sticks)."""
        a = int(action)
        if not 0 <= a < N_ACTIONS:
            raise ValueError(f"MinAtarEnv: action must be in 0..{N_ACTIONS - 1}, got {action!r}.")
        reward, terminated = self.game.act(a)
        return self._observe(), float(reward), bool(terminated), False, {}

    def render(self) -> np.ndarray | None:
        """The state as a ``(10, 10, 3)`` uint8 image, in MinAtar's own colours.

        MinAtar's palette: black for empty cells, channel ``k`` in colour ``k`` of seaborn's
        ``cubehelix`` palette (where channels overlap, the last one shows).
        """
        if self.render_mode != "rgb_array":
            return None
        import seaborn as sns  # a dependency of minatar, already imported with it

        state = self.game.state()
        n = state.shape[-1]
        palette = np.vstack([np.zeros((1, 3)), np.asarray(sns.color_palette("cubehelix", n))])
        index = np.max(state * (np.arange(n) + 1), axis=2)
        return np.asarray(palette[index] * 255, dtype=np.uint8)


def make_minatar_sequence(
    switch_every: int,
    games: Sequence[str] = C_MINATAR_GAMES,
    sticky_action_prob: float = 0.1,
    difficulty_ramping: bool = True,
    order: str = "cycle",
    truncate_at_switch: bool = True,
    seed: int | None = None,
    render_mode: str | None = None,
) -> TaskSequence:
    """Continual MinAtar (C-MinAtar): ``games`` in turn, the next every ``switch_every`` steps.

    A :class:`~fade_rl.envs.task_sequence.TaskSequence` of the ``fade_rl/MinAtar-<Game>-v0``
    ids, every game padded to the largest channel count among ``games`` (10 for the
    default SpaceInvaders -> Asterix -> Seaquest, as in the C-CHAIN paper: empty channels
    appended after a game's own), 6 actions. ``truncate_at_switch`` defaults to True so
    every switch happens exactly at its step (a MinAtar episode can last thousands of
    steps); ``info["shift"]`` is True on the first step of each new game.

    Example:
        >>> env = make_minatar_sequence(switch_every=100)
        >>> env.observation_space.shape, env.task_id
        ((10, 10, 10), 'fade_rl/MinAtar-SpaceInvaders-v0')
    """
    if isinstance(games, str) or not isinstance(games, Sequence) or len(games) < 2:
        raise ValueError(
            "make_minatar_sequence: games must be a list of at least 2 MinAtar games, "
            f"got {games!r}."
        )
    for game in games:
        _check_game(game, "make_minatar_sequence")
    channels = max(minatar_channels(game) for game in games)
    return TaskSequence(
        [minatar_env_id(game) for game in games],
        switch_every=switch_every,
        order=order,
        env_kwargs={
            "sticky_action_prob": sticky_action_prob,
            "difficulty_ramping": difficulty_ramping,
            "channels": channels,
        },
        truncate_at_switch=truncate_at_switch,
        seed=seed,
        render_mode=render_mode,
    )
