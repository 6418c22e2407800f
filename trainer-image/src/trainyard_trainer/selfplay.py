"""Self-play: an ``Opponent`` that plays the run's own past checkpoints, one drawn per game.

Built inside each environment worker by ``train._EnvFactory`` from the checkpoint folder, never
from models, so ``SubprocVecEnv`` pickles only a path and ``SelfPlaySettings``. The pool is the
newest ``pool_size`` ``ckpt_*.zip`` files of ``<checkpoint_dir>/<run_id>/`` (``checkpoints``
writes them atomically), listed again at most every ``refresh_seconds``; until the first
checkpoint exists the opponent plays ``random``. Policies load lazily: the first checkpoint
gives the architecture (a full ``MaskablePPO.load``), every other one only its weights
(``policy.pth``), and the ``cache_size`` most recently used stay in memory.

``SelfPlayEnv`` draws the opponent at each reset and names it in ``info["opponent"]`` (its
checkpoint's stem, or ``random``), which ``callbacks.DiagnosticsCallback`` counts and logs.
"""

from __future__ import annotations

import copy
import io
import logging
import time
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from trainyard_trainer.envs import BlokusGame, RandomOpponent

log = logging.getLogger(__name__)

FALLBACK = "random"
PATTERN = "ckpt_*.zip"


class SelfPlayOpponent:
    """Plays a checkpoint drawn by ``new_game()`` (``random`` while the pool is empty)."""

    def __init__(self, directory: Path, *, pool_size: int = 8, cache_size: int = 3, refresh_seconds: float = 10.0,
                 deterministic: bool = True, seed: int | None = None) -> None:
        self.directory = Path(directory)
        self.pool_size = pool_size
        self.cache_size = cache_size
        self.refresh_seconds = refresh_seconds
        self.deterministic = deterministic
        self._rng = np.random.default_rng(seed)
        self._pool: list[Path] = []
        self._listed_at = float("-inf")
        self._template: Any = None
        self._cache: OrderedDict[Path, Any] = OrderedDict()
        self._fallback = RandomOpponent()
        self._policy: Any = None
        self.current: Path | None = None

    @property
    def name(self) -> str:
        return self.current.stem if self.current is not None else FALLBACK

    def pool(self) -> list[Path]:
        """The newest ``pool_size`` checkpoints, oldest first (listed again when due)."""
        now = time.monotonic()
        if now - self._listed_at >= self.refresh_seconds:
            self._listed_at = now
            found = sorted(self.directory.glob(PATTERN))[-self.pool_size:]  # zero-padded timesteps sort in order
            if found != self._pool:
                log.info("self-play pool: %d checkpoints in %s, newest %s", len(found), self.directory,
                         found[-1].name if found else "-")
            self._pool = found
        return self._pool

    def new_game(self) -> str:
        """Draw the opponent of the next game uniformly from the pool; returns its name."""
        pool = self.pool()
        self.current, self._policy = None, None
        if pool:
            path = pool[int(self._rng.integers(len(pool)))]
            try:
                self._policy = self._load(path)
                self.current = path
            except Exception as exc:  # noqa: BLE001 - a vanished or torn file: play random this game
                log.warning("self-play: cannot load %s (%s); playing %s", path.name, exc, FALLBACK)
                self._pool = [p for p in self._pool if p != path]
        log.debug("self-play opponent: %s", self.name)
        return self.name

    def select(self, game: BlokusGame, mask: np.ndarray, rng: np.random.Generator) -> int:
        if self._policy is None:
            return self._fallback.select(game, mask, rng)
        obs = game.observe(game.current_player)
        action, _ = self._policy.predict(obs, action_masks=np.array(mask), deterministic=self.deterministic)
        return int(action)

    def _load(self, path: Path) -> Any:
        if path in self._cache:
            self._cache.move_to_end(path)
            return self._cache[path]
        import torch

        if self._template is None:
            from sb3_contrib import MaskablePPO

            self._template = MaskablePPO.load(path, device="cpu").policy
            self._template.set_training_mode(False)
        with zipfile.ZipFile(path) as archive:
            weights = torch.load(io.BytesIO(archive.read("policy.pth")), map_location="cpu", weights_only=True)
        policy = copy.deepcopy(self._template)
        policy.load_state_dict(weights)
        self._cache[path] = policy
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return policy

    def __repr__(self) -> str:
        return f"SelfPlayOpponent({str(self.directory)!r}, current={self.name})"


class SelfPlayEnv(gym.Wrapper):
    """Draws the self-play opponent at each reset; ``info["opponent"]`` names it at reset and game end."""

    def __init__(self, env: gym.Env, opponent: SelfPlayOpponent) -> None:
        super().__init__(env)
        self.opponent = opponent

    def reset(self, **kwargs):
        name = self.opponent.new_game()
        obs, info = self.env.reset(**kwargs)
        return obs, {**info, "opponent": name}

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        if terminated or truncated:
            info = {**info, "opponent": self.opponent.name}
        return obs, reward, terminated, truncated, info
