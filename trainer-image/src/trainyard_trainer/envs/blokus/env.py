"""Gymnasium envs for Blokus Duo and classic Blokus over ``engine.BlokusGame``.

Two forms share spaces, observation and ``action_masks()`` (what sb3-contrib MaskablePPO
reads): ``BlokusEnv`` (one agent seat; the other seats are ``opponents.py`` policies played
inside ``step``) and ``BlokusTurnEnv`` (each step is a move of the seat to move; self-play,
evaluation, ``bench/env_speed.py``). ``trainyard_trainer.envs`` registers the gymnasium ids.

Observation, float32[C, H, W] in {0, 1} from the acting seat's view, C = P + 23:
planes 0..P-1 cells of each seat relative to the viewer (own first, then the next seats in
turn order), plane P the viewer's usable corners (empty cells diagonal to its pieces, or
its unused start square, not edge-adjacent to its pieces), plane P+1 the union of the
opponents' usable corners, planes P+2..P+22 constant, 1 where the viewer still holds
piece i (``pieces.PIECE_NAMES`` order).

Actions are placement ids (``pieces.placement_table``); an illegal one raises
``IllegalMoveError``. Seats with no legal move pass automatically, so a seat is only
asked to act when it has a legal move.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from .engine import BlokusGame, Variant
from .opponents import Opponent, make_opponent
from .render import board_text

WIN_REWARD = 1.0
MARGIN_REWARD = 0.01


@dataclass(frozen=True)
class Outcome:
    """A finished game from one seat's view; ``margin`` = own score - best opponent score."""

    margin: int

    @property
    def win(self) -> bool:
        return self.margin > 0

    @property
    def reward(self) -> float:
        return WIN_REWARD * float(np.sign(self.margin)) + MARGIN_REWARD * self.margin

    @classmethod
    def of(cls, scores: Sequence[int], seat: int) -> Outcome:
        best_other = max(s for i, s in enumerate(scores) if i != seat)
        return cls(margin=scores[seat] - best_other)


class _BlokusBase(gym.Env):
    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(self, variant: str | Variant, render_mode: str | None = None) -> None:
        self.game = BlokusGame(variant)
        v = self.game.variant
        self.variant = v
        self.observation_space = spaces.Box(0.0, 1.0, shape=(v.n_planes, v.size, v.size), dtype=np.float32)
        self.action_space = spaces.Discrete(self.game.table.n)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"unsupported render_mode {render_mode!r}")
        self.render_mode = render_mode

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        return board_text(self.game.board2d(), self.variant.starts)


class BlokusTurnEnv(_BlokusBase):
    """Every seat through one interface: ``step`` plays a move of ``current_player``.

    Observation and ``action_masks()`` are those of the seat to move after the step.
    Reward is for the seat that just moved: 0, and at game end +1 win / -1 loss / 0 draw
    plus 0.01 x (its score - best other score). ``info``: ``placements``,
    ``current_player``; at game end also ``scores`` (per seat) and ``mover``.
    """

    def __init__(self, variant: str | Variant = "duo", render_mode: str | None = None) -> None:
        super().__init__(variant, render_mode)

    @property
    def current_player(self) -> int:
        return self.game.current_player

    def action_masks(self) -> np.ndarray:
        """Read-only legal mask of the seat to move; valid until the next step/reset."""
        return self.game.legal_mask()

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self.game.reset()
        return self.game.observe(0), {"placements": 0, "current_player": 0}

    def step(self, action):
        game = self.game
        mover = game.current_player
        game.play(int(action))
        player = game.current_player
        obs = game.observe(player)
        if not game.done:
            return obs, 0.0, False, False, {"placements": game.placements, "current_player": player}
        scores = game.scores()
        info = {"placements": game.placements, "current_player": player, "scores": scores, "mover": mover}
        return obs, Outcome.of(scores, mover).reward, True, False, info


class BlokusEnv(_BlokusBase):
    """One learning seat against opponent policies.

    ``step`` plays the agent's placement, then the opponents' moves until it is the agent's
    turn again (the agent passes automatically while it has no legal move) or the game ends.
    Reward: 0 per step; at game end +1 win (agent score strictly above every opponent's),
    -1 loss, 0 draw (tied for best), plus 0.01 x (agent score - best opponent score).
    ``info``: ``placements`` (pieces placed by all seats) always, ``agent_seat`` at reset;
    at game end also ``scores`` (per seat), ``agent_seat``, ``win``, ``score_margin``.

    ``opponent``: ``"random"``, ``"greedy"``, an ``Opponent`` (e.g. ``PolicyOpponent``) or a
    sequence of those, one per opponent in turn order after the agent. ``agent_seat``:
    ``"alternate"`` (episode counter modulo seats, so seeded runs reproduce) or a fixed
    seat. ``seed`` seeds the first reset when it gets none.
    """

    def __init__(
        self,
        variant: str | Variant = "duo",
        opponent: str | Opponent | Sequence[str | Opponent] = "random",
        agent_seat: str | int = "alternate",
        seed: int | None = None,
        render_mode: str | None = None,
    ) -> None:
        super().__init__(variant, render_mode)
        n_players = self.variant.n_players
        seat_ok = isinstance(agent_seat, (int, np.integer)) and not isinstance(agent_seat, bool)
        if not (agent_seat == "alternate" if isinstance(agent_seat, str) else seat_ok and 0 <= agent_seat < n_players):
            raise ValueError(f"agent_seat must be 'alternate' or a seat in 0..{n_players - 1}, got {agent_seat!r}")
        self._fixed_seat = None if isinstance(agent_seat, str) else int(agent_seat)
        self.opponents = _resolve_opponents(opponent, n_players - 1)
        self._seed = seed
        self._episodes = 0
        self.agent_seat = 0 if self._fixed_seat is None else self._fixed_seat

    def action_masks(self) -> np.ndarray:
        """Read-only legal mask of the agent's seat; valid until the next step/reset."""
        return self.game.legal_mask(self.agent_seat)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        if seed is None and self._episodes == 0:
            seed = self._seed
        super().reset(seed=seed)
        n_players = self.variant.n_players
        self.agent_seat = self._episodes % n_players if self._fixed_seat is None else self._fixed_seat
        self._episodes += 1
        self.game.reset()
        self._play_opponents()
        obs = self.game.observe(self.agent_seat)
        return obs, {"placements": self.game.placements, "agent_seat": self.agent_seat}

    def step(self, action):
        game = self.game
        if game.current_player != self.agent_seat or game.done:
            raise RuntimeError("step() called when it is not the agent's turn; call reset() after the game ends")
        game.play(int(action))
        self._play_opponents()
        obs = game.observe(self.agent_seat)
        if not game.done:
            return obs, 0.0, False, False, {"placements": game.placements}
        scores = game.scores()
        outcome = Outcome.of(scores, self.agent_seat)
        info = {
            "placements": game.placements,
            "scores": scores,
            "agent_seat": self.agent_seat,
            "win": outcome.win,
            "score_margin": outcome.margin,
        }
        return obs, outcome.reward, True, False, info

    def _play_opponents(self) -> None:
        game = self.game
        n_players = self.variant.n_players
        while not game.done and game.current_player != self.agent_seat:
            seat = game.current_player
            opponent = self.opponents[(seat - self.agent_seat) % n_players - 1]
            game.play(opponent.select(game, game.legal_mask(seat), self.np_random))


def _resolve_opponents(spec: str | Opponent | Sequence[str | Opponent], count: int) -> list[Opponent]:
    if isinstance(spec, str) or not isinstance(spec, Sequence):
        spec = [spec] * count
    if len(spec) != count:
        raise ValueError(f"expected {count} opponents, got {len(spec)}")
    resolved = [make_opponent(s) if isinstance(s, str) else s for s in spec]
    for opp in resolved:
        if not isinstance(opp, Opponent):
            raise TypeError(f"opponent {opp!r} has no select(game, mask, rng) method")
    return resolved


class BlokusDuoEnv(BlokusEnv):
    """Blokus Duo (14x14, 2 seats) for one agent seat; see ``BlokusEnv``."""

    def __init__(self, opponent="random", agent_seat="alternate", seed=None, render_mode=None) -> None:
        super().__init__("duo", opponent, agent_seat, seed, render_mode)


class BlokusClassicEnv(BlokusEnv):
    """Classic Blokus (20x20, 4 seats): the agent against three opponents; see ``BlokusEnv``."""

    def __init__(self, opponent="random", agent_seat="alternate", seed=None, render_mode=None) -> None:
        super().__init__("classic", opponent, agent_seat, seed, render_mode)


class BlokusDuoTurnEnv(BlokusTurnEnv):
    """Blokus Duo, one move per step; see ``BlokusTurnEnv``."""

    def __init__(self, render_mode: str | None = None) -> None:
        super().__init__("duo", render_mode)


class BlokusClassicTurnEnv(BlokusTurnEnv):
    """Classic 4-seat Blokus, one move per step; see ``BlokusTurnEnv``."""

    def __init__(self, render_mode: str | None = None) -> None:
        super().__init__("classic", render_mode)
