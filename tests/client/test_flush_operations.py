"""What one ``log_episode`` + ``flush()`` costs the database: the operations the run logger sends.

FerretDB (the embedded default) answers every operation with a pass over a collection, so the number of
operations per flush is what a per-episode flush costs. Counted with PyMongo's command monitoring on
a real FerretDB: a flush with one new episode is one statement (the fenced home update, which carries
the heartbeat and the open episode bucket with its statistics), touches only the run's own home
collection and reads nothing. A regression that adds a read or a write per flush fails here.
"""

from __future__ import annotations

import threading
import time

import pytest
from pymongo import MongoClient, monitoring
from trainyard_client.run_logger import TrainingRunLogger
from trainyard_runstore import layout
from trainyard_runstore.sync_store import RunStore

pytestmark = pytest.mark.mongo


class Recorder(monitoring.CommandListener):
    def __init__(self) -> None:
        self.commands: list[tuple[str, str, int]] = []  # (command, collection, statements)

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        target = event.command.get(event.command_name)
        if isinstance(target, str):
            statements = len(event.command.get("updates") or []) or 1
            self.commands.append((event.command_name, target, statements))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def _home(store: RunStore, run_id: str) -> dict:
    """The run's stored home document as it is (every field the writes touch)."""
    doc = store.home(run_id).find_one(layout.HOME_KEY)
    assert doc is not None
    return doc


def _logger(settings, tmp_path, rec: Recorder) -> TrainingRunLogger:
    client: MongoClient = MongoClient(settings.uri, event_listeners=[rec], **settings.client_kwargs())
    return TrainingRunLogger(agent_id="flush", spill_dir=tmp_path, mongo=settings, flush_interval=5.0,
                             heartbeat_interval=3600, store=RunStore(settings, client))


def test_a_flush_of_one_episode_is_one_round_trip_to_the_runs_own_collection(mongo_settings, tmp_path,
                                                                               monkeypatch):
    monkeypatch.setattr(layout, "INDEX_REFRESH_SECONDS", 3600.0)  # the list's refresh is timed, not per flush
    rec = Recorder()
    logger = _logger(mongo_settings, tmp_path, rec)
    logger.start()
    logger.log_episode(1.0, 10, win=True)
    assert logger.flush()  # the first write also refreshes the run index once
    per_flush = []
    for i in range(20):
        start = len(rec.commands)
        logger.log_episode(float(i), 10, win=i % 2 == 0, timestep=i * 10)
        assert logger.flush()
        per_flush.append(rec.commands[start:])
    logger.close()

    expected = [("update", layout.home(logger.run_id), 1)]  # the home document, holding the open bucket
    assert all(cmds == expected for cmds in per_flush), per_flush
    store = RunStore(mongo_settings)
    run = _home(store, logger.run_id)
    assert run["summary"]["episodes"] == 21 and run["heartbeat"]["episode"] == 21
    assert [e.episode for e in store.episodes(logger.run_id)] == list(range(1, 22))
    store.close()


def test_a_flush_with_a_custom_metric_still_writes_its_declaration_in_the_same_round_trip(mongo_settings,
                                                                                           tmp_path, monkeypatch):
    monkeypatch.setattr(layout, "INDEX_REFRESH_SECONDS", 3600.0)
    rec = Recorder()
    logger = _logger(mongo_settings, tmp_path, rec)
    logger.start()
    logger.log_episode(1.0, 10)
    assert logger.flush()
    start = len(rec.commands)
    logger.log_episode(2.0, 10, metrics={"opponent_score": 3})
    assert logger.flush()
    assert [c[0] for c in rec.commands[start:]] == ["update"]
    logger.close()
    store = RunStore(mongo_settings)
    assert "opponent_score" in _home(store, logger.run_id)["metric_specs"]
    assert store.episodes(logger.run_id)[-1].metrics == {"opponent_score": 3.0}
    store.close()


def test_a_heartbeat_alone_revives_a_lost_run_and_keeps_its_whole_record(mongo_settings, tmp_path):
    """A cycle with nothing but a due heartbeat, on a run the sweeper has just declared Lost: the
    refused beat revives the run (``liveness.heartbeat``) and nothing else of the record changes."""
    logger = TrainingRunLogger(agent_id="beat", spill_dir=tmp_path, mongo=mongo_settings, flush_interval=0.05,
                               heartbeat_interval=0.1)
    logger.start()
    logger.log_episode(1.0, 10)
    assert logger.flush()
    store = RunStore(mongo_settings)
    before = _home(store, logger.run_id)
    assert store.mark_lost(0.0, noticed_by="sweeper") == [logger.run_id]
    deadline = time.monotonic() + 60
    while _home(store, logger.run_id)["status"] != "running" and time.monotonic() < deadline:
        time.sleep(0.05)
    logger.close()
    run = _home(store, logger.run_id)
    assert run["status"] == "running" and "error" not in run["metadata"] and "revived_at" in run["metadata"]
    for field in ("run_id", "agent_id", "start_time", "fence", "config", "summary", "last_episode"):
        assert run.get(field) == before.get(field), field
    assert run["metadata"]["attempts"] == before["metadata"]["attempts"]
    store.close()


def test_close_writes_what_is_left_without_waiting_out_the_flush_interval(mongo_settings, tmp_path):
    """A trainer that ends is not held for its flush interval (up to 60 s in the trainer's settings):
    close() writes the rest at once. It used to pause one more interval after that write."""
    logger = TrainingRunLogger(agent_id="close", spill_dir=tmp_path, mongo=mongo_settings, flush_interval=300)
    logger.start()
    for i in range(50):
        logger.log_episode(float(i), 10)
    closer = threading.Thread(target=logger.close)
    closer.start()
    closer.join(120)  # far below the interval: the old wait cannot pass for a slow machine
    assert not closer.is_alive(), "close() waited for the flush interval"
    store = RunStore(mongo_settings)
    assert [e.episode for e in store.episodes(logger.run_id)] == list(range(1, 51))
    store.close()
