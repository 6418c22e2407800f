"""The 21 Blokus pieces and the placement tables built from them.

Pure data, no rules: ``engine.py`` reads the packed arrays of a :class:`PlacementTable`;
``env.py`` uses ``n`` as the size of the action space. A placement id is an index into the
table and is stable: pieces in :data:`PIECE_NAMES` order, then each piece's orientations in
sorted order, then the top-left origin row-major. Stored evaluation games depend on it.
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)

# Rows of '#' and '.' per piece; the monomino is piece 0 (scoring bonus refers to it).
_SHAPES: dict[str, tuple[str, ...]] = {
    "I1": ("#",),
    "I2": ("##",),
    "I3": ("###",),
    "V3": ("##", "#."),
    "I4": ("####",),
    "O4": ("##", "##"),
    "T4": ("###", ".#."),
    "L4": ("###", "#.."),
    "Z4": ("##.", ".##"),
    "F5": (".##", "##.", ".#."),
    "I5": ("#####",),
    "L5": ("####", "#..."),
    "N5": ("##..", ".###"),
    "P5": ("##", "##", "#."),
    "T5": ("###", ".#.", ".#."),
    "U5": ("#.#", "###"),
    "V5": ("#..", "#..", "###"),
    "W5": ("#..", "##.", ".##"),
    "X5": (".#.", "###", ".#."),
    "Y5": ("####", ".#.."),
    "Z5": ("##.", ".#.", ".##"),
}

PIECE_NAMES: tuple[str, ...] = tuple(_SHAPES)
N_PIECES = len(PIECE_NAMES)
MAX_CELLS = 5
MAX_EDGES = 12  # asserted below; the engine sizes its loops from the packed columns
MAX_CORNERS = 8

# Column layout of PlacementTable.geom (one int32 row per placement).
COL_PIECE, COL_NCELL, COL_NEDGE, COL_NCORNER = 0, 1, 2, 3
COL_CELLS = 4
COL_EDGES = COL_CELLS + MAX_CELLS
COL_CORNERS = COL_EDGES + MAX_EDGES
COL_QUADS = COL_CORNERS + MAX_CORNERS
GEOM_WIDTH = COL_QUADS + MAX_CORNERS

# A corner's quadrant names the diagonal (dr, dc) from the corner to a cell of its piece.
QUADRANTS: tuple[tuple[int, int], ...] = ((-1, -1), (-1, 1), (1, -1), (1, 1))

Cells = tuple[tuple[int, int], ...]


def _normalise(cells: set[tuple[int, int]]) -> Cells:
    r0 = min(r for r, _ in cells)
    c0 = min(c for _, c in cells)
    return tuple(sorted((r - r0, c - c0) for r, c in cells))


def base_cells(name: str) -> Cells:
    """The piece's cells as drawn in ``_SHAPES``, normalised to the origin."""
    rows = _SHAPES[name]
    return _normalise({(r, c) for r, row in enumerate(rows) for c, ch in enumerate(row) if ch == "#"})


def orientations(cells: Cells) -> list[Cells]:
    """All distinct rotations and reflections of a shape, sorted."""
    found: set[Cells] = set()
    shape = set(cells)
    for _ in range(4):
        shape = {(c, -r) for r, c in shape}
        found.add(_normalise(shape))
        found.add(_normalise({(r, -c) for r, c in shape}))
    return sorted(found)


PIECE_SIZES: tuple[int, ...] = tuple(len(base_cells(n)) for n in PIECE_NAMES)
PIECE_ORIENTATIONS: tuple[tuple[Cells, ...], ...] = tuple(tuple(orientations(base_cells(n))) for n in PIECE_NAMES)
N_ORIENTATIONS = sum(map(len, PIECE_ORIENTATIONS))  # 91


def _rim(cells: Cells) -> tuple[Cells, Cells, tuple[int, ...]]:
    """Edge neighbours, corner-only (diagonal, not edge) neighbours and each corner's quadrant."""
    shape = set(cells)
    edges = {(r + dr, c + dc) for r, c in shape for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1))}
    edges -= shape
    diag = {(r + dr, c + dc) for r, c in shape for dr, dc in QUADRANTS}
    corners = sorted(diag - shape - edges)
    quads = tuple(next(i for i, (dr, dc) in enumerate(QUADRANTS) if (r + dr, c + dc) in shape) for r, c in corners)
    return tuple(sorted(edges)), tuple(corners), quads


@dataclass(frozen=True, eq=False)
class PlacementTable:
    """Every placement of every orientation on a ``size`` x ``size`` board.

    * ``geom`` int32[n, GEOM_WIDTH]: piece, cell/edge/corner counts, then the flat cell ids
      (``row * size + col``) of the cells, in-board edge neighbours and in-board corner-only
      neighbours, each padded with -1;
    * ``body`` int16[n, 7]: piece, cell count, five cells (a smaller piece's first cell
      repeated): the compact copy legality checks read without a loop;
    * ``cover``: CSR list (the head holds absolute offsets into the same array) keyed by
      ``cell * N_PIECES + piece``: the placements of a piece covering a cell, so a cell's
      whole list runs from ``cover[cell * N_PIECES]`` to ``cover[(cell + 1) * N_PIECES]``;
    * ``cover_quad``: like ``cover`` keyed by ``(cell * 4 + quadrant) * N_PIECES + piece``,
      leaving out placements over the two cells that are edge neighbours of both the cell and
      its quadrant's diagonal cell (those are always forbidden when the cell became a corner
      from that side): the candidates when a corner opens;
    * ``orientation`` int16[n]: the placement's piece orientation, counted over all pieces in
      table order (0..N_ORIENTATIONS-1): what the board-shaped policy head is indexed by.
    """

    size: int
    geom: np.ndarray
    body: np.ndarray
    cover: np.ndarray
    cover_quad: np.ndarray
    orientation: np.ndarray

    @property
    def n(self) -> int:
        return int(self.geom.shape[0])

    @property
    def piece(self) -> np.ndarray:
        return self.geom[:, COL_PIECE]

    def cells(self, pid: int) -> np.ndarray:
        """Flat cell ids covered by placement ``pid``."""
        row = self.geom[pid]
        return row[COL_CELLS : COL_CELLS + row[COL_NCELL]]

    def covering(self, cell: int) -> np.ndarray:
        """Placement ids covering flat cell id ``cell``."""
        return self.cover[self.cover[cell * N_PIECES] : self.cover[(cell + 1) * N_PIECES]]


def _csr(keys: np.ndarray, values: np.ndarray, n_keys: int) -> np.ndarray:
    """One int32 array: ``n_keys + 1`` absolute offsets, then ``values`` grouped by key
    (stable, so values keep their order within a key)."""
    order = np.argsort(keys, kind="stable")
    bounds = np.searchsorted(keys[order], np.arange(n_keys + 1))
    return np.concatenate([bounds + n_keys + 1, values[order]]).astype(np.int32)


def _flat(points: Cells, size: int, dr: int, dc: int) -> list[int]:
    return [(r + dr) * size + c + dc for r, c in points if 0 <= r + dr < size and 0 <= c + dc < size]


@functools.lru_cache(maxsize=4)
def placement_table(size: int) -> PlacementTable:
    """Build (once per size) the placement table for a square board."""
    started = time.perf_counter()
    rows: list[list[int]] = []
    orient: list[int] = []
    o = -1
    for piece, shapes in enumerate(PIECE_ORIENTATIONS):
        for shape in shapes:
            o += 1
            edges, corners, quads = _rim(shape)
            assert len(edges) <= MAX_EDGES and len(corners) <= MAX_CORNERS
            h = 1 + max(r for r, _ in shape)
            w = 1 + max(c for _, c in shape)
            for r in range(size - h + 1):
                for c in range(size - w + 1):
                    cl, el = _flat(shape, size, r, c), _flat(edges, size, r, c)
                    inside = [
                        (kr, kc, qd)
                        for (kr, kc), qd in zip(corners, quads, strict=True)
                        if 0 <= kr + r < size and 0 <= kc + c < size
                    ]
                    kl = [(kr + r) * size + kc + c for kr, kc, _ in inside]
                    ql = [qd for _, _, qd in inside]
                    row = [piece, len(cl), len(el), len(kl)]
                    row += cl + [-1] * (MAX_CELLS - len(cl))
                    row += el + [-1] * (MAX_EDGES - len(el))
                    row += kl + [-1] * (MAX_CORNERS - len(kl))
                    row += ql + [-1] * (MAX_CORNERS - len(ql))
                    rows.append(row)
                    orient.append(o)
    geom = np.array(rows, dtype=np.int32)
    n_cells = size * size
    cells = geom[:, COL_CELLS : COL_CELLS + MAX_CELLS]
    pid = np.repeat(np.arange(len(geom)), MAX_CELLS)
    flat = cells.ravel()
    keep = flat >= 0
    pid, flat = pid[keep], flat[keep]
    cover = _csr(flat * N_PIECES + geom[pid, COL_PIECE], pid, n_cells * N_PIECES)
    quad_keys, quad_ids = [], []
    for quad, (dr, dc) in enumerate(QUADRANTS):
        r, c = flat // size, flat % size
        a = np.where((r + dr >= 0) & (r + dr < size), flat + dr * size, -2)
        b = np.where((c + dc >= 0) & (c + dc < size), flat + dc, -2)
        blocked = ((cells[pid] == a[:, None]) | (cells[pid] == b[:, None])).any(axis=1)
        quad_keys.append(((flat * 4 + quad) * N_PIECES + geom[pid, COL_PIECE])[~blocked])
        quad_ids.append(pid[~blocked])
    cover_quad = _csr(np.concatenate(quad_keys), np.concatenate(quad_ids), n_cells * 4 * N_PIECES)
    body = np.ascontiguousarray(geom[:, [COL_PIECE, COL_NCELL, *range(COL_CELLS, COL_EDGES)]], dtype=np.int16)
    pad = body[:, 2:] < 0
    body[:, 2:][pad] = np.broadcast_to(body[:, 2:3], pad.shape)[pad]  # repeat the first cell: no -1 to test
    orientation = np.array(orient, dtype=np.int16)
    for arr in (geom, body, cover, cover_quad, orientation):
        arr.setflags(write=False)
    log.debug("placement table %dx%d: %d placements in %.3fs", size, size, len(geom), time.perf_counter() - started)
    return PlacementTable(
        size=size,
        geom=geom,
        body=body,
        cover=cover,
        cover_quad=cover_quad,
        orientation=orientation,
    )
