"""The open episode bucket lives in the run's home document (layout 4), so a flush is one statement.

What a user would notice if this went wrong is a history with holes or doubles, or a chart whose last
stretch is missing: these tests write through a real FerretDB and read back through both stores (the
trainer's sync one and the API's async one) while the open bucket moves on, after a crash in the middle
of a move, and on runs written by layouts 2 and 3 (open bucket in the episodes collection, or as a
document of its own in the home collection).
"""

from __future__ import annotations

import asyncio

import pytest
from pymongo import MongoClient, monitoring
from trainyard_runstore import layout, rows
from trainyard_runstore.async_store import AsyncRunStore
from trainyard_runstore.schema import Episode, RunRecord
from trainyard_runstore.sync_store import RunStore

pytestmark = pytest.mark.mongo


def eps(first: int, last: int, reward: float = 1.0) -> list[Episode]:
    return [Episode(episode=i, total_reward=reward, steps=3, timestep=i * 3) for i in range(first, last + 1)]


def api(settings, read):
    async def run():
        store = AsyncRunStore(settings)
        try:
            return await read(store)
        finally:
            await store.close()
    return asyncio.run(run())


def api_episodes(settings, run_id: str, last: int) -> list[Episode]:
    return api(settings, lambda s: s.episodes(run_id, 1, last))


def sealed_ids(store: RunStore, run_id: str) -> list[str]:
    return [d["_id"] for d in store.db[layout.episodes_collection(run_id)].find({}, {"_id": 1}).sort("_id", 1)]


def open_bucket(store: RunStore, run_id: str) -> int | None:
    found = store.home(run_id).find_one(layout.HOME_KEY, {"open.bucket": 1}) or {}
    return (found.get(layout.OPEN) or {}).get("bucket")


def resident_ids(store: RunStore, run_id: str) -> list[str]:
    return [d["_id"] for d in store.home(run_id).find(layout.RESIDENTS, {"_id": 1}).sort("_id", 1)]


class Counter(monitoring.CommandListener):
    def __init__(self):
        self.writes: list[str] = []

    def started(self, event):
        if event.command_name in ("update", "insert", "delete"):
            self.writes.append(event.command_name)
            self.writes.extend("+" for _ in event.command.get("updates", [])[1:])  # statements after the first

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


def test_a_flush_into_the_open_bucket_is_one_statement_and_the_bucket_moves_out_once_passed(mongo_settings):
    counter = Counter()
    store = RunStore(mongo_settings, MongoClient(mongo_settings.uri, event_listeners=[counter],
                                                 **mongo_settings.client_kwargs()))
    store.create_run(RunRecord(run_id="r", agent_id="a"))
    w = store.writer("r")
    w.write_episodes(eps(1, 1))
    counter.writes.clear()
    for first in range(2, 1001, 111):
        w.write_episodes(eps(first, min(first + 110, 1000)))
    assert counter.writes == ["update"] * 9  # one statement each: no page, no bucket document
    assert sealed_ids(store, "r") == [] and open_bucket(store, "r") == 0
    w.write_episodes(eps(1001, 1001))
    assert sealed_ids(store, "r") == ["0000000", "0000001"] and open_bucket(store, "r") == 1
    w.write_episodes(eps(995, 1010, reward=2.0))  # a replay across the boundary: sealed and open bucket
    expected = [1.0] * 994 + [2.0] * 16
    assert [e.total_reward for e in store.episodes("r")] == expected
    assert [e.total_reward for e in api_episodes(mongo_settings, "r", 1010)] == expected
    store.close()


def test_a_crash_in_the_middle_of_a_move_loses_and_doubles_nothing(store, mongo_settings, monkeypatch):
    store.create_run(RunRecord(run_id="r", agent_id="a"))
    store.writer("r").write_episodes(eps(1, 1000))
    calls = []
    real = store.update_home

    def dies_before_the_new_open_bucket(run_id, update, docs=()):
        calls.append(update)
        if len(calls) == 2:
            raise ConnectionError("killed")  # after the home document and the seals, before the move home
        real(run_id, update, docs)

    monkeypatch.setattr(store, "update_home", dies_before_the_new_open_bucket)
    with pytest.raises(ConnectionError):
        store.writer("r").write_episodes(eps(1001, 1200))
    monkeypatch.undo()
    assert open_bucket(store, "r") == 0 and sealed_ids(store, "r") == ["0000000", "0000001"]
    assert [e.episode for e in store.episodes("r")] == list(range(1, 1201))
    assert [e.episode for e in api_episodes(mongo_settings, "r", 1200)] == list(range(1, 1201))

    resumed = RunStore(mongo_settings)  # the next process finishes the move with its first write
    resumed.writer("r").write_episodes(eps(1201, 1300))
    assert open_bucket(resumed, "r") == 1
    assert [e.episode for e in resumed.episodes("r")] == list(range(1, 1301))
    assert resumed.get_run("r").summary.episodes == 1300
    resumed.close()


def test_the_statistics_of_the_open_bucket_come_from_home_while_the_page_lags(store, mongo_settings):
    store.create_run(RunRecord(run_id="r", agent_id="a"))
    w = store.writer("r")
    w.write_episodes(eps(1, 1500))  # the page is written with the move: bucket 1 as far as 1500
    for first in range(1501, 1901, 100):  # then only the home document: the page still says 1500
        w.write_episodes([Episode(episode=i, total_reward=float(i), steps=3) for i in range(first, first + 100)])
    page = layout.page_subs(store.home("r").find_one(layout.page_key(0)))
    assert page[1][-1].last == 1500

    subs = api(mongo_settings, lambda s: s.sub_stats("r", 1, 1900))
    assert [s.count for s in subs] == [100] * 19 and subs[-1].aggs["total_reward"].max == 1900.0
    series = api(mongo_settings, lambda s: s.series("r", total=1900, max_points=5))  # from the statistics rows
    assert sum(p["count"] for p in series.episodes) == 1900 and series.episodes[-1]["episode"] == 1900
    assert series.episodes[-1]["total_reward_max"] == 1900.0

    again = RunStore(mongo_settings)  # a resumed writer folds the same statistics
    again.writer("r").write_episodes(eps(1901, 1901))
    assert again.get_run("r").summary.max_reward == 1900.0
    again.close()


def test_a_layout_2_run_is_read_as_it_is_and_its_next_write_opens_a_bucket_at_home(store, mongo_settings):
    store.create_run(RunRecord(run_id="old", agent_id="a"))
    store.writer("old").import_episodes(eps(1, 1500))  # every bucket in the episodes collection, as layout 2
    assert sealed_ids(store, "old") == ["0000000", "0000001"] and open_bucket(store, "old") is None
    assert [e.episode for e in api_episodes(mongo_settings, "old", 1500)] == list(range(1, 1501))

    again = RunStore(mongo_settings)  # a resumed trainer of the new version
    again.writer("old").write_episodes(eps(1501, 1600))
    assert open_bucket(again, "old") == 1
    assert [e.episode for e in again.episodes("old")] == list(range(1, 1601))
    assert [e.episode for e in api_episodes(mongo_settings, "old", 1600)] == list(range(1, 1601))
    assert again.get_run("old").summary.episodes == 1600
    again.close()


def test_a_layout_3_run_is_read_as_it_is_and_its_next_write_moves_its_open_bucket(store, mongo_settings):
    store.create_run(RunRecord(run_id="old", agent_id="a"))
    store.writer("old").import_episodes(eps(1, 1000))
    # layout 3's open bucket document
    store.home("old").insert_one(layout.resident_doc(1, [rows.of(e) for e in eps(1001, 1400)]))
    store.home("old").update_one(layout.HOME_KEY, {"$set": {"last_episode": layout.episode_to_doc(eps(1400, 1400)[0]),
                                                           "summary.episodes": 1400, "summary.last_episode": 1400}})
    assert [e.episode for e in store.episodes("old")] == list(range(1, 1401))
    assert [e.episode for e in api_episodes(mongo_settings, "old", 1400)] == list(range(1, 1401))

    again = RunStore(mongo_settings)
    again.writer("old").write_episodes(eps(1401, 1500))
    assert resident_ids(again, "old") == [] and open_bucket(again, "old") == 1
    assert [e.episode for e in again.episodes("old")] == list(range(1, 1501))
    assert [e.episode for e in api_episodes(mongo_settings, "old", 1500)] == list(range(1, 1501))
    again.close()
