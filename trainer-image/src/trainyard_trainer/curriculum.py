"""``opponent: curriculum``: from the random opponent to the greedy one over the run.

The opponent of every environment plays the greedy heuristic's move with probability ``level``
and a uniformly random legal move otherwise (``MixedOpponent``). ``CurriculumCallback`` raises
the level with training progress: 0 until ``start`` of the run's timesteps, then linearly to
``end`` by ``ramp_end`` of them, then stays there. A new level applies from each environment's
next move (``CurriculumEnv.set_opponent_level`` through ``env_method``), so it works with
both vectorised env kinds. Episodes name their opponent ``curriculum@<level>`` (in tenths) so
the per-rollout opponent counts show the progression.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

from trainyard_trainer.envs import GreedyOpponent, RandomOpponent
from trainyard_trainer.envs.blokus.engine import BlokusGame


class MixedOpponent:
    """Greedy with probability ``level``, else uniformly random (per move)."""

    def __init__(self, level: float = 0.0) -> None:
        self.level = float(level)
        self._greedy, self._random = GreedyOpponent(), RandomOpponent()

    def select(self, game: BlokusGame, mask: np.ndarray, rng: np.random.Generator) -> int:
        if rng.random() < self.level:
            return self._greedy.select(game, mask, rng)
        return self._random.select(game, mask, rng)

    @property
    def name(self) -> str:
        return f"curriculum@{round(self.level, 1):.1f}"

    def __repr__(self) -> str:
        return f"MixedOpponent(level={self.level:.3f})"


def level_at(progress: float, start: float = 0.1, ramp_end: float = 0.7, end: float = 1.0) -> float:
    """The greedy share at ``progress`` (0..1) of the run."""
    if progress <= start:
        return 0.0
    if progress >= ramp_end:
        return end
    return end * (progress - start) / (ramp_end - start)


class CurriculumEnv(gym.Wrapper):
    """A ``BlokusEnv`` whose opponents are one shared ``MixedOpponent``; names it in the game-end info."""

    def __init__(self, env: gym.Env, opponent: MixedOpponent) -> None:
        super().__init__(env)
        self.opponent = opponent

    def set_opponent_level(self, level: float) -> None:
        self.opponent.level = float(level)

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        if terminated or truncated:
            info = {**info, "opponent": self.opponent.name}
        return obs, reward, terminated, truncated, info


class CurriculumCallback(BaseCallback):
    """Before each rollout, sets the opponents' level from ``num_timesteps / total_timesteps``."""

    def __init__(self, total_timesteps: int, start: float = 0.1, ramp_end: float = 0.7) -> None:
        super().__init__()
        self.total_timesteps, self.start, self.ramp_end = total_timesteps, start, ramp_end
        self.level = -1.0

    def _on_rollout_start(self) -> None:
        level = level_at(self.num_timesteps / self.total_timesteps, self.start, self.ramp_end)
        if level != self.level:
            self.level = level
            self.training_env.env_method("set_opponent_level", level)
            self.logger.record("curriculum/greedy_share", level)

    def _on_step(self) -> bool:
        return True
