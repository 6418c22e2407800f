"""The open episode bucket lives in the run's home collection (layout 3), so a flush is one round trip.

What a user would notice if this went wrong is a history with holes or doubles: these tests write
through a real FerretDB and read back through both stores (the trainer's sync one and the API's async
one) while the open bucket moves on, after a crash between copying a finished bucket out of home and
deleting it there, and on a run written by layout 2 (open bucket in the episodes collection).
"""

from __future__ import annotations

import asyncio

import pytest
from trainyard_runstore import layout
from trainyard_runstore.async_store import AsyncRunStore
from trainyard_runstore.schema import Episode, RunRecord
from trainyard_runstore.sync_store import RunStore

pytestmark = pytest.mark.mongo


def eps(first: int, last: int, reward: float = 1.0) -> list[Episode]:
    return [Episode(episode=i, total_reward=reward, steps=3, timestep=i * 3) for i in range(first, last + 1)]


def api_episodes(settings, run_id: str, last: int) -> list[Episode]:
    async def read() -> list[Episode]:
        store = AsyncRunStore(settings)
        try:
            return await store.episodes(run_id, 1, last)
        finally:
            await store.close()
    return asyncio.run(read())


def sealed_ids(store: RunStore, run_id: str) -> list[str]:
    return [d["_id"] for d in store.db[layout.episodes_collection(run_id)].find({}, {"_id": 1}).sort("_id", 1)]


def open_ids(store: RunStore, run_id: str) -> list[str]:
    return [d["_id"] for d in store.home(run_id).find(layout.RESIDENTS, {"_id": 1}).sort("_id", 1)]


def test_the_open_bucket_moves_out_of_home_once_episodes_pass_it(store, mongo_settings):
    store.create_run(RunRecord(run_id="r", agent_id="a"))
    w = store.writer("r")
    for first in range(1, 1001, 100):
        w.write_episodes(eps(first, first + 99))
    assert sealed_ids(store, "r") == [] and open_ids(store, "r") == ["b0000000"]
    w.write_episodes(eps(1001, 1001))
    assert sealed_ids(store, "r") == ["0000000"] and open_ids(store, "r") == ["b0000001"]
    w.write_episodes(eps(995, 1010, reward=2.0))  # a replay across the boundary: sealed and open bucket
    expected = [1.0] * 994 + [2.0] * 16
    assert [e.total_reward for e in store.episodes("r")] == expected
    assert [e.total_reward for e in api_episodes(mongo_settings, "r", 1010)] == expected


def test_a_crash_between_copying_a_bucket_out_and_deleting_it_loses_and_doubles_nothing(store, mongo_settings):
    store.create_run(RunRecord(run_id="r", agent_id="a"))
    store.writer("r").write_episodes(eps(1, 1000))
    home_copy = store.home("r").find_one(layout.resident_key(0))
    store.writer("r").write_episodes(eps(1001, 1200))
    store.home("r").insert_one(home_copy)  # as if the process died after the copy, before the delete
    assert open_ids(store, "r") == ["b0000000", "b0000001"] and sealed_ids(store, "r") == ["0000000"]
    assert [e.episode for e in store.episodes("r")] == list(range(1, 1201))
    assert [e.episode for e in api_episodes(mongo_settings, "r", 1200)] == list(range(1, 1201))

    resumed = RunStore(mongo_settings)  # the next process finishes the move with its first write
    resumed.writer("r").write_episodes(eps(1201, 1300))
    assert open_ids(resumed, "r") == ["b0000001"] and sealed_ids(resumed, "r") == ["0000000"]
    assert [e.episode for e in resumed.episodes("r")] == list(range(1, 1301))
    resumed.close()


def test_a_layout_2_run_is_read_as_it_is_and_its_next_write_moves_the_open_bucket_home(store, mongo_settings):
    store.create_run(RunRecord(run_id="old", agent_id="a"))
    store.writer("old").import_episodes(eps(1, 1500))  # every bucket in the episodes collection, as layout 2
    assert sealed_ids(store, "old") == ["0000000", "0000001"] and open_ids(store, "old") == []
    assert [e.episode for e in api_episodes(mongo_settings, "old", 1500)] == list(range(1, 1501))

    again = RunStore(mongo_settings)  # a resumed trainer of the new version
    again.writer("old").write_episodes(eps(1501, 1600))
    assert open_ids(again, "old") == ["b0000001"]
    assert [e.episode for e in again.episodes("old")] == list(range(1, 1601))
    assert [e.episode for e in api_episodes(mongo_settings, "old", 1600)] == list(range(1, 1601))
    run = again.get_run("old")
    assert run.summary.episodes == 1600
    again.close()
