"""Blokus environments for the MaskablePPO trainer; importing this registers the gymnasium ids
``trainyard/BlokusDuo-v0`` and ``trainyard/Blokus-v0`` (classic, agent vs three opponents).

The implementation lives in ``blokus/``: ``pieces`` (placement tables), ``rules`` (numba
kernels), ``engine`` (game state, ``replay``), ``env`` (gymnasium envs), ``opponents``.
"""

from __future__ import annotations

import gymnasium

from .blokus.engine import BlokusGame, IllegalMoveError, replay
from .blokus.env import (
    BlokusClassicEnv,
    BlokusClassicTurnEnv,
    BlokusDuoEnv,
    BlokusDuoTurnEnv,
    BlokusEnv,
    BlokusTurnEnv,
)
from .blokus.opponents import GreedyOpponent, Opponent, PolicyOpponent, RandomOpponent, make_opponent

DUO_ID = "trainyard/BlokusDuo-v0"
CLASSIC_ID = "trainyard/Blokus-v0"

_ENTRY_POINTS = {
    DUO_ID: "trainyard_trainer.envs.blokus.env:BlokusDuoEnv",
    CLASSIC_ID: "trainyard_trainer.envs.blokus.env:BlokusClassicEnv",
}
for _env_id, _entry_point in _ENTRY_POINTS.items():
    if _env_id not in gymnasium.registry:
        gymnasium.register(id=_env_id, entry_point=_entry_point)

__all__ = [
    "CLASSIC_ID",
    "DUO_ID",
    "BlokusClassicEnv",
    "BlokusClassicTurnEnv",
    "BlokusDuoEnv",
    "BlokusDuoTurnEnv",
    "BlokusEnv",
    "BlokusGame",
    "BlokusTurnEnv",
    "GreedyOpponent",
    "IllegalMoveError",
    "Opponent",
    "PolicyOpponent",
    "RandomOpponent",
    "make_opponent",
    "replay",
]
