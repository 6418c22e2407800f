"""Classic 4-seat Blokus rules on hand-made positions (engine level)."""

from __future__ import annotations

import numpy as np
import pytest
from trainyard_trainer.envs.blokus.engine import CLASSIC, BlokusGame, IllegalMoveError, placement_for
from trainyard_trainer.envs.blokus.pieces import PIECE_ORIENTATIONS, placement_table

pytestmark = pytest.mark.unit

N = 20
CORNERS = [(0, 0), (0, 19), (19, 19), (19, 0)]


def board(cells_by_seat):
    grid = np.full((N, N), -1, dtype=np.int8)
    for seat, cells in cells_by_seat.items():
        for r, c in cells:
            grid[r, c] = seat
    return grid


def pid(*cells):
    return placement_for("classic", cells)


def legal(game, *cells, seat=None):
    return bool(game.legal_mask(seat)[pid(*cells)])


def brute_force_first_moves(corner):
    """Placements covering ``corner``: every orientation (checked against an independent piece
    set in test_duo_rules) at every translation, without the placement tables."""
    count = 0
    for orients in PIECE_ORIENTATIONS:
        for orient in orients:
            for r0 in range(-4, N):
                for c0 in range(-4, N):
                    cells = {(r + r0, c + c0) for r, c in orient}
                    count += corner in cells and all(0 <= r < N and 0 <= c < N for r, c in cells)
    return count


def test_variant_shape():
    assert CLASSIC.size == N and CLASSIC.n_players == 4 and list(CLASSIC.starts) == CORNERS
    assert placement_table(N).n == 30433


@pytest.mark.parametrize("seat", range(4))
def test_first_move_must_cover_own_board_corner(seat):
    game = BlokusGame("classic")
    legal_ids = np.flatnonzero(game.legal_mask(seat))
    assert len(legal_ids) == game.legal_count(seat) == brute_force_first_moves(CORNERS[seat]) == 58
    assert all(CORNERS[seat] in game.cells_of(p) for p in legal_ids)
    assert not legal(game, (5, 5), seat=seat)


def test_turn_order_and_start_corners():
    game = BlokusGame("classic")
    for seat, corner in enumerate(CORNERS):
        assert game.current_player == seat
        assert not legal(game, CORNERS[(seat + 1) % 4])
        game.play(pid(corner))
    assert game.current_player == 0 and game.placements == 4


def test_corner_contact_required_and_own_edge_forbidden():
    game = BlokusGame("classic")
    for corner in CORNERS:
        game.play(pid(corner))
    assert legal(game, (1, 1), (1, 2))
    assert not legal(game, (0, 1), (0, 2)), "own edge contact"
    assert not legal(game, (1, 1), (1, 0)), "corner plus own edge contact"
    assert not legal(game, (3, 3), (3, 4)), "no contact"
    assert not legal(game, (1, 18), (1, 17)), "touches seat 1's corner only"
    with pytest.raises(IllegalMoveError):
        game.play(pid((3, 3), (3, 4)))


def test_opponent_contact_allowed_and_overlap_forbidden():
    held = np.ones((4, 21), dtype=np.uint8)
    held[:, 0] = 0
    game = BlokusGame("classic")
    game.set_position(board({0: [(0, 0)], 1: [(0, 19), (1, 2), (2, 2)], 2: [(19, 19)], 3: [(19, 0), (2, 1)]}), held)
    assert not legal(game, (1, 1), (2, 1)), "overlaps seat 3"
    assert not legal(game, (1, 1), (1, 2)), "overlaps seat 1"
    assert not legal(game, (1, 1), (0, 1)), "own edge contact with (0, 0)"
    assert not legal(game, (1, 1)), "monomino already used"
    game.set_position(board({0: [(0, 0)], 1: [(0, 19), (1, 2), (2, 2)], 2: [(19, 19)], 3: [(19, 0), (3, 1)]}), held)
    assert legal(game, (1, 1), (2, 1)), "edge contact with seats 1 and 3 is fine"
    game.play(pid((1, 1), (2, 1)))
    assert game.current_player == 1


def test_seats_without_moves_are_skipped_and_game_ends():
    held = np.zeros((4, 21), dtype=np.uint8)
    held[0, 0] = 1
    held[2, 0] = 1
    game = BlokusGame("classic")
    game.set_position(
        board({0: [(0, 0)], 1: [(0, 19)], 2: [(19, 19)], 3: [(19, 0)]}), held, last_piece=[4, 0, 4, 5], to_move=1
    )
    assert game.current_player == 2, "seat 1 has no pieces: skipped"
    game.play(pid((18, 18)))
    assert game.current_player == 0, "seat 3 skipped"
    game.play(pid((1, 1)))
    assert game.done
    assert game.scores() == [20, 20, 20, 15]


def test_scores_count_unplaced_squares_per_seat():
    held = np.ones((4, 21), dtype=np.uint8)
    held[1, 1:] = 0
    held[2, :] = 0
    held[3, :] = 0
    held[3, 20] = 1
    game = BlokusGame("classic")
    game.set_position(board({}), held, last_piece=[-1, 20, 3, 0])
    assert game.scores() == [-89, -1, 15, -5]
