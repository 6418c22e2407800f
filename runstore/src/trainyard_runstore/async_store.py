"""Asynchronous MongoDB reads for the API (PyMongo's ``AsyncMongoClient``).

The read side of ``layout``: run listings, run details with downsampled series, streaming exports,
rollout diagnostics, evaluation games and the run list that benchmarks rank.
Operations stay within what FerretDB v1 supports (find, sort, limit, projections, count).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from pymongo import AsyncMongoClient

from trainyard_runstore import layout, liveness, series
from trainyard_runstore.layout import SubStats
from trainyard_runstore.schema import EvalGame, Episode, Rollout
from trainyard_runstore.settings import MongoSettings

# Ranges of up to max(max_points * factor, minimum) episodes are read raw and grouped exactly;
# longer ones are answered from the stats pages (resolution SUB_SIZE episodes).
RAW_READ_LIMIT_FACTOR = 5
RAW_READ_MIN = 20_000
CONCURRENT_READS = 8


@dataclass
class Series:
    episodes: list[dict]
    rolling_win_rate: list[dict]
    downsampled: bool
    resolution: int


class AsyncRunStore:
    def __init__(self, settings: MongoSettings | None = None, *, timeout_ms: int | None = None):
        """``timeout_ms`` bounds every operation (PyMongo's timeoutMS), so a request never hangs."""
        self.settings = settings or MongoSettings()
        kwargs = self.settings.client_kwargs()
        if timeout_ms is not None:
            kwargs["timeoutMS"] = timeout_ms
        self.client: AsyncMongoClient = AsyncMongoClient(self.settings.uri, **kwargs)
        self.db = self.client[self.settings.db_name]
        self._indexes_ready = False

    async def close(self) -> None:
        await self.client.close()

    async def ping(self) -> None:
        await self.client.admin.command("ping")

    async def mark_lost(self, timeout: float, *, noticed_by: str) -> list[str]:
        """Give running runs silent for ``timeout`` seconds the Lost verdict (see ``liveness``)."""
        return await liveness.mark_lost_async(self.db[layout.RUNS], timeout, noticed_by=noticed_by)

    async def ensure_indexes(self) -> None:
        # One index per command: FerretDB v1.24 drops the connection when a multi-index
        # createIndexes repeats indexes that already exist.
        if self._indexes_ready:
            return
        for name, indexes in layout.INDEXES.items():
            for index in indexes:
                await self.db[name].create_indexes([index])
        self._indexes_ready = True

    async def list_runs(self, *, filters: dict[str, Any], sort: str, limit: int, offset: int = 0
                        ) -> tuple[list[dict], int]:
        flt = layout.list_filter(**filters)
        coll = self.db[layout.RUNS]
        cursor = coll.find(flt, layout.RUN_PROJECTION).sort(layout.list_sort(sort)).skip(offset).limit(limit)
        # Concurrently: FerretDB answers each by a pass over the collection.
        docs, total = await asyncio.gather(cursor.to_list(), coll.count_documents(flt))
        return docs, total

    async def agent_ids(self) -> list[str]:
        return sorted(d["_id"] for d in await self.db[layout.AGENTS].find({}, {"_id": 1}).to_list())

    async def get_run(self, run_id: str, *, full: bool = True) -> dict[str, Any] | None:
        projection = None if full else layout.RUN_PROJECTION
        return await self.db[layout.RUNS].find_one(layout.run_key(run_id), projection)

    async def _by_ids(self, collection: str, keys: list[dict]) -> list[dict | None]:
        """Point reads by ``_id``, a few at a time (the one filter FerretDB pushes down)."""
        out: list[dict | None] = []
        for i in range(0, len(keys), CONCURRENT_READS):
            out.extend(await asyncio.gather(*(self.db[collection].find_one(k) for k in keys[i:i + CONCURRENT_READS])))
        return out

    async def episodes(self, run_id: str, first: int, last: int) -> list[Episode]:
        """Episodes ``first``..``last`` (inclusive) in order."""
        keys = [layout.bucket_key(run_id, b) for b in layout.buckets_between(first, last)]
        return [ep for doc in await self._by_ids(layout.BUCKETS, keys) for ep in layout.bucket_episodes(doc, first, last)]

    async def iter_episodes(self, run_id: str, last: int) -> AsyncIterator[Episode]:
        """Every episode up to ``last`` in order, a few buckets in memory at a time (exports)."""
        buckets = list(layout.buckets_between(1, last))
        for i in range(0, len(buckets), CONCURRENT_READS):
            keys = [layout.bucket_key(run_id, b) for b in buckets[i:i + CONCURRENT_READS]]
            for doc in await self._by_ids(layout.BUCKETS, keys):
                for ep in layout.bucket_episodes(doc, 1, last):
                    yield ep

    async def sub_stats(self, run_id: str, first: int, last: int) -> list[SubStats]:
        pages = range(layout.page_of(layout.bucket_of(first)), layout.page_of(layout.bucket_of(last)) + 1)
        out = []
        for doc in await self._by_ids(layout.STATS, [layout.page_key(run_id, p) for p in pages]):
            for _bucket, subs in sorted(layout.page_subs(doc).items()):
                out.extend(s for s in subs if s.last >= first and s.first <= last)
        return out

    async def series(self, run_id: str, *, total: int, max_points: int | None,
                     first: int = 1, last: int | None = None) -> Series:
        """Episode series in [first, last], downsampled to ``max_points`` when longer."""
        upper = total if last is None else min(last, total)
        count = max(0, upper - first + 1)
        if count == 0:
            return Series([], [], False, 1)
        if max_points is None or count <= max_points:
            eps, wr = series.raw_points(await self.episodes(run_id, first, upper))
            return Series(eps, wr, False, 1)
        if count <= max(max_points * RAW_READ_LIMIT_FACTOR, RAW_READ_MIN):
            eps, wr, per = series.downsample_episodes(await self.episodes(run_id, first, upper), max_points)
            return Series(eps, wr, per > 1, per)
        stats = await self.sub_stats(run_id, first, upper)
        eps, wr, per = series.group_stats(stats, max_points)
        return Series(eps, wr, True, per * layout.SUB_SIZE)

    async def rollouts(self, run_id: str, first: int, last: int) -> list[Rollout]:
        """Rollouts ``first``..``last`` (inclusive) in order."""
        keys = [layout.rollout_page_key(run_id, p) for p in layout.rollout_pages_between(first, last)]
        return [r for doc in await self._by_ids(layout.ROLLOUTS, keys) for r in layout.page_rollouts(doc, first, last)]

    async def game(self, run_id: str, n: int) -> EvalGame | None:
        doc = await self.db[layout.GAMES].find_one(layout.game_key(run_id, n))
        return EvalGame.model_validate(doc) if doc else None

    async def benchmark_runs(self, env_id: str) -> list[dict[str, Any]]:
        """Completed runs of ``env_id`` with their config and evaluations: one find on the run list."""
        cursor = self.db[layout.RUNS].find(layout.benchmark_filter(env_id), layout.BENCHMARK_PROJECTION)
        return await cursor.to_list()
