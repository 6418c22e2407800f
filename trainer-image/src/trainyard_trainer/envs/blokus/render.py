"""Text rendering of a Blokus board for debugging and the envs' ``ansi`` render mode."""

from __future__ import annotations

import numpy as np

SEAT_CHARS = "ABCD"
EMPTY = "."
START = "+"


def board_text(board: np.ndarray, starts: tuple[tuple[int, int], ...] = ()) -> str:
    """Rows of ``board`` (int8[H, W], -1 empty else seat) as letters A-D; empty start squares
    shown as ``+``."""
    chars = np.where(board < 0, EMPTY, np.array(list(SEAT_CHARS))[np.clip(board, 0, 3)])
    for r, c in starts:
        if board[r, c] < 0:
            chars[r, c] = START
    return "\n".join(" ".join(row) for row in chars)
