"""Downsampled reads of a long run keep its decoded statistics pages: a page is read again only once a
write gave it a new stamp. On FerretDB a read of pages is a pass over the run's whole home collection
(about 1 MB for a 1,000,000-episode run of real data), so a chart's second read, a zoom or a poll of a
live run would otherwise pay it every time."""

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
    """The ``_id`` filters of every find on one run's home collection."""

    def __init__(self, run_id: str):
        self.home = layout.home(run_id)
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
