"""One run's reads and writes touch only that run's documents, however crowded the database.

FerretDB (the embedded default) scans a whole collection for every operation, so an operation on a
collection shared with other runs costs more with every run added. These tests record every command
PyMongo sends and fail when a single-run read or write addresses a collection other than the run's
own (or does more operations in a crowded database than in an empty one).
"""

from __future__ import annotations

import asyncio

import pytest
from pymongo import AsyncMongoClient, MongoClient, monitoring
from trainyard_runstore import layout
from trainyard_runstore.async_store import AsyncRunStore
from trainyard_runstore.schema import Episode, Rollout, RunRecord
from trainyard_runstore.sync_store import RunStore

pytestmark = pytest.mark.mongo


class Recorder(monitoring.CommandListener):
    def __init__(self):
        self.commands: list[tuple[str, str]] = []

    def started(self, event):
        target = event.command.get(event.command_name)
        if isinstance(target, str):
            self.commands.append((event.command_name, target))

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


def eps(first, last):
    return [Episode(episode=i, total_reward=float(i % 9), steps=5, win=i % 3 == 0, timestep=i * 5, win_rate=0.3)
            for i in range(first, last + 1)]


def crowd(store: RunStore, n: int) -> None:
    for i in range(n):
        store.create_run(RunRecord(run_id=f"other-{i}", agent_id="crowd"))
        store.writer(f"other-{i}").import_episodes(eps(1, 2500))


def write_and_record(settings, run_id: str) -> list[tuple[str, str]]:
    """Create a run, then the logger's pattern: batches of episodes in quick succession, a rollout."""
    rec = Recorder()
    store = RunStore(settings, MongoClient(settings.uri, event_listeners=[rec], **settings.client_kwargs()))
    store.create_run(RunRecord(run_id=run_id, agent_id="me"))
    start = len(rec.commands)
    for first in range(1, 1600, 100):  # the logger asks the store for the writer at every flush
        store.writer(run_id).write_episodes(eps(first, first + 99))
    store.writer(run_id).write_rollouts([Rollout(rollout=1, timestep=100)])
    out = rec.commands[start:]
    store.close()
    return out


def read_and_record(settings, run_id: str) -> list[tuple[str, str]]:
    rec = Recorder()

    async def reads():
        store = AsyncRunStore(settings)
        store.client = AsyncMongoClient(settings.uri, event_listeners=[rec], **settings.client_kwargs())
        store.db = store.client[settings.db_name]
        await store.get_run(run_id)
        await store.series(run_id, total=1600, max_points=None)
        await store.series(run_id, total=1600, max_points=100)
        await store.series(run_id, total=1600, max_points=10)
        await store.rollouts(run_id, 1, 1)
        await store.game(run_id, 1)
        [c async for c in store.iter_columns(run_id, 1, 1600, ["total_reward"])]
        await store.close()

    asyncio.run(reads())
    return rec.commands


def test_writes_and_reads_of_one_run_touch_only_its_collections(store, mongo_settings, monkeypatch):
    # A refresh interval longer than the test, so a loaded machine cannot make the count vary.
    monkeypatch.setattr(layout, "INDEX_REFRESH_SECONDS", 3600.0)
    crowd(store, 5)
    own = set(layout.run_collections("mine"))
    writes = write_and_record(mongo_settings, "mine")
    shared = [c for c in writes if c[1] not in own]
    # 16 flushes within the refresh interval refresh the run index once.
    # (one update returning the new entry, which goes to the index log under the next version).
    assert [c for c in shared if c[1] == layout.RUNS] == [("findAndModify", layout.RUNS)], shared
    assert {c[1] for c in shared} <= {layout.RUNS, layout.META, layout.INDEX_LOG}
    reads = read_and_record(mongo_settings, "mine")
    assert reads and {c[1] for c in reads} <= own, reads


def test_a_write_issues_the_same_operations_in_a_crowded_database(ferretdb, monkeypatch):
    from tests.conftest import _settings

    monkeypatch.setattr(layout, "INDEX_REFRESH_SECONDS", 3600.0)  # no timed refresh on a slow machine

    empty, crowded = _settings(ferretdb), _settings(ferretdb)
    s = RunStore(crowded)
    crowd(s, 8)
    s.close()
    assert write_and_record(empty, "mine") == write_and_record(crowded, "mine")
    # Reads of a few buckets go out concurrently (one exact _id each), so their order may vary: the same ones.
    assert sorted(read_and_record(empty, "mine")) == sorted(read_and_record(crowded, "mine"))


def list_and_record(settings, change) -> tuple[list[tuple[str, str]], list[tuple[str, str]], int]:
    """A warm API's run list: (commands of an unchanged list, commands after ``change``, reloads)."""
    rec = Recorder()

    async def reads():
        store = AsyncRunStore(settings)
        await store.close()
        store.client = AsyncMongoClient(settings.uri, event_listeners=[rec], **settings.client_kwargs())
        store.db = store.client[settings.db_name]
        store.index.db = store.db
        await store.index_version()
        await store.list_runs(filters={}, sort="-start_time", limit=50)
        start = len(rec.commands)
        await store.index_version()
        await store.list_runs(filters={"agent_id": "crowd"}, sort="-episodes", limit=50)
        unchanged = rec.commands[start:]
        await asyncio.to_thread(change)
        start = len(rec.commands)
        await store.index_version()
        page, _ = await store.list_runs(filters={}, sort="-start_time", limit=50)
        changed = rec.commands[start:]
        assert page[0].run_id == "newest", "the list follows the index log"
        await store.close()
        return unchanged, changed, store.index.reloads

    return asyncio.run(reads())


def test_a_warm_run_list_reads_only_the_index_log_in_a_crowded_database(ferretdb, monkeypatch):
    from tests.conftest import _settings

    empty, crowded = _settings(ferretdb), _settings(ferretdb)
    s = RunStore(crowded)
    crowd(s, 8)
    s.close()
    results = []
    for settings in (empty, crowded):
        def change(settings=settings):
            store = RunStore(settings)
            store.create_run(RunRecord(run_id="newest", agent_id="me"))
            store.close()
        results.append(list_and_record(settings, change))
    (e_unchanged, e_changed, e_reloads), (c_unchanged, c_changed, c_reloads) = results
    # Unchanged: the version only; changed: the version and the log entries past it (one read each),
    # never the index.
    assert c_unchanged == e_unchanged == [("find", layout.META)]
    new_entries = len(e_changed) - 1
    assert new_entries >= 1
    assert c_changed == e_changed == [("find", layout.META)] + [("find", layout.INDEX_LOG)] * new_entries
    assert e_reloads == c_reloads == 1  # the first list only
