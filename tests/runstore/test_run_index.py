"""The run list's read model answers exactly as the query on the run index, and follows its changes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from trainyard_runstore import layout, run_index
from trainyard_runstore.async_store import AsyncRunStore
from trainyard_runstore.schema import RunRecord, RunStats, RunStatus
from trainyard_runstore.sync_store import RunStore

pytestmark = pytest.mark.mongo

T0 = datetime(2026, 1, 1, tzinfo=UTC)
STATUSES = [RunStatus.RUNNING, RunStatus.COMPLETED, RunStatus.FAILED]


def seed(store: RunStore, n: int = 40) -> None:
    """Runs with ties, nulls and every status, so sorts and filters meet their edge cases."""
    for i in range(n):
        done = i % 3 != 0
        summary = RunStats(episodes=(i * 7) % 11, mean_reward=None if i % 5 == 0 else (i % 4) - 1.5,
                           final_metric=None if i % 6 == 0 else i / 10)
        store.create_run(RunRecord(run_id=f"Run-{i:03d}", agent_id=f"agent_{i % 4}", algorithm=["PPO", "DQN"][i % 2],
                                   start_time=T0 + timedelta(minutes=i // 2),  # pairs share a start time
                                   summary=summary, config={"env_id": "e"}))
        if done:
            store.set_status(f"Run-{i:03d}", STATUSES[1 + i % 2])


FILTERS = [
    {},
    {"agent_id": "agent_1"},
    {"status": "completed"},
    {"algorithm": "DQN", "status": "failed"},
    {"q": "run-01"},  # case-insensitive substring
    {"q": "GENT_3"},
    {"started_after": T0 + timedelta(minutes=5), "started_before": T0 + timedelta(minutes=12)},
    {"started_after": (T0 + timedelta(minutes=15)).replace(tzinfo=None)},  # naive means UTC
    {"agent_id": "nobody"},
]


def test_the_read_model_answers_as_the_query_on_the_index(store, mongo_settings):
    seed(store)

    async def compare(api: AsyncRunStore):
        await api.index_version()
        coll = api.db[layout.RUNS]
        for flt in FILTERS:
            for name in layout.SORT_FIELDS:
                for sort in (name, f"-{name}"):
                    mongo = layout.list_filter(**flt)
                    want = await coll.find(mongo).sort(layout.list_sort(sort)).skip(3).limit(10).to_list()
                    page, total = await api.list_runs(filters=flt, sort=sort, limit=10, offset=3)
                    assert [d.run_id for d in page] == [d["run_id"] for d in want], (flt, sort)
                    assert total == await coll.count_documents(mongo), (flt, sort)

    async def compare_after_changes():
        api = AsyncRunStore(mongo_settings)
        await compare(api)
        # Changes followed through the log keep the sorted answers right (moved, not sorted again).
        for i in (0, 7, 13, 39):
            await asyncio.to_thread(store.set_status, f"Run-{i:03d}", RunStatus.FAILED)
        await asyncio.to_thread(store.create_run, RunRecord(run_id="Run-100", agent_id="agent_1", start_time=T0))
        await compare(api)
        assert api.index.reloads == 1
        await api.close()

    asyncio.run(compare_after_changes())


def test_the_read_model_follows_changes_and_recovers_from_a_gap(store, mongo_settings, monkeypatch):
    seed(store, 5)

    async def follow():
        api = AsyncRunStore(mongo_settings)
        v0 = await api.index_version()
        store.set_status("Run-000", RunStatus.COMPLETED)
        v1 = await api.index_version()
        assert v1 > v0
        page, _ = await api.list_runs(filters={"status": "completed"}, sort="run_id", limit=5)
        assert "Run-000" in [d.run_id for d in page]
        assert api.index.reloads == 1

        # A writer that moved the version and died before logging its change: the model holds
        # (same token) until the gap outlives GAP_SECONDS, then reloads the index.
        store.db[layout.META].update_one(layout.INDEX_VERSION_KEY, {"$inc": {"version": 1}})
        store.db[layout.RUNS].update_one(layout.run_key("Run-001"), {"$set": {"status": "failed"}})
        monkeypatch.setattr(run_index, "GAP_SECONDS", 3600.0)
        assert await api.index_version() == v1
        monkeypatch.setattr(run_index, "GAP_SECONDS", 0.0)
        assert await api.index_version() == v1 + 1
        assert api.index.reloads == 2
        page, total = await api.list_runs(filters={"status": "failed"}, sort="run_id", limit=5)
        assert [d.run_id for d in page] == ["Run-001"] and total == 1

        # A bulk write logs a reload request.
        store.db[layout.RUNS].delete_one(layout.run_key("Run-004"))
        store.bump_index_version()
        _, total = await api.list_runs(filters={}, sort="run_id", limit=5)
        assert total == 5  # not yet refreshed
        await api.index_version()
        _, total = await api.list_runs(filters={}, sort="run_id", limit=5)
        assert total == 4 and api.index.reloads == 3
        await api.close()

    asyncio.run(follow())


def test_writers_trim_the_index_log(store, monkeypatch):
    monkeypatch.setattr(layout, "INDEX_LOG_KEEP", 10)
    monkeypatch.setattr(layout, "INDEX_LOG_TRIM_EVERY", 5)
    store.create_run(RunRecord(run_id="r", agent_id="a"))
    for i in range(30):
        store.set_metadata("r", n=i)
    version = store.db[layout.META].find_one(layout.INDEX_VERSION_KEY)["version"]
    kept = sorted(d["_id"] for d in store.db[layout.INDEX_LOG].find({}))
    assert kept[-1] == version and len(kept) <= 10 + 5
    assert store.db[layout.INDEX_LOG].find_one({"_id": version})["doc"]["metadata"] == {"n": 29}


def test_concurrent_lists_follow_the_log_without_reloading(store, mongo_settings):
    seed(store, 3)

    async def many():
        api = AsyncRunStore(mongo_settings)
        await api.index_version()
        for i in range(5):
            store.set_metadata("Run-000", n=i)
            versions = await asyncio.gather(*(api.index_version() for _ in range(8)))
            assert len(set(versions)) == 1
        page, _ = await api.list_runs(filters={"q": "run-000"}, sort="run_id", limit=5)
        assert page[0].metadata.model_dump() == {"n": 4} and api.index.reloads == 1
        await api.close()

    asyncio.run(many())


def test_a_writer_whose_version_was_taken_logs_its_change_under_the_next_one(store, mongo_settings):
    # Two writers drawing the same version (seen on FerretDB: a starting trainer and the API's Lost
    # sweep) made the second one's log insert fail, and the trainer then believed MongoDB unreachable.
    store.create_run(RunRecord(run_id="r", agent_id="a"))
    taken = store.db[layout.META].find_one(layout.INDEX_VERSION_KEY)["version"] + 1
    store.db[layout.INDEX_LOG].insert_one(layout.index_log_entry(taken, {"run_id": "other"}))
    store.set_status("r", RunStatus.COMPLETED)
    mine = store.db[layout.INDEX_LOG].find_one({"_id": taken + 1})
    assert mine["doc"]["run_id"] == "r" and mine["doc"]["status"] == "completed"

    async def async_side() -> None:
        api = AsyncRunStore(mongo_settings)
        try:
            taken = (await api.db[layout.META].find_one(layout.INDEX_VERSION_KEY))["version"] + 1
            await api.db[layout.INDEX_LOG].insert_one(layout.index_log_entry(taken, {"run_id": "other"}))
            await api._sync_index("r")
            assert (await api.db[layout.INDEX_LOG].find_one({"_id": taken + 1}))["doc"]["run_id"] == "r"
        finally:
            await api.close()

    asyncio.run(async_side())


def test_after_a_few_changes_the_model_reads_only_the_new_log_entries_by_their_id(store, mongo_settings):
    """FerretDB answers an exact ``_id`` from its primary key but a range by a pass over the whole log
    (up to a thousand run entries): right after a change, the new entries are read one ``_id`` each.
    Many changes at once are read with one range; either way the model stays exact without a reload."""
    from pymongo import AsyncMongoClient, monitoring

    class LogReads(monitoring.CommandListener):
        def __init__(self):
            self.filters: list[dict] = []

        def started(self, event):
            if event.command_name == "find" and event.command["find"] == layout.INDEX_LOG:
                self.filters.append(event.command["filter"])

        def succeeded(self, event):
            pass

        def failed(self, event):
            pass

    seed(store, 3)
    reads = LogReads()

    async def follow():
        client = AsyncMongoClient(mongo_settings.uri, event_listeners=[reads], **mongo_settings.client_kwargs())
        view = run_index.RunIndexView(client[mongo_settings.db_name])
        await view.refresh()
        store.set_metadata("Run-000", n=1)
        store.set_metadata("Run-001", n=2)
        version = await view.refresh()
        assert sorted(reads.filters, key=lambda f: f["_id"]) == [{"_id": version - 1}, {"_id": version}]
        reads.filters.clear()
        for i in range(run_index._EXACT_READS + 5):  # noqa: SLF001
            store.set_metadata("Run-002", n=i)
        await view.refresh()
        assert reads.filters == [layout.index_log_after(version)]
        page, _ = view.query({}, "run_id", 3)
        assert [d["metadata"] for d in page] == [{"n": 1}, {"n": 2}, {"n": run_index._EXACT_READS + 4}]  # noqa: SLF001
        assert view.reloads == 1
        await client.close()

    asyncio.run(follow())
