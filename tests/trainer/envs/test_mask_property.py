"""Property: after the moves of many random games, the incrementally maintained legal masks
and lists (and the usable-corner planes) equal a from-scratch recomputation written here with
numpy straight from the rules, independent of the engine's flags. Half the games check after
every move; the others only now and then, so the lazily updated seats go stale over several
moves first."""

from __future__ import annotations

import numpy as np
import pytest
from trainyard_trainer.envs.blokus.engine import BlokusGame
from trainyard_trainer.envs.blokus.opponents import GreedyOpponent
from trainyard_trainer.envs.blokus.pieces import COL_CELLS, COL_PIECE, MAX_CELLS

pytestmark = pytest.mark.unit

GAMES_PER_VARIANT = 60
EDGES = ((-1, 0), (1, 0), (0, -1), (0, 1))
DIAGONALS = ((-1, -1), (-1, 1), (1, -1), (1, 1))


def _around(own, offsets):
    n = own.shape[0] - 2
    out = np.zeros((n, n), dtype=bool)
    for dr, dc in offsets:
        out |= own[1 + dr : 1 + dr + n, 1 + dc : 1 + dc + n]
    return out


def reference(game):
    """(masks bool[P, n_placements], usable corners bool[P, H*W]) from the board and pieces."""
    v, table = game.variant, game.table
    n_cells = v.size * v.size
    grid = game.board.reshape(v.size, v.size)
    padded = np.pad(grid, 1, constant_values=-1)
    blocked = np.zeros((v.n_players, n_cells), dtype=bool)
    anchor = np.zeros((v.n_players, n_cells), dtype=bool)
    bits = np.zeros(n_cells + 1, dtype=np.uint8)  # extra neutral cell for the -1 padding
    for p in range(v.n_players):
        own = padded == p
        blocked[p] = ((grid >= 0) | _around(own, EDGES)).ravel()
        diag = _around(own, DIAGONALS)
        if not own.any():
            diag[v.starts[p]] = True
        anchor[p] = diag.ravel()
        bits[:n_cells] |= (blocked[p].astype(np.uint8) << p) | (anchor[p].astype(np.uint8) << (4 + p))
    cells = table.geom[:, COL_CELLS : COL_CELLS + MAX_CELLS]
    idx = np.where(cells >= 0, cells, n_cells)
    seen = np.zeros(table.n, dtype=np.uint8)  # per placement: OR of its cells' bits
    for j in range(MAX_CELLS):
        seen |= bits[idx[:, j]]
    masks = np.zeros((v.n_players, table.n), dtype=bool)
    for p in range(v.n_players):
        held = game.has_piece[p, table.geom[:, COL_PIECE]].astype(bool)
        masks[p] = held & ((seen >> p) & 1 == 0) & ((seen >> (4 + p)) & 1 == 1)
    return masks, anchor & ~blocked


def check(game):
    masks, corners = reference(game)
    n_players = game.variant.n_players
    if not game.done:  # the seat to move first, read without bringing the other seats in sync
        seat = game.current_player
        assert np.array_equal(game.legal_mask(), masks[seat])
        assert sorted(game.legal[seat, : int(masks[seat].sum())].tolist()) == np.flatnonzero(masks[seat]).tolist()
    assert np.array_equal(game.mask, masks)
    for p in range(n_players):
        assert game.legal_count(p) == int(masks[p].sum())
        assert np.array_equal(game.usable_corners(p).ravel(), corners[p])
    if game.done:
        assert not masks.any()
    else:
        assert masks[game.current_player].any()


@pytest.mark.parametrize("variant", ["duo", "classic"])
def test_incremental_masks_equal_recomputation(variant):
    game = BlokusGame(variant)
    greedy = GreedyOpponent()
    moves = 0
    for i in range(GAMES_PER_VARIANT):
        rng = np.random.default_rng(1000 + i)
        game.reset()
        check(game)
        while not game.done:
            if i % 3 == 2 and rng.random() < 0.5:  # some games mix in greedy moves (denser boards)
                action = greedy.select(game, game.legal_mask(), rng)
            else:
                action = rng.choice(np.flatnonzero(game.legal_mask()))
            game.play(int(action))
            if i % 2 or rng.random() < 0.3 or game.done:
                check(game)
            moves += 1
    assert moves > GAMES_PER_VARIANT * 20


@pytest.mark.parametrize("variant", ["duo", "classic"])
def test_set_position_rebuild_equals_incremental_state(variant):
    game, loaded = BlokusGame(variant), BlokusGame(variant)
    rng = np.random.default_rng(7)
    for _ in range(10):
        game.reset()
        while not game.done:
            game.play(int(rng.choice(np.flatnonzero(game.legal_mask()))))
            if rng.random() < 0.3 or game.done:
                last = [game.last_piece(p) for p in range(game.variant.n_players)]
                loaded.set_position(game.board2d(), game.has_piece, last, game.current_player)
                np.testing.assert_array_equal(loaded.mask, game.mask)
                np.testing.assert_array_equal(loaded.meta, game.meta)


@pytest.mark.parametrize("variant", ["duo", "classic"])
def test_observation_planes_follow_the_viewer(variant):
    game = BlokusGame(variant)
    rng = np.random.default_rng(3)
    n_players = game.variant.n_players
    for _ in range(15):
        game.play(int(rng.choice(np.flatnonzero(game.legal_mask()))))
    grid = game.board2d()
    _, corners = reference(game)
    size = game.variant.size
    for viewer in range(n_players):
        obs = game.observe(viewer)
        assert obs.shape == (n_players + 23, size, size) and obs.dtype == np.float32
        for k in range(n_players):
            np.testing.assert_array_equal(obs[k], grid == (viewer + k) % n_players)
        np.testing.assert_array_equal(obs[n_players].ravel(), corners[viewer])
        others = np.any([corners[(viewer + k) % n_players] for k in range(1, n_players)], axis=0)
        np.testing.assert_array_equal(obs[n_players + 1].ravel(), others)
        for i in range(21):
            assert (obs[n_players + 2 + i] == game.has_piece[viewer, i]).all()
