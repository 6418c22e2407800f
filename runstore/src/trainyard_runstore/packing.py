"""Binary packing of many small records: typed columns, zlib-compressed, one BSON Binary field.

Every packed document carries its ``columns`` (name and kind) beside the blob, so a reader needs no
outside schema and a new metric is a new column, not a migration. A bucket of 1,000 episodes packs
to a few kilobytes instead of ~60 KB of nested values, and a stats page of 500 sub-buckets likewise.
Smaller documents are cheaper everywhere; on FerretDB's SQLite backend, which scans a collection's JSON text even for ``_id`` lookups and converts every nested
value, they are what keeps a million-episode run readable in a second. Used only by ``layout``;
nothing queries inside a packed field.
"""

from __future__ import annotations

import math
import sys
import zlib
from array import array
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

FORMAT = 1
_NULL_INT = -(2**63)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _time_to_us(value: datetime) -> int:
    delta = (value if value.tzinfo else value.replace(tzinfo=UTC)) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


# kind -> (array typecode, encode, decode); None is stored as a sentinel (NaN, -1, INT64_MIN).
KINDS: dict[str, tuple[str, Callable[[Any], Any], Callable[[Any], Any]]] = {
    "int": ("q", int, int),
    "float": ("d", float, float),
    "opt_int": ("q", lambda v: _NULL_INT if v is None else int(v), lambda v: None if v == _NULL_INT else v),
    "opt_float": ("d", lambda v: math.nan if v is None else float(v), lambda v: None if math.isnan(v) else v),
    "opt_bool": ("b", lambda v: -1 if v is None else int(v), lambda v: None if v < 0 else bool(v)),
    "opt_time": ("q", lambda v: _NULL_INT if v is None else _time_to_us(v),
                 lambda v: None if v == _NULL_INT else datetime.fromtimestamp(v / 1_000_000, UTC)),
}

Columns = tuple[tuple[str, str], ...]  # (attribute, kind)

# The columns of buckets written before they described themselves (layout 1); newer buckets carry
# their own ``columns`` (see ``layout.bucket_doc``).
EPISODE_COLUMNS: Columns = (
    ("episode", "int"), ("total_reward", "float"), ("steps", "int"), ("win", "opt_bool"),
    ("epsilon", "opt_float"), ("timestep", "opt_int"), ("win_rate", "opt_float"), ("time", "opt_time"),
)
# How each declared metric type is stored in an episode bucket (a missing value is null).
STORED_KIND = {"int": "opt_int", "float": "opt_float", "bool": "opt_bool"}


def pack(rows: Iterable[Any], columns: Columns, get: Callable[[Any, str], Any] = getattr) -> bytes:
    rows = list(rows)
    parts = [FORMAT.to_bytes(1, "little"), len(rows).to_bytes(4, "little")]
    for name, kind in columns:
        code, encode, _ = KINDS[kind]
        column = array(code, (encode(get(row, name)) for row in rows))
        if sys.byteorder == "big":
            column.byteswap()
        parts.append(column.tobytes())
    return zlib.compress(b"".join(parts), 6)


def unpack_raw(blob: bytes, columns: Columns) -> dict[str, array[Any]]:
    """Each column as its stored array (None still as its sentinel): for fast aggregation."""
    raw = zlib.decompress(blob)
    if raw[0] != FORMAT:
        raise ValueError(f"unknown packing format {raw[0]}")
    n = int.from_bytes(raw[1:5], "little")
    offset = 5
    values: dict[str, array[Any]] = {}
    for name, kind in columns:
        code = KINDS[kind][0]
        column = array(code)
        column.frombytes(raw[offset:offset + column.itemsize * n])
        if sys.byteorder == "big":
            column.byteswap()
        offset += column.itemsize * n
        values[name] = column
    return values


def decode(column: array[Any], kind: str) -> list[Any]:
    """A stored column as Python values (sentinels back to None)."""
    if kind in ("int", "float"):
        return column.tolist()
    dec = KINDS[kind][2]
    return [dec(v) for v in column]


def present(column: array[Any], kind: str) -> list[Any]:
    """The column's non-null values as numbers (bools as 0/1), for min/max/sum."""
    if kind in ("int", "float"):
        return column.tolist()
    if kind == "opt_float":
        return [v for v in column if v == v]
    if kind == "opt_int":
        return [v for v in column if v != _NULL_INT]
    if kind == "opt_bool":
        return [v for v in column if v >= 0]
    raise ValueError(f"{kind} columns have no numeric values")


def unpack(blob: bytes, columns: Columns) -> list[dict[str, Any]]:
    values = {name: decode(col, kind) for (name, kind), col in zip(columns, unpack_raw(blob, columns).values(),
                                                                     strict=True)}
    n = len(next(iter(values.values()))) if values else 0
    return [{name: values[name][i] for name, _ in columns} for i in range(n)]
