"""TrainingRunLogger against a real FerretDB: batching, win rates, replay, outages, status."""

import time

import pytest
from pymongo import monitoring
from trainyard_client import spill, wal
from trainyard_client.run_logger import RollingWinRate, TrainingRunLogger
from trainyard_runstore import layout, rows
from trainyard_runstore.schema import RunStatus
from trainyard_runstore.settings import MongoSettings
from trainyard_runstore.sync_store import RunStore
from trainyard_trainer.cli import main as cli_main


def wait_until(cond, timeout=15.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.unit
def test_rolling_win_rate_on_a_known_sequence():
    wr = RollingWinRate(window=3)
    values = [wr.add(w) for w in [True, False, None, True, True, False, False]]
    assert values == pytest.approx([1.0, 0.5, 0.5, 2 / 3, 2 / 3, 2 / 3, 1 / 3])


class CountingListener(monitoring.CommandListener):
    def __init__(self):
        self.commands = []

    def started(self, event):
        self.commands.append((event.command_name, event.command.get(event.command_name)))

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


@pytest.mark.mongo
def test_episodes_are_batched_off_the_training_thread(mongo_settings, tmp_path):
    listener = CountingListener()
    from pymongo import MongoClient

    client = MongoClient(mongo_settings.uri, event_listeners=[listener], **mongo_settings.client_kwargs())
    logger = TrainingRunLogger(agent_id="a", spill_dir=tmp_path, store=RunStore(mongo_settings, client),
                               flush_interval=0.3)
    logger.start()
    for i in range(500):
        logger.log_episode(float(i), 10, win=i % 2 == 0)
    logger.close()
    # Episodes reach the run's home collection (open bucket, page, summary) in one update per batch.
    episode_writes = [c for c in listener.commands if c == ("update", layout.home(logger.run_id))]
    assert 1 <= len(episode_writes) <= 10, f"500 episodes should take a few batched writes, got {len(episode_writes)}"
    check = RunStore(mongo_settings)
    assert [e.episode for e in check.episodes(logger.run_id)] == list(range(1, 501))
    assert check.get_run(logger.run_id).summary.final_win_rate == pytest.approx(0.5)


@pytest.mark.mongo
def test_status_checkpoints_and_failure_metadata(mongo_settings, tmp_path):
    from trainyard_client.run_logger import error_info

    logger = TrainingRunLogger(agent_id="a", config={"lr": 0.1}, spill_dir=tmp_path, mongo=mongo_settings)
    logger.start()
    for _i in range(5):
        logger.log_episode(1.0, 3)
    logger.log_checkpoint("ck/1.zip", timestep=15)
    try:
        raise ValueError("reward went NaN")
    except ValueError as exc:
        logger.set_status(RunStatus.FAILED, error_info(exc))
    logger.close()
    run = RunStore(mongo_settings).get_run(logger.run_id)
    assert run.status == "failed" and run.end_time is not None
    assert run.config.model_dump() == {"lr": 0.1}
    assert run.checkpoint_paths[0].path == "ck/1.zip" and run.checkpoint_paths[0].episode == 5
    err = run.metadata.error
    assert err.type == "ValueError" and err.message == "reward went NaN"
    assert any("raise ValueError" in line for line in err.traceback)


@pytest.mark.mongo
def test_resumed_logger_continues_numbering_and_win_window(mongo_settings, tmp_path):
    first = TrainingRunLogger(agent_id="a", spill_dir=tmp_path, mongo=mongo_settings, win_window=4)
    first.start()
    for w in [True, True, False, False, True]:
        first.log_episode(1.0, 1, win=w)
    first.close()
    second = TrainingRunLogger(agent_id="a", run_id=first.run_id, spill_dir=tmp_path, mongo=mongo_settings,
                               win_window=4)
    second.start()
    ep = second.log_episode(1.0, 1, win=True)
    second.close()
    assert ep.episode == 6
    # the window carried over from the database is [T, F, F, T]; adding T gives [F, F, T, T]
    assert ep.win_rate == pytest.approx(2 / 4)
    episodes = RunStore(mongo_settings).episodes(first.run_id)
    assert [e.episode for e in episodes] == [1, 2, 3, 4, 5, 6]


@pytest.mark.mongo
def test_outage_at_start_and_mid_run_loses_and_duplicates_nothing(own_ferretdb, tmp_path):
    settings = MongoSettings(uri=own_ferretdb.uri, db_name="outage", timeout_ms=300)
    own_ferretdb.stop()  # down before the run starts
    logger = TrainingRunLogger(agent_id="a", spill_dir=tmp_path, mongo=settings, buffer_size=50,
                               flush_interval=0.1)
    logger.start()
    for i in range(120):  # more than one batch: read back from the write-ahead log, not held in memory
        logger.log_episode(float(i), 1, win=True)
    assert logger.wal.pending_bytes(logger.wal.committed) > 0
    own_ferretdb.start()
    wait_until(lambda: logger.db_ok and logger.buffered == 0, what="the log to drain")
    own_ferretdb.stop()  # and a second outage mid-run
    for i in range(120, 200):
        logger.log_episode(float(i), 1, win=False)
    time.sleep(1.0)
    own_ferretdb.start()
    logger.set_status(RunStatus.COMPLETED)
    logger.close()
    store = RunStore(settings)
    assert [e.episode for e in store.episodes(logger.run_id)] == list(range(1, 201))
    run = store.get_run(logger.run_id)
    assert run.status == "completed" and run.summary.episodes == 200
    assert wal.segments(logger.run_dir) == []  # everything written: the log is gone


@pytest.mark.mongo
def test_log_left_at_exit_is_written_by_the_sweep(own_ferretdb, tmp_path, monkeypatch):
    settings = MongoSettings(uri=own_ferretdb.uri, db_name="replay", timeout_ms=300)
    logger = TrainingRunLogger(agent_id="a", spill_dir=tmp_path, mongo=settings, flush_interval=0.1)
    logger.start()
    for i in range(30):
        logger.log_episode(float(i), 1)
    wait_until(lambda: logger.episodes_written == 30, what="the first 30 episodes")
    own_ferretdb.stop()
    for i in range(30, 75):
        logger.log_episode(float(i), 1)
    logger.log_checkpoint("ck/final.zip", timestep=750)
    logger.set_status(RunStatus.COMPLETED)
    logger.close()  # database still down: the rest stays in the write-ahead log
    assert wal.segments(logger.run_dir)
    own_ferretdb.start()
    monkeypatch.setenv("MONGODB_URI", settings.uri)
    monkeypatch.setenv("MONGODB_DB_NAME", settings.db_name)
    assert cli_main(["sweep", "--checkpoint-dir", str(tmp_path), "--timeout", "0"]) == 0
    assert cli_main(["sweep", "--checkpoint-dir", str(tmp_path), "--timeout", "0"]) == 0  # nothing twice
    store = RunStore(settings)
    assert [e.episode for e in store.episodes(logger.run_id)] == list(range(1, 76))
    run = store.get_run(logger.run_id)
    assert run.status == "completed"  # the trainer's own outcome, not a Lost verdict
    assert run.checkpoint_paths[-1].path == "ck/final.zip"
    assert wal.segments(logger.run_dir) == []


@pytest.mark.mongo
def test_spill_file_of_an_older_trainer_is_replayed_by_the_cli(mongo_settings, tmp_path, monkeypatch):
    from trainyard_runstore.schema import Episode, RunRecord

    path = tmp_path / "r1" / spill.SPILL_NAME
    spill.append(path, [spill.Op("run", RunRecord(run_id="r1", agent_id="a"))]
                 + [spill.Op("episode", rows.of(Episode(episode=i, total_reward=1.0, steps=1))) for i in range(1, 11)]
                 + [spill.Op("status", {"status": "completed"})])
    monkeypatch.setenv("MONGODB_URI", mongo_settings.uri)
    monkeypatch.setenv("MONGODB_DB_NAME", mongo_settings.db_name)
    assert cli_main(["replay", str(path)]) == 0
    assert cli_main(["replay", str(path)]) == 2  # renamed after success: not replayed twice
    store = RunStore(mongo_settings)
    assert [e.episode for e in store.episodes("r1")] == list(range(1, 11))
    assert store.get_run("r1").status == "completed"


@pytest.mark.mongo
def test_flush_waits_until_everything_logged_is_stored(mongo_settings, tmp_path):
    logger = TrainingRunLogger(agent_id="a", spill_dir=tmp_path, mongo=mongo_settings, flush_interval=5.0)
    logger.start()
    for i in range(50):
        logger.log_episode(float(i), 1)
    assert logger.flush(timeout=20)  # without waiting the 5 s flush interval
    assert len(RunStore(mongo_settings).episodes(logger.run_id)) == 50
    logger.close()


@pytest.mark.mongo
def test_flush_does_not_block_training_while_the_database_is_down(own_ferretdb, tmp_path):
    settings = MongoSettings(uri=own_ferretdb.uri, db_name="f", timeout_ms=300)
    own_ferretdb.stop()
    logger = TrainingRunLogger(agent_id="a", spill_dir=tmp_path, mongo=settings, flush_interval=0.1)
    logger.start()
    logger.log_episode(1.0, 1)
    t0 = time.monotonic()
    assert logger.flush(timeout=20) is False
    assert time.monotonic() - t0 < 2
    logger.close()
