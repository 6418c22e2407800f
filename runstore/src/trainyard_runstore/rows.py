"""An episode as a plain tuple, in ``Episode``'s field order: the form the write path holds them in.

The run logger keeps thousands of logged episodes in memory between writes (the write-ahead log's recent
lines, the writer's batch, the open bucket). As pydantic models, each is several objects the garbage
collector tracks; they outlive two collections and land in the oldest generation, whose full
collections then took 1.1 s of a 6 s, 200,000-episode ingest. CPython stops tracking a tuple that holds
only plain values (numbers, strings, None, datetimes), so rows cost the collector nothing once they
survive their first collection. Custom metrics are a tuple of ``(name, value)`` pairs for the same reason.

Only the write path (``run_logger`` → ``sync_store``'s writer → ``layout``) uses rows; everything a
reader sees is an ``Episode``. The fields come from ``Episode`` itself, so a new field needs no change here.
"""

from __future__ import annotations

from datetime import datetime
from operator import itemgetter
from typing import Any

from trainyard_runstore.schema import Episode

Row = tuple[Any, ...]

FIELDS: tuple[str, ...] = tuple(Episode.model_fields)
INDEX = {name: i for i, name in enumerate(FIELDS)}
EPISODE = INDEX["episode"]
METRICS = INDEX["metrics"]
TIME = INDEX["time"]
number = itemgetter(EPISODE)  # a row's episode number (sort and max keys)
_FROM_DICT = itemgetter(*FIELDS)
_REQUIRED = tuple(name for name, f in Episode.model_fields.items() if f.is_required())


def _pairs(metrics: dict[str, float] | None) -> tuple[tuple[str, float], ...]:
    return tuple(sorted(metrics.items())) if metrics else ()


def of(ep: Episode) -> Row:
    """The row of a validated episode."""
    row: Row = _FROM_DICT(ep.__dict__)
    return (*row[:METRICS], _pairs(row[METRICS]), *row[METRICS + 1:])


def from_json(data: dict[str, Any]) -> Row:
    """The row of an episode as JSON gives back what the run logger wrote from a validated ``Episode``
    (``time`` as an ISO string). A missing required field raises KeyError; the caller then validates."""
    for name in _REQUIRED:
        data[name]  # noqa: B018 - the KeyError is the check
    values: list[Any] = list(map(data.get, FIELDS))
    if values[TIME] is not None:
        values[TIME] = datetime.fromisoformat(values[TIME])
    values[METRICS] = _pairs(values[METRICS])
    return tuple(values)


def episode(row: Row) -> Episode:
    """The episode a row holds (no validation: rows are made from validated episodes or stored buckets)."""
    values = dict(zip(FIELDS, row, strict=True))
    values["metrics"] = dict(row[METRICS])
    return Episode.model_construct(**values)


def custom_names(rows: list[Row]) -> set[str]:
    """The custom metrics any of ``rows`` has a value for."""
    return {name for row in rows if row[METRICS] for name, _ in row[METRICS]}


def column(rows: list[Row], name: str) -> list[Any]:
    """One field or custom metric of every row (None where a row has no value)."""
    i = INDEX.get(name)
    if i is not None and i != METRICS:
        return list(map(itemgetter(i), rows))  # a C loop: about twice a comprehension's speed
    return [dict(row[METRICS]).get(name) if row[METRICS] else None for row in rows]
