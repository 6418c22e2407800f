"""Numba kernels for the Blokus rules on packed arrays (the hot paths).

Called only by ``engine.py`` (which owns the arrays) and ``opponents.py`` (greedy scoring).
Tables come from ``pieces.py``. State arrays, for P players on an n-cell board:

* ``board``  int8[n]: -1 empty, else the seat that covers the cell;
* ``flags``  uint8[P, n]: per player, ``FORBIDDEN`` (covered by anyone, or edge-adjacent to
  the player's own pieces), ``CORNER`` (diagonal to the player's own pieces, or the
  player's start square) and ``REACH`` (some placement through a usable corner of the
  player covers the cell); a cell is a *usable corner* when CORNER and not FORBIDDEN;
* ``has_piece`` uint8[P, 21]; ``mask`` bool[P, n_placements]; ``meta`` int32[META_LEN].

A placement is legal for p iff p still has its piece, none of its cells is FORBIDDEN for p
and at least one is a CORNER for p. The flags only ever get set, so ``play`` updates the
masks incrementally: placements over the covered cells are cleared for every player that
can reach the cell, placements over the mover's new edge cells and of the used piece for
the mover, and placements through the mover's *new* usable corners are checked and added
(candidates from ``cover_quad``, which already leaves out those that cannot fit).

Kernels use ``cache=True`` (``NUMBA_CACHE_DIR`` is respected) and compile lazily on first call.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .pieces import COL_CELLS, COL_CORNERS, COL_EDGES, COL_NCELL, COL_NCORNER, COL_NEDGE, COL_PIECE, COL_QUADS, N_PIECES

# Cached kernels freeze imported globals, and numba only re-compiles when *this* file changes:
# a change of the table layout in pieces.py must come with an edit here.
_LAYOUT = (COL_PIECE, COL_NCELL, COL_NEDGE, COL_NCORNER, COL_CELLS, COL_EDGES, COL_CORNERS, COL_QUADS, N_PIECES)
if _LAYOUT != (0, 1, 2, 3, 4, 9, 21, 29, 21):
    raise ImportError(f"pieces.py table layout {_LAYOUT} changed: update rules.py (and its numba cache)")

FORBIDDEN = np.uint8(1)
CORNER = np.uint8(2)
REACH = np.uint8(4)
_STATE = FORBIDDEN | CORNER

# meta layout
M_PLAYER, M_PLACED, M_DONE = 0, 1, 2
M_COUNT = 4  # legal placement count per seat (4 slots)
M_LAST = 8  # last piece placed per seat, -1 before the first (4 slots)
META_LEN = 12


@njit(cache=True, inline="always")
def _fits(body, flags, p, pid):
    """No cell of ``pid`` is FORBIDDEN for p (anchoring is the caller's business)."""
    for i in range(body[pid, 1]):  # noqa: SIM110 (plain loop for numba)
        if flags[p, body[pid, 2 + i]] & FORBIDDEN:
            return False
    return True


@njit(cache=True, inline="always")
def _clear(cover, cell, mask, meta, p):
    """Unset p's mask over every placement covering ``cell``."""
    removed = 0
    for j in range(cover[cell * N_PIECES], cover[(cell + 1) * N_PIECES]):
        pid = cover[j]
        removed += mask[p, pid]  # branch-free: most entries are already False
        mask[p, pid] = False
    meta[M_COUNT + p] -= removed


@njit(cache=True, inline="always")
def _open_corner(lst, base, reach, body, flags, has_piece, mask, p, k):
    """Make ``k`` a usable corner of p: mark its reach, add the placements through it that
    fit. Candidates per piece are ``lst`` groups ``base + piece`` (a ``cover`` or
    ``cover_quad`` list). Returns the number of placements added."""
    flags[p, k] |= CORNER
    for j in range(reach[k], reach[k + 1]):
        flags[p, reach[j]] |= REACH
    added = 0
    for piece in range(N_PIECES):
        if has_piece[p, piece] == 0:
            continue
        for j in range(lst[base + piece], lst[base + piece + 1]):
            y = lst[j]
            if not mask[p, y] and _fits(body, flags, p, y):
                mask[p, y] = True
                added += 1
    return added


@njit(cache=True, inline="always")
def _pass_to(meta, n_players, first):
    """Turn to the first seat from ``first`` on (cyclically) with a legal move, else game over."""
    for i in range(n_players):
        seat = (first + i) % n_players
        if meta[M_COUNT + seat] > 0:
            meta[M_PLAYER] = seat
            return
    meta[M_DONE] = 1


@njit(cache=True)
def reset(body, cover, reach, starts, board, flags, has_piece, mask, meta):
    """Empty board, full piece sets, start squares as the only corners, seat 0 to move."""
    board[:] = -1
    flags[:] = 0
    has_piece[:] = 1
    mask[:] = False
    meta[:] = 0
    for p in range(flags.shape[0]):
        meta[M_LAST + p] = -1
        s = starts[p]
        meta[M_COUNT + p] = _open_corner(cover, s * N_PIECES, reach, body, flags, has_piece, mask, p, s)


@njit(cache=True)
def play(geom, body, cover, cover_quad, by_piece, reach, board, flags, has_piece, mask, meta, pid):
    """Play ``pid`` for the seat to move, update every mask, pass to the next seat that can
    move (or end the game). Returns 0, or -1 (nothing changed) if the move is illegal."""
    n_players = flags.shape[0]
    q = meta[M_PLAYER]
    if meta[M_DONE] != 0 or pid < 0 or pid >= mask.shape[1] or not mask[q, pid]:
        return -1
    row = geom[pid]
    piece = row[COL_PIECE]
    for i in range(row[COL_NCELL]):
        c = row[COL_CELLS + i]
        board[c] = q
        for p in range(n_players):
            f = flags[p, c]
            if f & FORBIDDEN == 0:
                flags[p, c] = f | FORBIDDEN
                if f & REACH:
                    _clear(cover, c, mask, meta, p)
    for i in range(row[COL_NEDGE]):
        e = row[COL_EDGES + i]
        f = flags[q, e]
        if f & FORBIDDEN == 0:
            flags[q, e] = f | FORBIDDEN
            if f & REACH:
                _clear(cover, e, mask, meta, q)
    has_piece[q, piece] = 0
    removed = 0
    for j in range(by_piece[piece], by_piece[piece + 1]):
        y = by_piece[j]
        removed += mask[q, y]
        mask[q, y] = False
    added = 0
    for i in range(row[COL_NCORNER]):
        k = row[COL_CORNERS + i]
        if flags[q, k] & _STATE == 0:  # a new usable corner
            base = (k * 4 + row[COL_QUADS + i]) * N_PIECES
            added += _open_corner(cover_quad, base, reach, body, flags, has_piece, mask, q, k)
        else:
            flags[q, k] |= CORNER
    meta[M_COUNT + q] += added - removed
    meta[M_LAST + q] = piece
    meta[M_PLACED] += 1
    _pass_to(meta, n_players, (q + 1) % n_players)
    return 0


@njit(cache=True)
def rebuild(body, cover, reach, flags, has_piece, mask, meta):
    """Recompute REACH and every mask from scratch from the FORBIDDEN and CORNER flags, then
    give the turn to ``meta[M_PLAYER]`` or the next seat that can move (hand-set positions)."""
    n_players = flags.shape[0]
    mask[:] = False
    for p in range(n_players):
        count = 0
        for k in range(flags.shape[1]):
            flags[p, k] &= _STATE
        for k in range(flags.shape[1]):
            if flags[p, k] & _STATE == CORNER:
                count += _open_corner(cover, k * N_PIECES, reach, body, flags, has_piece, mask, p, k)
        meta[M_COUNT + p] = count
    meta[M_DONE] = 0
    _pass_to(meta, n_players, meta[M_PLAYER])


@njit(cache=True)
def observe(board, flags, has_piece, player, out):
    """Fill ``out`` (float32[P + 23, n]) from ``player``'s view: P planes of cells by seat
    relative to ``player`` (own first), own usable corners, opponents' usable corners, then
    21 constant planes, 1 where ``player`` still holds piece i."""
    n_players = flags.shape[0]
    out[:] = 0.0
    for c in range(board.shape[0]):
        b = board[c]
        if b >= 0:
            out[(b - player) % n_players, c] = 1.0
            continue
        if flags[player, c] & _STATE == CORNER:
            out[n_players, c] = 1.0
        for o in range(1, n_players):
            if flags[(player + o) % n_players, c] & _STATE == CORNER:
                out[n_players + 1, c] = 1.0
                break
    for i in range(has_piece.shape[1]):
        if has_piece[player, i]:
            out[n_players + 2 + i, :] = 1.0


@njit(cache=True, inline="always")
def _corner_gain(row, flags, player):
    """Change in (own usable corners - opponents' usable corners) if ``row`` is played."""
    gain = 0
    for i in range(row[COL_NCELL]):  # covered cells stop being anyone's usable corner
        c = row[COL_CELLS + i]
        for p in range(flags.shape[0]):
            if flags[p, c] & _STATE == CORNER:
                gain += -1 if p == player else 1
    for i in range(row[COL_NEDGE]):  # own usable corners lost to edge contact
        if flags[player, row[COL_EDGES + i]] & _STATE == CORNER:
            gain -= 1
    for i in range(row[COL_NCORNER]):  # new own usable corners
        if flags[player, row[COL_CORNERS + i]] & _STATE == 0:
            gain += 1
    return gain


@njit(cache=True)
def greedy_pick(geom, flags, mask, player, u):
    """Greedy choice for ``player``: among legal placements of the largest piece size, the one
    with the best ``_corner_gain``; ties broken by ``u`` in [0, 1). -1 if there is none."""
    best_size = 0
    for pid in range(mask.shape[1]):
        if mask[player, pid]:
            best_size = max(best_size, geom[pid, COL_NCELL])
    if best_size == 0:
        return -1
    best_gain, ties = -(1 << 30), 0
    for pid in range(mask.shape[1]):
        if mask[player, pid] and geom[pid, COL_NCELL] == best_size:
            gain = _corner_gain(geom[pid], flags, player)
            if gain > best_gain:
                best_gain, ties = gain, 1
            elif gain == best_gain:
                ties += 1
    target = min(int(u * ties), ties - 1)
    for pid in range(mask.shape[1]):
        if (
            mask[player, pid]
            and geom[pid, COL_NCELL] == best_size
            and _corner_gain(geom[pid], flags, player) == best_gain
        ):
            if target == 0:
                return pid
            target -= 1
    return -1


@njit(cache=True)
def random_games(geom, body, cover, cover_quad, by_piece, reach, starts, board, flags, has_piece, mask, meta, games,
                 seed):
    """Play ``games`` games of uniformly random legal moves from the empty board (masks
    maintained as in ``play``); returns the moves played. The engine's own speed without
    Python per move: what ``bench/env_speed.py`` sets against Pentobi's figure."""
    np.random.seed(seed)
    moves = 0
    for _ in range(games):
        reset(body, cover, reach, starts, board, flags, has_piece, mask, meta)
        while meta[M_DONE] == 0:
            p = meta[M_PLAYER]
            k = np.random.randint(meta[M_COUNT + p])
            pid = 0
            while True:  # the k-th legal placement: a scan of the mask
                if mask[p, pid]:
                    if k == 0:
                        break
                    k -= 1
                pid += 1
            play(geom, body, cover, cover_quad, by_piece, reach, board, flags, has_piece, mask, meta, pid)
            moves += 1
    return moves
