"""Opponent policies that play the non-agent seats of the single-agent envs in ``env.py``.

An opponent sees the ``BlokusGame`` (``engine.py``), the legal mask of the seat to move and
the env's random generator, and returns a placement id. ``make_opponent`` builds the named
built-ins; ``PolicyOpponent`` wraps any predict function. Self-play is the trainer's
``selfplay.SelfPlayOpponent``, which plays the run's own checkpoints.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import numpy as np

from . import rules
from .engine import BlokusGame


@runtime_checkable
class Opponent(Protocol):
    """Chooses a move for ``game.current_player``; ``mask`` is that seat's legal mask."""

    def select(self, game: BlokusGame, mask: np.ndarray, rng: np.random.Generator) -> int: ...


class RandomOpponent:
    """Uniform over the legal placements."""

    def select(self, game: BlokusGame, mask: np.ndarray, rng: np.random.Generator) -> int:
        legal = np.flatnonzero(mask)
        return int(legal[rng.integers(len(legal))])

    def __repr__(self) -> str:
        return "RandomOpponent()"


class GreedyOpponent:
    """Largest piece first; among those, the move maximising own usable corners minus the
    opponents' usable corners afterwards; ties broken uniformly with ``rng``."""

    def select(self, game: BlokusGame, mask: np.ndarray, rng: np.random.Generator) -> int:
        # the kernel reads the seat's legal list (the same set as ``mask``; the seat to move is in sync)
        player = game.current_player
        return int(rules.greedy_pick(game.table.geom, game.flags, game.legal, game.meta, player, rng.random()))

    def __repr__(self) -> str:
        return "GreedyOpponent()"


class PolicyOpponent:
    """Wraps ``predict_fn(obs, mask) -> action``, fed the observation of the seat to move."""

    def __init__(self, predict_fn: Callable[[np.ndarray, np.ndarray], Any]) -> None:
        self.predict_fn = predict_fn

    def select(self, game: BlokusGame, mask: np.ndarray, rng: np.random.Generator) -> int:
        obs = game.observe(game.current_player)
        return int(self.predict_fn(obs, mask))

    def __repr__(self) -> str:
        return f"PolicyOpponent({self.predict_fn!r})"


_BUILTIN: dict[str, Callable[[], Opponent]] = {"random": RandomOpponent, "greedy": GreedyOpponent}


def make_opponent(name: str) -> Opponent:
    """Built-in opponent by name: ``random`` or ``greedy``."""
    try:
        return _BUILTIN[name]()
    except KeyError:
        raise ValueError(
            f"unknown opponent {name!r}; expected one of {sorted(_BUILTIN)} or an Opponent instance "
            "(self-play passes a SelfPlayOpponent)"
        ) from None
