"""Asynchronous MongoDB reads for the API (PyMongo's ``AsyncMongoClient``).

The read side of ``layout``: run listings, run details with downsampled series, streaming exports.
Operations stay within what FerretDB v1 supports (find, sort, limit, projections, count).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from pymongo import AsyncMongoClient

from trainyard_runstore import layout, series
from trainyard_runstore.layout import SubStats
from trainyard_runstore.schema import Episode
from trainyard_runstore.settings import MongoSettings

# Below this many episodes in the requested range the series is read raw and grouped exactly.
RAW_READ_LIMIT_FACTOR = 50


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
        docs = await cursor.to_list()
        total = await coll.count_documents(flt)
        return docs, total

    async def agent_ids(self) -> list[str]:
        # $group rather than distinct: FerretDB's distinct rejects the maxTimeMS that timeoutMS adds.
        cursor = await self.db[layout.RUNS].aggregate([{"$group": {"_id": "$agent_id"}}])
        return sorted(d["_id"] for d in await cursor.to_list() if d["_id"] is not None)

    async def get_run(self, run_id: str, *, full: bool = True) -> dict[str, Any] | None:
        projection = None if full else layout.RUN_PROJECTION
        return await self.db[layout.RUNS].find_one({"run_id": run_id}, projection)

    async def episodes(self, run_id: str, first: int = 1, last: int | None = None) -> list[Episode]:
        out: list[Episode] = []
        async for ep in self.iter_episodes(run_id, first, last):
            out.append(ep)
        return out

    async def iter_episodes(self, run_id: str, first: int = 1, last: int | None = None) -> AsyncIterator[Episode]:
        """Episodes in order, one bucket in memory at a time (exports of 1,000,000 episodes)."""
        cursor = self.db[layout.BUCKETS].find(layout.episode_range_filter(run_id, first, last)).sort("bucket", 1)
        async for bucket in cursor:
            for doc in bucket["episodes"]:
                if doc["episode"] >= first and (last is None or doc["episode"] <= last):
                    yield Episode.model_validate(doc)

    async def sub_stats(self, run_id: str, first: int, last: int | None) -> list[SubStats]:
        cursor = self.db[layout.STATS].find(layout.episode_range_filter(run_id, first, last)).sort("bucket", 1)
        out = []
        async for doc in cursor:
            for s in doc["subs"]:
                sub = SubStats.from_doc(s)
                if sub.last >= first and (last is None or sub.first <= last):
                    out.append(sub)
        return out

    async def series(self, run_id: str, *, total: int, max_points: int | None,
                     first: int = 1, last: int | None = None) -> Series:
        """Episode series in [first, last], downsampled to ``max_points`` when longer."""
        upper = total if last is None else min(last, total)
        count = max(0, upper - first + 1)
        if max_points is None or count <= max_points:
            eps, wr = series.raw_points(await self.episodes(run_id, first, last))
            return Series(eps, wr, False, 1)
        if count <= max_points * RAW_READ_LIMIT_FACTOR:
            eps, wr, per = series.downsample_episodes(await self.episodes(run_id, first, last), max_points)
            return Series(eps, wr, per > 1, per)
        stats = await self.sub_stats(run_id, first, last)
        eps, wr, per = series.group_stats(stats, max_points)
        return Series(eps, wr, True, per * layout.SUB_SIZE)
