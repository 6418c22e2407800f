"""The run list's read model: the run index in the API's memory, kept current from the index log.

FerretDB v1 (the embedded default) answers every query on the run index by a pass over all its
documents, so a list among 10,000 runs costs seconds however small the page. Instead each API
process loads the index once and then follows ``layout.INDEX_LOG``, where every index write appends
the run's new index document under the next index version. A request reads the version (one tiny
document); when it moved, the process reads only the log entries past its own version, a collection
the writers keep to ``INDEX_LOG_KEEP`` entries. Filters and sorts then run in memory with MongoDB's
semantics, so the answer is the same as the query ``layout.list_filter``/``layout.list_sort`` on the
index itself. Every replica follows the log on its own, so any number of them stay correct.

Entries are applied strictly in version order. A missing version (a writer between moving the
counter and logging its entry) holds the model at the version before it; if the gap outlives
``GAP_SECONDS`` (a writer died in between) or the model fell further behind than the log reaches, the
index is reloaded whole. The change token handed out is the version the model reflects.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from trainyard_runstore import layout
from trainyard_runstore.schema import RunIndexEntry

log = logging.getLogger(__name__)

GAP_SECONDS = 2.0
_CACHED_QUERIES = 32  # answers kept per index version (the UI polls the same few queries)

# MongoDB's comparison order of BSON types (null first), for sorts and range filters.
_NULL, _NUMBER, _STRING, _OBJECT, _BOOL, _DATE = 1, 2, 3, 4, 8, 9


def _get(doc: dict[str, Any], path: str) -> Any:
    value: Any = doc
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _utc(value: datetime) -> datetime:
    # MongoDB stores UTC; a naive datetime in a filter means UTC there too.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def sort_key(value: Any) -> tuple[int, Any]:
    """``value``'s place in MongoDB's sort order (missing and null sort first ascending)."""
    if value is None:
        return (_NULL, 0)
    if isinstance(value, bool):
        return (_BOOL, value)
    if isinstance(value, int | float):
        return (_NUMBER, value)
    if isinstance(value, str):
        return (_STRING, value)  # code point order = UTF-8 byte order, as MongoDB's binary comparison
    if isinstance(value, datetime):
        return (_DATE, _utc(value))
    return (_OBJECT, repr(value))


def _condition(path: str, cond: Any) -> Callable[[dict[str, Any]], bool]:
    if not isinstance(cond, dict):
        return lambda d: _get(d, path) == cond
    if set(cond) <= {"$regex", "$options"}:
        flags = re.IGNORECASE if "i" in cond.get("$options", "") else 0
        pattern = re.compile(cond["$regex"], flags)
        return lambda d: isinstance(v := _get(d, path), str) and pattern.search(v) is not None
    ops: dict[str, Callable[[Any, Any], bool]] = {
        "$gte": lambda a, b: a >= b, "$lte": lambda a, b: a <= b, "$gt": lambda a, b: a > b, "$lt": lambda a, b: a < b}
    unknown = set(cond) - set(ops)
    if unknown:
        raise ValueError(f"the run list's read model has no operator {sorted(unknown)}")
    bounds = [(ops[op], sort_key(v)) for op, v in cond.items()]

    def check(d: dict[str, Any]) -> bool:
        key = sort_key(_get(d, path))
        # MongoDB compares within one type only (a date range never matches a missing date).
        return all(key[0] == b[0] and cmp(key, b) for cmp, b in bounds)
    return check


def compile_filter(flt: dict[str, Any]) -> Callable[[dict[str, Any]], bool]:
    """A predicate equal to the MongoDB filter ``flt`` (the subset ``layout.list_filter`` builds)."""
    checks: list[Callable[[dict[str, Any]], bool]] = []
    for key, cond in flt.items():
        if key == "$or":
            alternatives = [compile_filter(c) for c in cond]
            checks.append(lambda d, alts=alternatives: any(a(d) for a in alts))  # type: ignore[misc]
        elif key.startswith("$"):
            raise ValueError(f"the run list's read model has no operator {key!r}")
        else:
            checks.append(_condition(key, cond))
    return lambda d: all(c(d) for c in checks)


def sort_docs(docs: list[dict[str, Any]], keys: list[tuple[str, int]]) -> list[dict[str, Any]]:
    """``docs`` in the order of the MongoDB sort ``keys`` (stable passes, last key first)."""
    out = list(docs)
    for path, direction in reversed(keys):
        out.sort(key=lambda d, p=path: sort_key(_get(d, p)), reverse=direction < 0)  # type: ignore[misc]
    return out


def _compare(a: dict[str, Any], b: dict[str, Any], keys: list[tuple[str, int]]) -> int:
    for path, direction in keys:
        ka, kb = sort_key(_get(a, path)), sort_key(_get(b, path))
        if ka != kb:
            return direction if ka > kb else -direction
    return 0


def _move(ordered: list[dict[str, Any]], old: dict[str, Any] | None, new: dict[str, Any],
          keys: list[tuple[str, int]]) -> None:
    """Replace ``old`` by ``new`` in the sorted ``ordered`` (a binary search, not a new sort)."""
    if old is not None:
        for i, d in enumerate(ordered):
            if d is old:
                del ordered[i]
                break
    lo, hi = 0, len(ordered)
    while lo < hi:
        mid = (lo + hi) // 2
        if _compare(ordered[mid], new, keys) <= 0:
            lo = mid + 1
        else:
            hi = mid
    ordered.insert(lo, new)


_INCREMENTAL = 50  # more changes at once than this: sort again rather than move each
# Up to this many new log entries are read one exact ``_id`` each, concurrently: FerretDB v1 answers an
# exact ``_id`` from SQLite's primary key but a range by a pass over the whole log (up to INDEX_LOG_KEEP
# documents, each a run's index entry): about 0.8 ms against 4-5 ms right after a change.
_EXACT_READS = 16


class RunIndexView:
    """The run index of one database in memory; ``refresh`` brings it up to date, ``query`` answers."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]):
        self.db = db
        self.version = -1  # the index version the model reflects; -1: not loaded
        self._runs: dict[Any, dict[str, Any]] = {}
        self._lock = asyncio.Lock()
        self._gap_since: float | None = None
        self._sorted: dict[str, list[dict[str, Any]]] = {}
        self._answers: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
        # Each run's entry as a model, built once per index document (a poll of an unchanged list
        # validates nothing); keyed by _id, valid while that document is the one in ``_runs``.
        self._entries: dict[Any, tuple[dict[str, Any], RunIndexEntry]] = {}
        self.reloads = 0  # how often the whole index was read (tests and benchmarks look)

    async def _stored_version(self) -> int:
        doc = await self.db[layout.META].find_one(layout.INDEX_VERSION_KEY)
        return int((doc or {}).get("version", 0))

    async def refresh(self) -> int:
        """Follow the index log up to the stored version; returns the version the model reflects."""
        stored = await self._stored_version()
        if stored == self.version:
            return self.version
        waited = self._lock.locked()
        async with self._lock:
            if waited:  # a concurrent request may have followed the log meanwhile: read again
                stored = await self._stored_version()
            if self.version < 0 or stored < self.version:  # first use, or the database was replaced
                await self._reload()
                return self.version
            if stored > self.version:
                await self._follow(stored)
        return self.version

    async def _log_after(self, stored: int) -> list[dict[str, Any]]:
        """The log entries past the model's version, in order (those up to ``stored`` at least)."""
        log_ = self.db[layout.INDEX_LOG]
        if stored - self.version <= _EXACT_READS:
            found = await asyncio.gather(*(log_.find_one(layout.index_log_key(v))
                                           for v in range(self.version + 1, stored + 1)))
            return [e for e in found if e is not None]
        return await log_.find(layout.index_log_after(self.version)).sort("_id", 1).to_list()

    async def _follow(self, stored: int) -> None:
        entries = await self._log_after(stored)
        start = self.version
        if len(entries) > _INCREMENTAL:
            self._sorted.clear()
        for entry in entries:
            if entry["_id"] != self.version + 1:
                break
            if entry.get("reload"):
                await self._reload()
                return
            doc = entry["doc"]
            old = self._runs.get(doc["_id"])
            self._runs[doc["_id"]] = doc
            for sort, ordered in self._sorted.items():  # kept sorted: a change costs no new sort
                _move(ordered, old, doc, layout.list_sort(sort))
            self.version = entry["_id"]
        if self.version != start:
            self._answers.clear()
        if self.version >= stored:
            self._gap_since = None
            return
        now = time.monotonic()
        if self._gap_since is None:
            self._gap_since = now
        if stored - self.version >= layout.INDEX_LOG_KEEP // 2 or now - self._gap_since > GAP_SECONDS:
            log.info("run index: version %d missing from the log; reloading the index", self.version + 1)
            await self._reload()

    async def _reload(self) -> None:
        # The version first: every index write it counts wrote its document before moving it.
        version = await self._stored_version()
        docs = await self.db[layout.RUNS].find({}).to_list()
        self._runs = {d["_id"]: d for d in docs}
        self._entries.clear()
        self.version = version
        self._gap_since = None
        self.reloads += 1
        self._changed()

    def _changed(self) -> None:
        self._sorted.clear()
        self._answers.clear()

    def entries(self, docs: list[dict[str, Any]]) -> list[RunIndexEntry]:
        """``docs`` (from ``query``) as models."""
        out = []
        for doc in docs:
            cached = self._entries.get(doc["_id"])
            if cached is None or cached[0] is not doc:
                cached = self._entries[doc["_id"]] = (doc, RunIndexEntry.model_validate(doc))
            out.append(cached[1])
        return out

    def query(self, filters: dict[str, Any], sort: str, limit: int, offset: int = 0
              ) -> tuple[list[dict[str, Any]], int]:
        """A page of the runs matching ``layout.list_filter(**filters)`` in ``sort`` order, and their number."""
        key = (sort, *sorted((k, repr(v)) for k, v in filters.items()))
        matches = self._answers.get(key)
        if matches is None:
            ordered = self._sorted.get(sort)
            if ordered is None:
                ordered = self._sorted[sort] = sort_docs(list(self._runs.values()), layout.list_sort(sort))
            flt = layout.list_filter(**filters)
            if flt:
                match = compile_filter(flt)
                matches = [d for d in ordered if match(d)]
            else:
                matches = ordered
            if len(self._answers) >= _CACHED_QUERIES:
                self._answers.pop(next(iter(self._answers)))
            self._answers[key] = matches
        return matches[offset:offset + limit], len(matches)
