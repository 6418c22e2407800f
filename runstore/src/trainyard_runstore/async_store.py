"""Asynchronous MongoDB reads for the API (PyMongo's ``AsyncMongoClient``).

The read side of ``layout``: run listings, run details with downsampled series, streaming exports,
rollout diagnostics, evaluation games and the run list that benchmarks rank.
Operations stay within what FerretDB v1 supports (find, sort, limit, projections, count).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from pymongo import AsyncMongoClient, ReturnDocument
from pymongo.errors import DuplicateKeyError

from trainyard_runstore import layout, liveness, series
from trainyard_runstore.ladder import Ladder
from trainyard_runstore.layout import SubStats
from trainyard_runstore.run_index import RunIndexView
from trainyard_runstore.schema import Episode, EvalGame, Rollout, RunIndexEntry, RunRecord, StoredRun
from trainyard_runstore.settings import MongoSettings


@dataclass
class Series:
    episodes: list[dict[str, Any]]
    rolling_win_rate: list[dict[str, Any]]
    downsampled: bool
    resolution: int
    next_episode: int | None = None  # unsampled and cut at the read limit: the first episode not returned


log = logging.getLogger(__name__)

# Series answers kept (keyed by run, write version and range): a finished run's chart, opened
# again or by another viewer, costs no database read or regrouping. A running run's version moves
# with every flush, so its entries simply age out.
SERIES_CACHE_SIZE = 32
# Decoded statistics pages, by run, page and stamp (each write of a page gives it a new stamp, which the
# home document records): a downsampled read then costs one exact read of the home document, and only a
# page written since is read again. On FerretDB a read of pages is a pass over the whole home collection
# (a 1,000,000-episode run's 20 pages: about 1 MB of real data), so this is most of a first read's time.
# A page holds 500 rows of every metric's statistics: about 136 KB decoded.
PAGE_CACHE_SIZE = 128
PAGE_FETCH_ONE_BY_ONE = 4  # up to this many missing pages are read one exact _id each, else one range
# A read of up to this many episode buckets reads each one by its exact _id (with its home copy), all at
# once: FerretDB answers an exact _id from SQLite's primary key (about 1 ms) but an _id range by a pass over
# every bucket of the run (a zoom into a 200,000-episode run: 120 ms; into 1,000,000 episodes: ~5 times that).
BUCKETS_ONE_BY_ONE = 16


class AsyncRunStore:
    def __init__(self, settings: MongoSettings | None = None, *, timeout_ms: int | None = None):
        """``timeout_ms`` bounds every operation (PyMongo's timeoutMS), so a request never hangs."""
        self.settings = settings or MongoSettings()
        kwargs = self.settings.client_kwargs()
        if timeout_ms is not None:
            kwargs["timeoutMS"] = timeout_ms
        self.client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(self.settings.uri, **kwargs)
        self.db = self.client[self.settings.db_name]
        self._indexes_ready = False
        self.index = RunIndexView(self.db)
        self._series_cache: dict[tuple[Any, ...], Series] = {}
        self._page_cache: dict[tuple[str, str, str], layout.RawChunk] = {}

    async def close(self) -> None:
        await self.client.close()

    async def ping(self) -> None:
        await self.client.admin.command("ping")

    async def mark_lost(self, timeout: float, *, noticed_by: str) -> list[str]:
        """Give running runs silent for ``timeout`` seconds the Lost verdict (see ``liveness``)."""
        lost = await liveness.mark_lost_async(self.db[layout.RUNS], lambda run_id: self.db[layout.home(run_id)],
                                              timeout, noticed_by=noticed_by)
        for run_id in lost:
            await self._sync_index(run_id)
        return lost

    async def _sync_index(self, run_id: str) -> None:
        """Copy a run's list fields into the run index (as ``RunStore.sync_index`` does)."""
        doc = await self.db[layout.home(run_id)].find_one(layout.HOME_KEY, layout.WITHOUT_OPEN)
        if doc is None:
            return
        entry = {**layout.index_doc(doc), **layout.run_key(run_id)}
        await self.db[layout.RUNS].replace_one(layout.run_key(run_id), entry, upsert=True)
        for attempt in range(layout.INDEX_VERSION_TRIES):
            meta = await self.db[layout.META].find_one_and_update(
                layout.INDEX_VERSION_KEY, {"$inc": {"version": 1}}, upsert=True, return_document=ReturnDocument.AFTER)
            assert meta is not None, "upserted"
            version = int(meta["version"])
            try:
                await self.db[layout.INDEX_LOG].insert_one(layout.index_log_entry(version, entry))
                break
            except DuplicateKeyError:  # another writer drew the same version (see INDEX_VERSION_TRIES)
                if attempt == layout.INDEX_VERSION_TRIES - 1:
                    raise
        if version % layout.INDEX_LOG_TRIM_EVERY == 0:
            await self.db[layout.INDEX_LOG].delete_many(layout.index_log_stale(version))

    async def ensure_indexes(self) -> None:
        # One index per command: FerretDB v1.24 drops the connection when a multi-index
        # createIndexes repeats indexes that already exist.
        if self._indexes_ready:
            return
        for name, indexes in layout.INDEXES.items():
            for index in indexes:
                await self.db[name].create_indexes([index])
        self._indexes_ready = True
        if await self.db[layout.RUNS].find_one({"layout": {"$exists": False}}, {"_id": 1}):
            log.warning("this database holds runs in the old layout: their details are unavailable until "
                        "'trainyard-store migrate' moves them")

    async def list_runs(self, *, filters: dict[str, Any], sort: str, limit: int, offset: int = 0
                        ) -> tuple[list[RunIndexEntry], int]:
        """A page of the run index (one small entry per run) and the number of matches.

        Answered from the in-memory read model (``run_index``): call ``index_version`` first, which
        brings it up to date, and use that version as the answer's change token."""
        if self.index.version < 0:
            await self.index.refresh()
        docs, total = self.index.query(filters, sort, limit, offset)
        return self.index.entries(docs), total

    async def index_version(self) -> int:
        """A number that changes whenever any run's list entry changes (the list's change token);
        the run list's read model is up to date with it."""
        return await self.index.refresh()

    async def agent_ids(self) -> list[str]:
        return sorted(d["_id"] for d in await self.db[layout.AGENTS].find({}, {"_id": 1}).to_list())

    async def get_run(self, run_id: str, *, full: bool = True) -> StoredRun | None:
        """The run (``full=False``: without config, checkpoints and evaluations, which then read empty)."""
        projection = layout.WITHOUT_OPEN if full else {**layout.RUN_PROJECTION, "version": 1, "metric_specs": 1}
        doc = await self.db[layout.home(run_id)].find_one(layout.HOME_KEY, projection)
        if doc is None:
            return None
        doc["_id"] = layout.run_key(run_id)["_id"]
        return StoredRun.model_validate(doc)

    async def _home_parts(self, run_id: str, query: dict[str, Any]) -> tuple[dict[str, Any] | None,
                                                                             list[dict[str, Any]]]:
        """(the home document's open bucket, the home collection's documents matching ``query`` in order)."""
        cursor = self.db[layout.home(run_id)].find(layout.with_home(query), layout.PARTS_PROJECTION).sort("_id", 1)
        return layout.split_home(await cursor.to_list())

    async def _pages(self, run_id: str, first_page: int, last_page: int
                     ) -> tuple[dict[str, Any] | None, list[layout.RawChunk]]:
        """(the home document's open bucket, statistics pages ``first_page``..``last_page`` decoded, in order).

        Pages whose stamp the home document records come from the cache while it matches; the others
        (written since, or by a store that did not stamp them) are read, and cached by their own stamp.
        The home document is read first: a page written after it is newer than its stamp there, which
        costs only a later read again."""
        home = self.db[layout.home(run_id)]
        doc = await home.find_one(layout.HOME_KEY, {layout.OPEN: 1, layout.PAGE_STAMPS: 1})
        if doc is None:
            return None, []
        stamps = doc.get(layout.PAGE_STAMPS) or {}
        ids = {p: layout.page_id(p) for p in range(first_page, last_page + 1)}
        found = {pid: self._page_cache.get((run_id, pid, stamps.get(pid, ""))) for pid in ids.values()}
        missing = [p for p, pid in ids.items() if found[pid] is None]
        fetched: list[dict[str, Any] | None] = []
        if len(missing) > PAGE_FETCH_ONE_BY_ONE:
            fetched += await home.find(layout.page_range(missing[0], missing[-1]), layout.PARTS_PROJECTION).to_list()
        else:
            fetched += await asyncio.gather(*(home.find_one(layout.page_key(p), layout.PARTS_PROJECTION)
                                              for p in missing))
        for page in fetched:
            if page is None or page["_id"] not in found or found[page["_id"]] is not None:
                continue
            found[page["_id"]] = raw = layout.page_raw(page)
            if page.get("stamp"):
                if len(self._page_cache) >= PAGE_CACHE_SIZE:
                    self._page_cache.pop(next(iter(self._page_cache)))
                self._page_cache[(run_id, page["_id"], page["stamp"])] = raw
        return doc.get(layout.OPEN), [raw for raw in found.values() if raw is not None]

    async def _buckets(self, run_id: str, first: int, last: int) -> AsyncIterator[dict[str, Any]]:
        """The run's bucket documents holding ``first``..``last``, in order: one range query for the sealed
        buckets, one for the open ones in the run's home collection (see ``layout``); a few buckets (a zoom,
        the newest episodes) one exact ``_id`` each."""
        wanted = layout.buckets_between(first, last)
        if len(wanted) <= BUCKETS_ONE_BY_ONE:
            for doc in await self._few_buckets(run_id, list(wanted), first, last):
                yield doc
            return
        resident = layout.open_residents(*await self._home_parts(run_id, layout.resident_range(first, last)),
                                         first, last)
        cursor = self.db[layout.episodes_collection(run_id)].find(layout.bucket_range(first, last)).sort("_id", 1)
        async for sealed in cursor:
            for doc in layout.interleave(resident, sealed):
                yield doc
        for doc in layout.interleave(resident, None):
            yield doc

    async def _few_buckets(self, run_id: str, wanted: list[int], first: int, last: int) -> list[dict[str, Any]]:
        """``_buckets`` by exact reads, concurrently: the home document's open bucket, and each bucket's
        copy in the home collection (layout 3) and in the episodes collection; the home's copy wins."""
        home, sealed = self.db[layout.home(run_id)], self.db[layout.episodes_collection(run_id)]
        found = await asyncio.gather(home.find_one(layout.HOME_KEY, {layout.OPEN: 1}),
                                     *(home.find_one(layout.resident_key(b)) for b in wanted),
                                     *(sealed.find_one(layout.bucket_key(b)) for b in wanted))
        open_, residents, buckets = found[0], found[1:len(wanted) + 1], found[len(wanted) + 1:]
        resident = layout.open_residents((open_ or {}).get(layout.OPEN), [d for d in residents if d], first, last)
        return [doc for b, bucket in zip(wanted, buckets, strict=True) if (doc := resident.get(b) or bucket)]

    async def episodes(self, run_id: str, first: int, last: int) -> list[Episode]:
        """Episodes ``first``..``last`` (inclusive) in order."""
        if last < first:
            return []
        return [ep async for doc in self._buckets(run_id, first, last)
                for ep in layout.bucket_episodes(doc, first, last)]

    async def iter_episodes(self, run_id: str, last: int) -> AsyncIterator[Episode]:
        """Every episode up to ``last`` in order, one bucket batch in memory at a time (exports)."""
        async for doc in self._buckets(run_id, 1, last):
            for ep in layout.bucket_episodes(doc, 1, last):
                yield ep

    async def iter_columns(self, run_id: str, first: int, last: int, names: list[str] | None
                           ) -> AsyncIterator[dict[str, list[Any]]]:
        """Episodes ``first``..``last`` as one dict of columns per bucket (``names``: which metrics)."""
        if last < first:
            return
        async for doc in self._buckets(run_id, first, last):
            yield layout.bucket_columns(doc, first, last, names)

    async def sub_stats(self, run_id: str, first: int, last: int) -> list[SubStats]:
        pages = layout.page_range(layout.page_of(layout.bucket_of(first)), layout.page_of(layout.bucket_of(last)))
        open_, docs = await self._home_parts(run_id, pages)
        by_bucket: dict[int, list[SubStats]] = {}
        for doc in docs:
            by_bucket.update(layout.page_subs(doc))
        by_bucket.update(layout.open_subs(open_))  # the page may lag behind the open bucket
        return [s for _b, subs in sorted(by_bucket.items()) for s in subs if s.last >= first and s.first <= last]

    async def series(self, run_id: str, *, total: int, max_points: int | None,
                     first: int = 1, last: int | None = None, limit: int | None = None,
                     version: int | None = None) -> Series:
        """Episode series in [first, last], downsampled to exactly ``max_points`` when longer.

        Unsampled reads stop after ``limit`` episodes (the caller pages on with ``next_episode``).
        Ranges of up to ``max_points * SUB_SIZE`` episodes are grouped from the raw episodes, longer
        ones from the statistics pages, so a run always gets ``max_points`` points. With the home
        document's ``version`` (every write moves it) the answer is kept for the next identical read.
        """
        if version is None:
            return await self._series(run_id, total, max_points, first, last, limit)
        key = (run_id, version, total, max_points, first, last, limit)
        found = self._series_cache.pop(key, None)
        if found is None:
            found = await self._series(run_id, total, max_points, first, last, limit)
            if len(self._series_cache) >= SERIES_CACHE_SIZE:
                self._series_cache.pop(next(iter(self._series_cache)))
        self._series_cache[key] = found  # newest last: the oldest is evicted first
        return found

    async def _series(self, run_id: str, total: int, max_points: int | None, first: int, last: int | None,
                      limit: int | None) -> Series:
        upper = total if last is None else min(last, total)
        count = max(0, upper - first + 1)
        if count == 0:
            return Series([], [], False, 1)
        if max_points is None or count <= max_points:
            next_episode = None
            if limit is not None and count > limit:
                upper, next_episode = first + limit - 1, first + limit
            eps, wr = series.raw_points(await self.episodes(run_id, first, upper))
            return Series(eps, wr, False, 1, next_episode)
        if count <= max_points * layout.SUB_SIZE:
            chunks = [layout.bucket_raw(doc, first, upper) async for doc in self._buckets(run_id, first, upper)]
            eps, wr = series.downsample_raw(chunks, max_points)
            return Series(eps, wr, True, math.ceil(count / max_points))
        open_, raws = await self._pages(run_id, layout.page_of(layout.bucket_of(first)),
                                        layout.page_of(layout.bucket_of(upper)))
        chunks = layout.splice_open(raws, open_)
        eps, wr = series.group_pages(chunks, max_points, first, upper)
        return Series(eps, wr, True, math.ceil(count / max_points))

    async def rollouts(self, run_id: str, first: int, last: int) -> list[Rollout]:
        """Rollouts ``first``..``last`` (inclusive) in order."""
        cursor = self.db[layout.home(run_id)].find(layout.rollout_page_range(first, last)).sort("_id", 1)
        return [r async for doc in cursor for r in layout.page_rollouts(doc, first, last)]

    async def game(self, run_id: str, n: int) -> EvalGame | None:
        doc = await self.db[layout.games_collection(run_id)].find_one(layout.game_key(n))
        return EvalGame.model_validate(doc) if doc else None

    async def ladders(self) -> list[Ladder]:
        """Every stored Elo ladder, newest first."""
        docs = await self.db[layout.LADDERS].find({}).sort("time", -1).to_list()
        return [Ladder.model_validate(d) for d in docs]

    async def ladder(self, ladder_id: str) -> Ladder | None:
        doc = await self.db[layout.LADDERS].find_one({"_id": ladder_id})
        return Ladder.model_validate(doc) if doc else None

    async def benchmark_runs(self, env_id: str) -> list[RunRecord]:
        """Completed runs of ``env_id`` with their config and evaluations (the rest of each record
        is not read): found in the run index, read from each run's home."""
        found = await self.db[layout.RUNS].find(layout.benchmark_filter(env_id), {"run_id": 1}).to_list()
        homes = await asyncio.gather(*(self.db[layout.home(d["run_id"])].find_one(
            layout.HOME_KEY, layout.BENCHMARK_PROJECTION) for d in found))
        return [RunRecord.model_validate(h) for h in homes if h is not None]
