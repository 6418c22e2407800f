"""Numba kernels for the Blokus rules on packed arrays (the hot paths).

Called only by ``engine.py`` (which owns the arrays) and ``opponents.py`` (greedy scoring).
Tables come from ``pieces.py``. State arrays, for P players on an n-cell board and N placements:

* ``board``  int8[n]: -1 empty, else the seat that covers the cell;
* ``flags``  uint8[P, n]: per player, ``FORBIDDEN`` (covered by anyone, or edge-adjacent to
  the player's own pieces) and ``CORNER`` (diagonal to the player's own pieces, or the
  player's start square); a cell is a *usable corner* when CORNER and not FORBIDDEN;
* ``has_piece`` uint8[P, 21];
* ``legal`` int32[P, N + 1]: per seat a list of its legal placements (the first
  ``meta[M_COUNT + p]`` entries, in no particular order) and ``mask`` bool[P, N], the same set
  as a mask (what the policy reads): a placement is in the list iff its mask entry is set;
* ``meta`` int32[META_LEN].

A placement is legal for p iff p still has its piece, none of its cells is FORBIDDEN for p
and at least one is a CORNER for p. The flags only ever get set, so a placement that became
illegal never comes back, and a new legal placement always runs through a corner that the
seat's own last move opened. The lists are therefore kept the way the fast engines (Pentobi)
keep theirs, lazily per seat: ``play`` only sets flags and marks every seat stale; ``sync``
brings one seat up to date when it is needed (the seat to move, or a query): one pass over
its list drops what a move since made illegal (a piece check and at most five flag reads per
placement), then the placements through the corners its last move opened are added from
``cover_quad`` (the per-cell, per-side candidate lists that already leave out placements
over the two cells that are always forbidden there). The seat to move is always in sync, so
its mask is exact; the mask of another seat is exact after ``sync``. A uniformly random
legal move is one index into the list. Passing needs the next seat's count, so ``play`` syncs
seats in turn order until one can move.

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
_STATE = FORBIDDEN | CORNER

# meta layout (4 slots per seat field)
M_PLAYER, M_PLACED, M_DONE = 0, 1, 2
M_COUNT = 4  # length of the seat's legal list (its legal placement count once in sync)
M_LAST = 8  # last piece placed per seat, -1 before the first
M_STALE = 12  # 1: a move since the seat's last sync may have changed its legal placements
M_PEND = 16  # the seat's own last move if the corners it opened are not expanded yet, else -1
M_PEND_BITS = 20  # bit i: corner column i of that move was a new usable corner
META_LEN = 24


@njit(cache=True, inline="always")
def _fits(body, flags, p, pid):
    """No cell of ``pid`` is FORBIDDEN for p (anchoring is the caller's business). Branch-free:
    ``body`` pads a piece's cells with its first cell."""
    f = flags[p]
    b = body[pid]
    return (f[b[2]] | f[b[3]] | f[b[4]] | f[b[5]] | f[b[6]]) & FORBIDDEN == 0


@njit(cache=True, inline="always")
def _add_through(lst, base, body, flags, has_piece, legal, mask, meta, p):
    """Append to p's list the placements of ``lst`` groups ``base + piece`` (a ``cover`` or
    ``cover_quad`` list: the candidates through one corner) of held pieces that fit and are
    not listed yet. Branch-free inside a group: the entry is always written, the count only
    grows when it is taken."""
    n = meta[M_COUNT + p]
    for piece in range(N_PIECES):
        if has_piece[p, piece] == 0:
            continue
        for j in range(lst[base + piece], lst[base + piece + 1]):
            y = lst[j]
            ok = (not mask[p, y]) & _fits(body, flags, p, y)
            legal[p, n] = y
            n += ok
            mask[p, y] |= ok
    meta[M_COUNT + p] = n


@njit(cache=True)
def sync(geom, body, cover_quad, flags, has_piece, legal, mask, meta, p):
    """Bring seat p's list and mask up to date; returns its legal placement count."""
    if meta[M_STALE + p] == 0:
        return meta[M_COUNT + p]
    meta[M_STALE + p] = 0
    kept = 0
    for i in range(meta[M_COUNT + p]):  # branch-free compaction: most placements stay
        y = legal[p, i]
        ok = (has_piece[p, body[y, 0]] != 0) & _fits(body, flags, p, y)
        legal[p, kept] = y
        kept += ok
        mask[p, y] = ok
    meta[M_COUNT + p] = kept
    pid = meta[M_PEND + p]
    if pid >= 0:
        bits = meta[M_PEND_BITS + p]
        meta[M_PEND + p] = -1
        meta[M_PEND_BITS + p] = 0
        row = geom[pid]
        for i in range(row[COL_NCORNER]):
            k = row[COL_CORNERS + i]
            if (bits >> i) & 1 and flags[p, k] & FORBIDDEN == 0:
                base = (k * 4 + row[COL_QUADS + i]) * N_PIECES
                _add_through(cover_quad, base, body, flags, has_piece, legal, mask, meta, p)
    return meta[M_COUNT + p]


@njit(cache=True)
def _pass_to(geom, body, cover_quad, flags, has_piece, legal, mask, meta, first):
    """Turn to the first seat from ``first`` on (cyclically) with a legal move, else game over."""
    n_players = flags.shape[0]
    for i in range(n_players):
        seat = (first + i) % n_players
        if sync(geom, body, cover_quad, flags, has_piece, legal, mask, meta, seat) > 0:
            meta[M_PLAYER] = seat
            return
    meta[M_DONE] = 1


@njit(cache=True)
def reset(body, cover, starts, board, flags, has_piece, legal, mask, meta):
    """Empty board, full piece sets, start squares as the only corners, seat 0 to move."""
    board[:] = -1
    flags[:] = 0
    has_piece[:] = 1
    mask[:] = False
    meta[:] = 0
    for p in range(flags.shape[0]):
        meta[M_LAST + p] = -1
        meta[M_PEND + p] = -1
        s = starts[p]
        flags[p, s] |= CORNER
        _add_through(cover, s * N_PIECES, body, flags, has_piece, legal, mask, meta, p)


@njit(cache=True)
def play(geom, body, cover_quad, board, flags, has_piece, legal, mask, meta, pid):
    """Play ``pid`` for the seat to move, mark every seat stale, pass to the next seat that
    can move (or end the game). Returns 0, or -1 (nothing changed) if the move is illegal."""
    n_players = flags.shape[0]
    q = meta[M_PLAYER]
    if meta[M_DONE] != 0 or pid < 0 or pid >= mask.shape[1] or not mask[q, pid]:
        return -1
    row = geom[pid]
    for i in range(row[COL_NCELL]):
        c = row[COL_CELLS + i]
        board[c] = q
        for p in range(n_players):
            flags[p, c] |= FORBIDDEN
    for i in range(row[COL_NEDGE]):
        flags[q, row[COL_EDGES + i]] |= FORBIDDEN
    bits = 0
    for i in range(row[COL_NCORNER]):
        k = row[COL_CORNERS + i]
        if flags[q, k] & _STATE == 0:  # a new usable corner
            bits |= 1 << i
        flags[q, k] |= CORNER
    has_piece[q, row[COL_PIECE]] = 0
    for p in range(n_players):
        meta[M_STALE + p] = 1
    meta[M_PEND + q] = pid
    meta[M_PEND_BITS + q] = bits
    meta[M_LAST + q] = row[COL_PIECE]
    meta[M_PLACED] += 1
    _pass_to(geom, body, cover_quad, flags, has_piece, legal, mask, meta, (q + 1) % n_players)
    return 0


@njit(cache=True)
def rebuild(geom, body, cover, cover_quad, flags, has_piece, legal, mask, meta):
    """Recompute every list and mask from scratch from the FORBIDDEN and CORNER flags, then
    give the turn to ``meta[M_PLAYER]`` or the next seat that can move (hand-set positions)."""
    n_players = flags.shape[0]
    mask[:] = False
    for p in range(n_players):
        meta[M_COUNT + p] = 0
        meta[M_STALE + p] = 0
        meta[M_PEND + p] = -1
        meta[M_PEND_BITS + p] = 0
        for k in range(flags.shape[1]):
            if flags[p, k] & _STATE == CORNER:
                _add_through(cover, k * N_PIECES, body, flags, has_piece, legal, mask, meta, p)
    meta[M_DONE] = 0
    _pass_to(geom, body, cover_quad, flags, has_piece, legal, mask, meta, meta[M_PLAYER])


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
def greedy_pick(geom, flags, legal, meta, player, u):
    """Greedy choice for ``player`` (in sync): among legal placements of the largest piece
    size, the one with the best ``_corner_gain``; ties broken by ``u`` in [0, 1) over the
    tied placements in id order (so the choice does not depend on the list's order). -1 if
    there is none."""
    n = meta[M_COUNT + player]
    best_size = 0
    for i in range(n):
        best_size = max(best_size, geom[legal[player, i], COL_NCELL])
    if best_size == 0:
        return -1
    ties = np.empty(n, dtype=np.int32)
    best_gain, n_ties = -(1 << 30), 0
    for i in range(n):
        pid = legal[player, i]
        if geom[pid, COL_NCELL] != best_size:
            continue
        gain = _corner_gain(geom[pid], flags, player)
        if gain > best_gain:
            best_gain, n_ties = gain, 0
        if gain == best_gain:
            ties[n_ties] = pid
            n_ties += 1
    chosen = np.sort(ties[:n_ties])
    return chosen[min(int(u * n_ties), n_ties - 1)]


@njit(cache=True)
def random_games(geom, body, cover, cover_quad, starts, board, flags, has_piece, legal, mask, meta, games, seed):
    """Play ``games`` games of uniformly random legal moves from the empty board (lists and
    masks maintained as in ``play``); returns the moves played. The engine's own speed
    without Python per move: what ``bench/env_speed.py`` sets against Pentobi's figure."""
    np.random.seed(seed)
    moves = 0
    for _ in range(games):
        reset(body, cover, starts, board, flags, has_piece, legal, mask, meta)
        while meta[M_DONE] == 0:
            p = meta[M_PLAYER]
            pid = legal[p, np.random.randint(meta[M_COUNT + p])]
            play(geom, body, cover_quad, board, flags, has_piece, legal, mask, meta, pid)
            moves += 1
    return moves


@njit(cache=True)
def perft(geom, body, cover_quad, board, flags, has_piece, legal, mask, meta, depth):
    """Leaves of the move tree ``depth`` moves deep from this position (a finished game is one
    leaf; passes are not moves). Children are played on copies, so the position is left as it
    was. For the perft tests."""
    if depth == 0 or meta[M_DONE] != 0:
        return 1
    q = meta[M_PLAYER]
    n = meta[M_COUNT + q]
    if depth == 1:
        return n
    total = 0
    for i in range(n):
        c_board, c_flags, c_has, c_mask, c_meta = board.copy(), flags.copy(), has_piece.copy(), mask.copy(), meta.copy()
        c_legal = legal.copy()
        play(geom, body, cover_quad, c_board, c_flags, c_has, c_legal, c_mask, c_meta, legal[q, i])
        total += perft(geom, body, cover_quad, c_board, c_flags, c_has, c_legal, c_mask, c_meta, depth - 1)
    return total
