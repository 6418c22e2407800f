"""Blokus game state: the arrays the numba kernels in ``rules.py`` work on, behind a small API.

``BlokusGame`` is what ``env.py`` steps and what ``opponents.py`` reads; ``replay`` rebuilds
the boards of a stored move list for the API. Variants: ``duo`` (14x14, 2 seats, start
squares (4, 4) and (9, 9)) and ``classic`` (20x20, 4 seats, start at the board corners).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from . import rules
from .pieces import N_PIECES, PIECE_SIZES, PlacementTable, placement_table

MONOMINO = 0
ALL_PLACED_BONUS = 15
MONOMINO_LAST_BONUS = 20


@dataclass(frozen=True)
class Variant:
    """Board size, seat count and each seat's start square (row, col)."""

    name: str
    size: int
    n_players: int
    starts: tuple[tuple[int, int], ...]

    @property
    def n_planes(self) -> int:
        """Observation channels: a plane per seat, two corner planes, 21 piece planes."""
        return self.n_players + 2 + N_PIECES


DUO = Variant("duo", 14, 2, ((4, 4), (9, 9)))
CLASSIC = Variant("classic", 20, 4, ((0, 0), (0, 19), (19, 19), (19, 0)))
VARIANTS: dict[str, Variant] = {v.name: v for v in (DUO, CLASSIC)}


class IllegalMoveError(ValueError):
    """A placement that is not legal for the seat to move (or the game is over)."""


def _variant(variant: str | Variant) -> Variant:
    if isinstance(variant, Variant):
        return variant
    try:
        return VARIANTS[variant]
    except KeyError:
        raise ValueError(f"unknown Blokus variant {variant!r}; expected one of {sorted(VARIANTS)}") from None


def score(has_piece: np.ndarray, last_piece: int) -> int:
    """Standard score of one seat: -1 per unplaced square, +15 if all pieces are placed,
    +20 instead if the monomino was placed last."""
    left = int(np.dot(has_piece.astype(np.int64), PIECE_SIZES))
    if left:
        return -left
    return MONOMINO_LAST_BONUS if last_piece == MONOMINO else ALL_PLACED_BONUS


class BlokusGame:
    """One game: board, per-seat flags, pieces, incrementally maintained legal lists and masks.

    Seat 0 moves first; seats with no legal placement are skipped; the game ends when no
    seat can move. ``moves`` records the placement ids played, in order. The seat to move is
    always in sync; other seats are brought up to date when asked about (``rules.sync``).
    """

    _STATE = ("board", "flags", "has_piece", "legal", "_mask", "meta")

    def __init__(self, variant: str | Variant = "duo") -> None:
        self.variant = _variant(variant)
        v = self.variant
        cells = v.size * v.size
        self.board = np.full(cells, -1, dtype=np.int8)
        self.flags = np.zeros((v.n_players, cells), dtype=np.uint8)
        self.has_piece = np.ones((v.n_players, N_PIECES), dtype=np.uint8)
        n = placement_table(v.size).n
        self._mask = np.zeros((v.n_players, n), dtype=np.bool_)
        # per seat: its legal placement ids, the first legal_count(p) entries, in no order (one
        # spare slot: the kernels write a candidate before they know whether it is taken)
        self.legal = np.zeros((v.n_players, n + 1), dtype=np.int32)
        self.meta = np.zeros(rules.META_LEN, dtype=np.int32)
        self.moves: list[int] = []
        self._bind()
        self.reset()

    def _bind(self) -> None:
        """Derived attributes: shared tables, read-only mask views, the kernels' argument tuple."""
        v = self.variant
        self.table: PlacementTable = placement_table(v.size)
        self._starts = np.array([r * v.size + c for r, c in v.starts], dtype=np.int32)
        views = []
        for p in range(v.n_players):
            view = self._mask[p].view()
            view.flags.writeable = False
            views.append(view)
        self._views = tuple(views)
        t = self.table
        self._args = (
            t.geom,
            t.body,
            t.cover_quad,
            self.board,
            self.flags,
            self.has_piece,
            self.legal,
            self._mask,
            self.meta,
        )
        self._sync_args = (t.geom, t.body, t.cover_quad, self.flags, self.has_piece, self.legal, self._mask, self.meta)

    def __getstate__(self) -> dict:
        return {"variant": self.variant, "moves": list(self.moves), **{k: getattr(self, k) for k in self._STATE}}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._bind()

    def reset(self) -> None:
        """Empty board, every seat holds all pieces, seat 0 to move."""
        t = self.table
        rules.reset(
            t.body, t.cover, self._starts, self.board, self.flags, self.has_piece, self.legal, self._mask, self.meta
        )
        self.moves = []

    def play(self, pid: int) -> None:
        """Play placement ``pid`` for the seat to move; raises ``IllegalMoveError``."""
        pid = int(pid)  # one numba specialisation whatever integer type the caller has
        if rules.play(*self._args, pid) != 0:
            raise IllegalMoveError(f"placement {pid} is not legal for seat {self.current_player} (done={self.done})")
        self.moves.append(pid)

    @property
    def current_player(self) -> int:
        return int(self.meta[rules.M_PLAYER])

    @property
    def done(self) -> bool:
        return bool(self.meta[rules.M_DONE])

    @property
    def placements(self) -> int:
        """Pieces placed so far by all seats."""
        return int(self.meta[rules.M_PLACED])

    def _sync(self, player: int) -> None:
        rules.sync(*self._sync_args, player)

    @property
    def mask(self) -> np.ndarray:
        """bool[P, n_placements]: every seat's legal placements (brings every seat in sync);
        valid until the next move or reset."""
        for p in range(self.variant.n_players):
            self._sync(p)
        return self._mask

    def legal_mask(self, player: int | None = None) -> np.ndarray:
        """Read-only view of a seat's legal placements; valid until the next move or reset."""
        if player is None:
            return self._views[int(self.meta[rules.M_PLAYER])]  # the seat to move is in sync
        self._sync(player)
        return self._views[player]

    def legal_moves(self, player: int | None = None) -> np.ndarray:
        """Sorted legal placement ids of a seat (a new array)."""
        return np.flatnonzero(self.legal_mask(player))

    def random_move(self, rng: np.random.Generator) -> int:
        """A uniformly random legal placement of the seat to move."""
        ids = self.legal_moves()
        return int(ids[rng.integers(len(ids))])

    def legal_count(self, player: int | None = None) -> int:
        p = self.current_player if player is None else player
        self._sync(p)
        return int(self.meta[rules.M_COUNT + p])

    def last_piece(self, player: int) -> int:
        return int(self.meta[rules.M_LAST + player])

    def scores(self) -> list[int]:
        """Current standard score of every seat (final once ``done``)."""
        return [score(self.has_piece[p], self.last_piece(p)) for p in range(self.variant.n_players)]

    def observe(self, player: int, out: np.ndarray | None = None) -> np.ndarray:
        """Observation float32[C, H, W] from ``player``'s view (see ``rules.observe``); ``out``,
        if given, must be a C-contiguous float32 array of that shape."""
        v = self.variant
        if out is None:
            out = np.empty((v.n_planes, v.size, v.size), dtype=np.float32)
        rules.observe(self.board, self.flags, self.has_piece, player, out.reshape(v.n_planes, -1))
        return out

    def board2d(self) -> np.ndarray:
        """Copy of the board as int8[H, W]: -1 empty, else the seat."""
        return self.board.reshape(self.variant.size, self.variant.size).copy()

    def usable_corners(self, player: int) -> np.ndarray:
        """bool[H, W]: cells diagonal to ``player``'s pieces (or its unused start square) that
        are empty and not edge-adjacent to its pieces."""
        usable = (self.flags[player] & (rules.FORBIDDEN | rules.CORNER)) == rules.CORNER
        return usable.reshape(self.variant.size, self.variant.size)

    def set_position(
        self,
        board: np.ndarray,
        has_piece: np.ndarray | None = None,
        last_piece: Sequence[int] | None = None,
        to_move: int = 0,
    ) -> None:
        """Load a hand-made position and rebuild every flag and mask from scratch.

        ``board`` int[H, W] (-1 empty, else seat); ``has_piece`` [P, 21] (default: all held);
        ``last_piece`` per seat (default -1). A seat with no cell on the board still needs its
        start square. The turn goes to ``to_move`` or the next seat that can move.
        ``moves`` is cleared: the history of a loaded position is unknown.
        """
        v = self.variant
        grid = np.asarray(board, dtype=np.int8).reshape(v.size, v.size)
        held = np.ones_like(self.has_piece) if has_piece is None else np.asarray(has_piece, dtype=np.uint8)
        self.board[:] = grid.ravel()
        self.has_piece[:] = held
        padded = np.pad(grid, 1, constant_values=-1)
        for p, start in enumerate(v.starts):
            own = padded == p
            edge = _shifted_any(own, ((-1, 0), (1, 0), (0, -1), (0, 1)))
            diag = _shifted_any(own, ((-1, -1), (-1, 1), (1, -1), (1, 1)))
            if not own.any():
                diag[start] = True
            flags = np.where((grid >= 0) | edge, rules.FORBIDDEN, 0) | np.where(diag, rules.CORNER, 0)
            self.flags[p] = flags.ravel()
        self.meta[:] = 0
        self.meta[rules.M_PLAYER] = to_move
        self.meta[rules.M_PLACED] = int((1 - held).sum())
        for p in range(v.n_players):
            self.meta[rules.M_LAST + p] = -1 if last_piece is None else last_piece[p]
        t = self.table
        rules.rebuild(
            t.geom, t.body, t.cover, t.cover_quad, self.flags, self.has_piece, self.legal, self._mask, self.meta
        )
        self.moves = []

    def random_games(self, games: int, seed: int) -> int:
        """Play ``games`` uniformly random games inside the engine (no Python per move; the
        game is left at the end of the last one); returns the moves played. For benchmarks."""
        t = self.table
        moves = rules.random_games(
            t.geom,
            t.body,
            t.cover,
            t.cover_quad,
            self._starts,
            self.board,
            self.flags,
            self.has_piece,
            self.legal,
            self._mask,
            self.meta,
            games,
            seed,
        )
        self.moves = []
        return int(moves)

    def perft(self, depth: int) -> int:
        """Leaves of the move tree ``depth`` moves deep from here (see ``rules.perft``)."""
        return int(rules.perft(*self._args, depth))

    def copy(self) -> BlokusGame:
        """Independent copy (tables shared), e.g. to try a move."""
        other = BlokusGame.__new__(BlokusGame)
        state = self.__getstate__()
        other.__setstate__({k: v.copy() if isinstance(v, np.ndarray) else v for k, v in state.items()})
        return other

    def cells_of(self, pid: int) -> list[tuple[int, int]]:
        """(row, col) cells covered by placement ``pid``."""
        return [divmod(int(c), self.variant.size) for c in self.table.cells(pid)]


def _shifted_any(padded: np.ndarray, offsets: Iterable[tuple[int, int]]) -> np.ndarray:
    """bool[H, W]: some cell at one of ``offsets`` from each cell is set in ``padded``."""
    h, w = padded.shape[0] - 2, padded.shape[1] - 2
    out = np.zeros((h, w), dtype=bool)
    for dr, dc in offsets:
        out |= padded[1 + dr : 1 + dr + h, 1 + dc : 1 + dc + w]
    return out


def replay(variant: str | Variant, moves: Iterable[int]) -> list[np.ndarray]:
    """Boards (int8[H, W], -1 empty else seat) before the first move and after each move of
    ``moves`` (placement ids in play order; passes are implicit). Raises ``IllegalMoveError``."""
    game = BlokusGame(variant)
    boards = [game.board2d()]
    for pid in moves:
        game.play(int(pid))
        boards.append(game.board2d())
    return boards


def placement_for(variant: str | Variant, cells: Sequence[tuple[int, int]]) -> int:
    """Placement id covering exactly ``cells`` ((row, col) pairs); for tests and tools."""
    v = _variant(variant)
    table = placement_table(v.size)
    target = sorted(r * v.size + c for r, c in cells)
    first = target[0]
    for pid in table.covering(first):
        if sorted(table.cells(int(pid)).tolist()) == target:
            return int(pid)
    raise ValueError(f"no piece covers exactly {list(cells)}")
