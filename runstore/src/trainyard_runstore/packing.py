"""Binary packing of many small records: typed columns, zlib-compressed, one BSON Binary field.

Every packed document carries its ``columns`` (name and kind) beside the blob, so a reader needs no
outside schema and a new metric is a new column, not a migration. A bucket of 1,000 episodes packs
to a few kilobytes instead of ~60 KB of nested values, and a stats page of 500 sub-buckets likewise.
Smaller documents are cheaper everywhere; on FerretDB's SQLite backend, which scans a collection's
JSON text even for ``_id`` lookups and converts every nested value, they are what keeps a
million-episode run readable in a second. Used only by ``layout``; nothing queries inside a packed field.
"""

from __future__ import annotations

import math
import sys
import zlib
from array import array
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

FORMAT = 1
_NULL_INT = -(2**63)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


_US = timedelta(microseconds=1)
# zlib's fastest level: a bucket packs in about half the time of level 6 for some 6 % more bytes, and the
# run logger packs the bucket it appends to on every flush. Any level reads back the same.
LEVEL = 1


def _time_to_us(value: datetime) -> int:
    return ((value if value.tzinfo else value.replace(tzinfo=UTC)) - _EPOCH) // _US


def _times_to_us(values: list[Any]) -> list[int]:
    try:  # aware datetimes (all the store writes): one subtraction and one division each
        return [_NULL_INT if v is None else (v - _EPOCH) // _US for v in values]
    except TypeError:  # a naive one among them: means UTC
        return [_NULL_INT if v is None else _time_to_us(v) for v in values]


# kind -> encoder of a whole column list (list comprehensions: no call per value).
_ENCODE_COLUMN: dict[str, Callable[[list[Any]], list[Any]]] = {
    "opt_int": lambda vs: [_NULL_INT if v is None else v for v in vs],
    "opt_float": lambda vs: [math.nan if v is None else v for v in vs],
    "opt_bool": lambda vs: [-1 if v is None else v for v in vs],
    "opt_time": _times_to_us,
}


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
    return zlib.compress(b"".join(parts), LEVEL)


def pack_columns(values: dict[str, list[Any]], columns: Columns) -> bytes:
    """Like ``pack`` from ready column lists (``values[name]``, all the same length)."""
    n = len(values[columns[0][0]]) if columns else 0
    parts = [FORMAT.to_bytes(1, "little"), n.to_bytes(4, "little")]
    for name, kind in columns:
        code, encode, _ = KINDS[kind]
        try:
            column = array(code, values[name] if kind in ("int", "float") else _ENCODE_COLUMN[kind](values[name]))
        except TypeError:  # a value of another type than the column's (a float in an int column): coerce
            column = array(code, map(encode, values[name]))
        if sys.byteorder == "big":
            column.byteswap()
        parts.append(column.tobytes())
    return zlib.compress(b"".join(parts), LEVEL)


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


def numeric(column: array[Any], kind: str) -> tuple[list[Any], int]:
    """A column as numbers for min/max/sum: (values with nulls as None, null count). An all-null
    column comes back empty; without nulls the values are the array's own (C-speed conversion)."""
    vals = column.tolist()
    if kind in ("int", "float"):
        return vals, 0
    if kind == "opt_float":
        nulls = sum(map(math.isnan, vals))
        if nulls in (0, len(vals)):
            return (vals if not nulls else []), nulls
        return [None if v != v else v for v in vals], nulls
    sentinel = _NULL_INT if kind == "opt_int" else -1
    nulls = vals.count(sentinel)
    if nulls in (0, len(vals)):
        return (vals if not nulls else []), nulls
    return [None if v == sentinel else v for v in vals], nulls


def null_column(kind: str, n: int) -> array[Any]:
    """``n`` nulls of ``kind`` (fills a column that older documents lack)."""
    code, encode, _ = KINDS[kind]
    return array(code, [encode(None)]) * n


def unpack(blob: bytes, columns: Columns) -> list[dict[str, Any]]:
    values = {name: decode(col, kind) for (name, kind), col in zip(columns, unpack_raw(blob, columns).values(),
                                                                     strict=True)}
    n = len(next(iter(values.values()))) if values else 0
    return [{name: values[name][i] for name, _ in columns} for i in range(n)]
