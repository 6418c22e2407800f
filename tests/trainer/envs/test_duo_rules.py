"""Blokus Duo rules on hand-made positions (engine level), and the piece set / placement
table checked against an independent brute force."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from trainyard_trainer.envs.blokus.engine import BlokusGame, IllegalMoveError, placement_for, replay, score
from trainyard_trainer.envs.blokus.pieces import COL_EDGES, PIECE_NAMES, placement_table

pytestmark = pytest.mark.unit

N = 14
A, B = 0, 1

# The 21 pieces written independently of pieces.py, as (row, col) cells.
PIECES = {
    1: [[(0, 0)]],
    2: [[(0, 0), (0, 1)]],
    3: [[(0, 0), (0, 1), (0, 2)], [(0, 0), (0, 1), (1, 0)]],
    4: [
        [(0, 0), (0, 1), (0, 2), (0, 3)],
        [(0, 0), (0, 1), (1, 0), (1, 1)],
        [(0, 0), (0, 1), (0, 2), (1, 1)],
        [(0, 0), (0, 1), (0, 2), (1, 2)],
        [(0, 0), (0, 1), (1, 1), (1, 2)],
    ],
    5: [
        [(0, 1), (0, 2), (1, 0), (1, 1), (2, 1)],
        [(0, i) for i in range(5)],
        [(0, 0), (0, 1), (0, 2), (0, 3), (1, 3)],
        [(0, 0), (0, 1), (0, 2), (1, 2), (1, 3)],
        [(0, 0), (0, 1), (1, 0), (1, 1), (2, 0)],
        [(0, 0), (0, 1), (0, 2), (1, 1), (2, 1)],
        [(0, 0), (0, 2), (1, 0), (1, 1), (1, 2)],
        [(0, 0), (1, 0), (2, 0), (2, 1), (2, 2)],
        [(0, 0), (1, 0), (1, 1), (2, 1), (2, 2)],
        [(0, 1), (1, 0), (1, 1), (1, 2), (2, 1)],
        [(0, 0), (0, 1), (0, 2), (0, 3), (1, 1)],
        [(0, 0), (0, 1), (1, 1), (2, 1), (2, 2)],
    ],
}


def symmetries(cells):
    pts = np.array(cells)
    found = set()
    for m in ([[1, 0], [0, 1]], [[0, -1], [1, 0]], [[-1, 0], [0, -1]], [[0, 1], [-1, 0]]):
        for flip in ([[1, 0], [0, 1]], [[1, 0], [0, -1]]):
            t = pts @ np.array(m) @ np.array(flip)
            t -= t.min(axis=0)
            found.add(frozenset(map(tuple, t.tolist())))
    return found


def all_placements(size):
    """Every (size, frozenset of (r, c)) placement on the board, by brute force."""
    out = set()
    for n_cells, shapes in PIECES.items():
        for shape in shapes:
            for orient in symmetries(shape):
                for dr in range(size):
                    for dc in range(size):
                        cells = frozenset((r + dr, c + dc) for r, c in orient)
                        if all(r < size and c < size for r, c in cells):
                            out.add((n_cells, cells))
    return out


def table_placements(size):
    t = placement_table(size)
    return {(len(t.cells(p)), frozenset(divmod(int(c), size) for c in t.cells(p))) for p in range(t.n)}


def board(cells_by_seat):
    grid = np.full((N, N), -1, dtype=np.int8)
    for seat, cells in cells_by_seat.items():
        for r, c in cells:
            grid[r, c] = seat
    return grid


def pid(*cells):
    return placement_for("duo", cells)


def legal(game, *cells, seat=None):
    return bool(game.legal_mask(seat)[pid(*cells)])


def test_piece_set_is_the_standard_21():
    sizes = sorted(k for k, v in PIECES.items() for _ in v)
    assert len(PIECE_NAMES) == 21 and sizes == [1, 2, 3, 3] + [4] * 5 + [5] * 12 and sum(sizes) == 89
    assert sum(len(symmetries(s)) for v in PIECES.values() for s in v) == 91


def test_placement_table_matches_brute_force_and_stays_on_board():
    assert table_placements(N) == all_placements(N)
    assert placement_table(N).n == len(all_placements(N)) == 13729


@pytest.mark.parametrize(("size", "digest"), [(14, "fac668330ef79975"), (20, "d8de875cd407ae29")])
def test_placement_ids_are_stable(size, digest):
    """Stored games are lists of placement ids: the id -> (piece, cells) mapping must not move."""
    geom = placement_table(size).geom[:, :COL_EDGES]
    assert hashlib.sha256(repr(geom.tolist()).encode()).hexdigest()[:16] == digest
    assert placement_for("duo", [(0, 0)]) == 0 and PIECE_NAMES[0] == "I1"


def test_first_move_count_matches_brute_force():
    expected = {
        seat: sum(1 for _, cells in all_placements(N) if start in cells) for seat, start in ((A, (4, 4)), (B, (9, 9)))
    }
    game = BlokusGame("duo")
    assert game.legal_count(A) == int(game.legal_mask(A).sum()) == expected[A]
    assert game.legal_count(B) == expected[B] == expected[A] == 414


def test_first_piece_must_cover_own_start_square():
    game = BlokusGame("duo")
    assert game.current_player == A
    assert not legal(game, (0, 0), (0, 1))
    assert not legal(game, (9, 9), (9, 10)), "seat 0 cannot open on seat 1's start square"
    assert legal(game, (4, 4), (4, 5))
    with pytest.raises(IllegalMoveError):
        game.play(pid((0, 0), (0, 1)))
    game.play(pid((4, 4), (4, 5)))
    assert game.current_player == B
    assert not legal(game, (4, 6), (4, 7))
    assert all((9, 9) in game.cells_of(p) for p in np.flatnonzero(game.legal_mask(B)))


def test_later_pieces_need_own_corner_contact():
    game = BlokusGame("duo")
    game.play(pid((4, 4)))
    game.play(pid((9, 9)))
    assert legal(game, (5, 5), (5, 6))
    assert legal(game, (3, 3), (2, 3))
    assert not legal(game, (6, 6), (6, 7)), "no contact at all"
    assert not legal(game, (10, 10), (10, 11)), "corner contact with the opponent only"
    with pytest.raises(IllegalMoveError):
        game.play(pid((10, 10), (10, 11)))


def test_own_edge_contact_is_forbidden():
    game = BlokusGame("duo")
    game.play(pid((4, 4)))
    game.play(pid((9, 9)))
    assert not legal(game, (4, 5), (4, 6)), "edge contact only"
    assert not legal(game, (5, 4), (5, 5), (6, 5)), "corner contact plus edge contact"
    assert legal(game, (5, 5), (6, 5), (6, 4))


def test_opponent_edge_contact_is_allowed():
    game = BlokusGame("duo")
    held = np.ones((2, 21), dtype=np.uint8)
    held[:, 0] = 0
    game.set_position(board({A: [(4, 4)], B: [(5, 6), (6, 6), (9, 9)]}), held)
    assert legal(game, (5, 5), (6, 5)), "touches B along two edges"
    game.play(pid((5, 5), (6, 5)))
    assert game.board2d()[5, 5] == A


def test_no_overlap_with_any_piece():
    game = BlokusGame("duo")
    game.set_position(board({A: [(4, 4)], B: [(5, 6), (9, 9)]}))
    assert not legal(game, (5, 5), (5, 6)), "overlaps B"
    assert not legal(game, (3, 4), (4, 4)), "overlaps own piece"
    assert not legal(game, (5, 6), (6, 6), seat=B), "B overlaps itself"


def test_pieces_fit_flush_with_the_board_edge():
    game = BlokusGame("duo")
    held = np.ones((2, 21), dtype=np.uint8)
    held[A, 0] = 0
    game.set_position(board({A: [(12, 12)], B: [(9, 9)]}), held)
    assert legal(game, (11, 13), (10, 13))
    assert legal(game, (13, 11), (13, 10), (13, 9))
    corner = 13 * N + 13
    assert not any(game.legal_mask(A)[placement_table(N).covering(corner)]), "no piece but the monomino fits there"


def test_seat_without_a_legal_move_passes():
    held = np.zeros((2, 21), dtype=np.uint8)
    held[A, 1] = 1  # A holds only the domino
    held[B, [2, 5]] = 1  # B: I3 and O4
    game = BlokusGame("duo")
    game.set_position(
        board({A: [(4, 4)], B: [(3, 3), (3, 5), (5, 3), (5, 5), (9, 9)]}), held, last_piece=[0, 1], to_move=A
    )
    assert game.legal_count(A) == 0 and not game.done
    assert game.current_player == B, "A is skipped at once"
    game.play(int(np.flatnonzero(game.legal_mask())[0]))
    assert game.current_player == B and not game.done, "A still cannot move, B goes again"
    game.play(int(np.flatnonzero(game.legal_mask())[0]))
    assert game.done, "nobody can move"
    assert game.scores() == [-2, 15]


def test_game_ends_when_nobody_can_move_and_scores_bonuses():
    held = np.zeros((2, 21), dtype=np.uint8)
    held[A, 0] = 1  # only the monomino left
    game = BlokusGame("duo")
    game.set_position(board({A: [(4, 4), (4, 5)], B: [(3, 3), (5, 3), (5, 6), (9, 9)]}), held, last_piece=[3, 7])
    assert game.legal_count(A) == 1 and game.legal_count(B) == 0
    game.play(pid((3, 6)))
    assert game.done
    assert game.scores() == [20, 15]


def test_score_rules():
    held = np.ones(21, dtype=np.uint8)
    assert score(held, -1) == -89
    held[:] = 0
    held[[0, 20]] = 1
    assert score(held, 4) == -6
    held[:] = 0
    assert score(held, 0) == 20
    assert score(held, 12) == 15


def test_replay_returns_a_board_per_move():
    moves = [pid((4, 4), (4, 5)), pid((9, 9)), pid((5, 6), (6, 6), (6, 7))]
    boards = replay("duo", moves)
    assert len(boards) == 4 and boards[0].shape == (N, N) and boards[0].dtype == np.int8
    assert (boards[0] == -1).all()
    assert boards[3][6, 6] == A and boards[2][9, 9] == B and (boards[3] >= 0).sum() == 6
    with pytest.raises(IllegalMoveError):  # the monomino is already used
        replay("duo", [pid((4, 4)), pid((9, 9)), pid((5, 5))])
