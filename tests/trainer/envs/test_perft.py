"""Perft: move counts from the empty board, the engine against a brute-force reference.

The reference below shares nothing with ``rules.py`` or the placement table: it places every
orientation of every piece (rotations and reflections of the drawn shapes) at every offset and
checks the rules on the 2-D board directly (cells empty, none edge-adjacent to the mover's own
cells, one diagonal to them, or on the start square for a first piece). At depth 3 on Duo the
reference needs minutes, so the test compares the engine's perft kernel with the number the
reference gave once, ``_reference_perft("duo", 3)``.
"""

from __future__ import annotations

import numpy as np
import pytest
from trainyard_trainer.envs import BlokusGame
from trainyard_trainer.envs.blokus.engine import VARIANTS
from trainyard_trainer.envs.blokus.pieces import PIECE_NAMES, base_cells


def _shapes(name: str) -> list[tuple[tuple[int, int], ...]]:
    cells = base_cells(name)
    found = set()
    for flip in (False, True):
        shape = [(r, -c) if flip else (r, c) for r, c in cells]
        for _ in range(4):
            shape = [(c, -r) for r, c in shape]
            r0, c0 = min(r for r, _ in shape), min(c for _, c in shape)
            found.add(tuple(sorted((r - r0, c - c0) for r, c in shape)))
    return sorted(found)


class Reference:
    """All placements of a board as (piece, cells[k, 2]) with a vectorised legality check."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.pieces, self.cells = [], []
        for piece, name in enumerate(PIECE_NAMES):
            for shape in _shapes(name):
                arr = np.array(shape)
                for dr in range(size - arr[:, 0].max()):
                    for dc in range(size - arr[:, 1].max()):
                        flat = (arr[:, 0] + dr) * size + arr[:, 1] + dc
                        self.pieces.append(piece)
                        self.cells.append(np.pad(flat, (0, 5 - len(flat)), constant_values=-1))
        self.pieces = np.array(self.pieces)
        self.cells = np.array(self.cells)

    def legal(self, board: np.ndarray, player: int, held: set[int], start: tuple[int, int]) -> list[frozenset]:
        """Cell sets of ``player``'s legal placements on ``board`` (int[H, W], -1 empty)."""
        own = np.pad(board == player, 1)
        edge = own[:-2, 1:-1] | own[2:, 1:-1] | own[1:-1, :-2] | own[1:-1, 2:]
        diag = own[:-2, :-2] | own[:-2, 2:] | own[2:, :-2] | own[2:, 2:]
        if not (board == player).any():
            diag = np.zeros_like(diag)
            diag[start] = True
        blocked = np.append(((board >= 0) | edge).ravel(), False)  # index -1: padding, never blocked
        corner = np.append(diag.ravel(), False)
        ok = ~blocked[self.cells].any(1) & corner[self.cells].any(1) & np.isin(self.pieces, list(held))
        return [frozenset(int(c) for c in row if c >= 0) for row in self.cells[ok]]


def _reference_perft(variant: str, depth: int) -> tuple[int, set[frozenset]]:
    """(leaves ``depth`` moves deep from the empty board, cell sets of the first moves).
    No seat passes in the first moves of a game, so turns simply go round."""
    v = VARIANTS[variant]
    ref = Reference(v.size)
    piece_of = {frozenset(int(c) for c in row if c >= 0): int(p) for row, p in zip(ref.cells, ref.pieces, strict=True)}

    def count(board: np.ndarray, held: list[set[int]], seat: int, depth: int) -> int:
        moves = ref.legal(board.reshape(v.size, v.size), seat, held[seat], v.starts[seat])
        if depth == 1:
            return len(moves)
        total = 0
        for cells in moves:
            after = board.copy()
            after[list(cells)] = seat
            rest = [h - {piece_of[cells]} if i == seat else h for i, h in enumerate(held)]
            total += count(after, rest, (seat + 1) % v.n_players, depth - 1)
        return total

    empty = np.full(v.size * v.size, -1)
    first = ref.legal(empty.reshape(v.size, v.size), 0, set(range(21)), v.starts[0])
    return count(empty, [set(range(21)) for _ in v.starts], 0, depth), set(first)


def _engine_perft(game: BlokusGame, depth: int) -> int:
    if depth == 0 or game.done:
        return 1
    if depth == 1:
        return game.legal_count()
    total = 0
    for pid in game.legal_moves():
        child = game.copy()
        child.play(int(pid))
        total += _engine_perft(child, depth - 1)
    return total


@pytest.mark.parametrize("variant", ["duo", "classic"])
def test_perft_depth_one_and_two_match_the_brute_force_reference(variant):
    game = BlokusGame(variant)
    count1, first = _reference_perft(variant, 1)
    engine_first = {frozenset(int(c) for c in game.table.cells(int(p))) for p in game.legal_moves()}
    assert engine_first == first
    assert _engine_perft(game, 1) == count1 == int(game.legal_mask().sum())
    count2, _ = _reference_perft(variant, 2)
    assert _engine_perft(game, 2) == game.perft(2) == count2


# _reference_perft("duo", 3), run once (it takes minutes): seat 0's replies after each pair of first moves
DUO_PERFT_3 = 89_204_762


@pytest.mark.parametrize("variant", ["duo", "classic"])
def test_the_perft_kernel_agrees_with_the_python_api_and_leaves_the_position_alone(variant):
    game = BlokusGame(variant)
    game.play(int(game.legal_moves()[7]))
    before = game.copy()
    assert game.perft(1) == _engine_perft(game, 1) and game.perft(2) == _engine_perft(game, 2)
    for name in ("board", "flags", "has_piece", "meta"):
        np.testing.assert_array_equal(getattr(game, name), getattr(before, name))
    np.testing.assert_array_equal(game.mask, before.mask)


def test_duo_perft_depth_three_matches_the_reference():
    assert BlokusGame("duo").perft(3) == DUO_PERFT_3
