"""Boards of a stored evaluation game, rebuilt from the cells each move covered.

The trainer stores each move's placement id together with the cells it covers (``EvalGame.cells``),
so readers draw the game without the Blokus engine: the API image carries neither numba nor the
trainer. ``boards`` equals ``trainyard_trainer.envs.replay(variant, moves)`` after the first board
(a test checks it).
"""

from __future__ import annotations

from trainyard_runstore.schema import EvalGame


def boards(game: EvalGame) -> list[list[list[int]]]:
    """The board (rows of -1 empty, else the seat) after each move of ``game``."""
    size = game.board_size
    flat = [-1] * (size * size)
    out = []
    start = 0
    for seat, count in zip(game.seats, game.cell_counts, strict=True):
        for cell in game.cells[start:start + count]:
            flat[cell] = seat
        start += count
        out.append([flat[r * size:(r + 1) * size] for r in range(size)])
    return out
