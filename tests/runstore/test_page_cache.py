"""Reads of a long run cost what they return, not the run's length. On FerretDB an ``_id`` range is a
pass over every document of the collection (an exact ``_id`` comes from SQLite's primary key):

- downsampled reads keep the decoded statistics pages, and read a page again only once a write gave it
  a new stamp (about 1 MB of pages for a 1,000,000-episode run of real data);
- a zoom or the newest episodes read their few buckets one exact ``_id`` each."""

from __future__ import annotations

import asyncio

import pytest
from pymongo import AsyncMongoClient, monitoring
from trainyard_runstore import layout
from trainyard_runstore.async_store import AsyncRunStore
from trainyard_runstore.schema import Episode, RunRecord

pytestmark = pytest.mark.mongo


def eps(first: int, last: int) -> list[Episode]:
    return [Episode(episode=i, total_reward=float((i * 37) % 101), steps=i % 13, timestep=i)
            for i in range(first, last + 1)]


class HomeReads(monitoring.CommandListener):
    """The ``_id`` filters of every find on one of a run's collections (its home by default)."""

    def __init__(self, run_id: str, collection: str | None = None):
        self.home = collection or layout.home(run_id)
        self.filters: list[object] = []

    def started(self, event):
        if event.command_name == "find" and event.command["find"] == self.home:
            self.filters.append(event.command["filter"].get("_id"))

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


def test_pages_are_read_once_and_again_only_when_a_write_restamped_them(store, mongo_settings):
    store.create_run(RunRecord(run_id="long", agent_id="a"))
    store.writer("long").import_episodes(eps(1, 120_000))  # pages p00000..p00002
    reads = HomeReads("long")

    async def fresh(total, points):
        plain = AsyncRunStore(mongo_settings)
        try:
            return await plain.series("long", total=total, max_points=points)
        finally:
            await plain.close()

    async def scenario():
        cached = AsyncRunStore(mongo_settings)
        cached.client = AsyncMongoClient(mongo_settings.uri, event_listeners=[reads], **mongo_settings.client_kwargs())
        cached.db = cached.client[mongo_settings.db_name]
        first = await cached.series("long", total=120_000, max_points=100)
        assert first.episodes == (await fresh(120_000, 100)).episodes and len(first.episodes) == 100
        assert reads.filters[0] == "run" and len(reads.filters) > 1  # the home document, then the pages
        reads.filters.clear()
        again = await cached.series("long", total=120_000, max_points=150)  # another count: not the series cache
        assert reads.filters == ["run"] and again.episodes == (await fresh(120_000, 150)).episodes

        # Episodes past the last bucket seal it and rewrite the last page (new stamp): that page alone is read.
        await asyncio.to_thread(store.writer("long").write_episodes, eps(120_001, 121_500))
        reads.filters.clear()
        after = await cached.series("long", total=121_500, max_points=150)
        assert reads.filters == ["run", layout.page_id(2)]
        assert after.episodes == (await fresh(121_500, 150)).episodes
        assert after.episodes[-1]["episode"] == 121_500
        await cached.client.close()

    asyncio.run(scenario())


def test_a_zoom_or_the_newest_episodes_read_their_buckets_by_id(store, mongo_settings):
    store.create_run(RunRecord(run_id="long", agent_id="a"))
    store.writer("long").import_episodes(eps(1, 120_000))  # 120 buckets
    reads = HomeReads("long", layout.episodes_collection("long"))

    async def scenario():
        api = AsyncRunStore(mongo_settings)
        api.client = AsyncMongoClient(mongo_settings.uri, event_listeners=[reads], **mongo_settings.client_kwargs())
        api.db = api.client[mongo_settings.db_name]
        zoom = await api.series("long", total=120_000, max_points=1000, first=60_001, last=65_000)
        tail = await api.series("long", total=120_000, max_points=None, first=119_501, limit=10_000)
        everything = await api.series("long", total=120_000, max_points=None, first=1, limit=30_000)
        await api.client.close()
        return zoom, tail, everything

    zoom, tail, everything = asyncio.run(scenario())
    exact, rest = reads.filters[:6], reads.filters[6:]
    assert sorted(exact) == [layout.bucket_id(b) for b in (60, 61, 62, 63, 64, 119)]  # no range among them
    assert len(rest) == 1 and isinstance(rest[0], dict)  # 30 buckets at once: one range
    assert len(zoom.episodes) == 1000 and zoom.episodes[-1]["episode"] == 65_000
    assert [e["episode"] for e in tail.episodes] == list(range(119_501, 120_001))
    assert [e["total_reward"] for e in tail.episodes] == [e.total_reward for e in eps(119_501, 120_000)]
    assert len(everything.episodes) == 30_000
