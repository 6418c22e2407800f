"""The run logger against a real FerretDB when things go wrong: refused ops, stale writers, lost runs,
replayed statuses. Each test names the history defect it guards against."""

import json
from datetime import timedelta

import pytest
from trainyard_client import deadletter
from trainyard_client.run_logger import TrainingRunLogger
from trainyard_runstore.schema import RunStatus, utcnow
from trainyard_runstore.sync_store import RunStore

from tests.trainer.test_run_logger import wait_until


def _logger(mongo_settings, tmp_path, run_id=None, **kw):
    return TrainingRunLogger(agent_id="a", run_id=run_id, spill_dir=tmp_path, mongo=mongo_settings,
                             flush_interval=0.1, **kw)


@pytest.mark.mongo
def test_a_permanently_refused_op_is_dead_lettered_and_later_writes_land(mongo_settings, tmp_path):
    logger = _logger(mongo_settings, tmp_path)
    logger.start()
    for _ in range(5):
        logger.log_episode(1.0, 3)
    logger.log_episode(1.0, 2**70)  # BSON holds 8-byte integers only: MongoDB can never store this one
    for _ in range(5):
        logger.log_episode(2.0, 3)
    logger.set_status(RunStatus.COMPLETED)
    logger.close()
    store = RunStore(mongo_settings)
    assert [e.episode for e in store.episodes(logger.run_id)] == [1, 2, 3, 4, 5, 7, 8, 9, 10, 11]
    assert store.get_run(logger.run_id).status == "completed"
    lines = [json.loads(x) for x in (logger.run_dir / deadletter.DEAD_LETTER_NAME).read_text().splitlines()]
    assert [(x["op"], x["data"]["episode"]) for x in lines] == [("episode", 6)]
    assert "8-byte" in lines[0]["error"]["message"] or lines[0]["error"]["type"] in {"OverflowError", "InvalidDocument"}
    assert logger.dead_lettered == 1


@pytest.mark.mongo
def test_a_stale_writer_is_refused_not_merged(mongo_settings, tmp_path):
    old = _logger(mongo_settings, tmp_path / "node-a")
    old.start()
    for _ in range(10):
        old.log_episode(1.0, 1)
    assert old.flush(timeout=20)
    # The same run started again elsewhere (a reused --run-id, a pod on another node): attempt 2.
    new = _logger(mongo_settings, tmp_path / "node-b", run_id=old.run_id)
    new.start()
    assert (old.attempt_no, new.attempt_no) == (1, 2)
    for _ in range(5):
        new.log_episode(2.0, 1)
    for _ in range(10):  # the stale writer goes on logging: episodes 11..20 with reward 1
        old.log_episode(1.0, 1)
    old.set_status(RunStatus.FAILED)
    wait_until(lambda: old.stale, what="the stale writer to be refused")
    old.log_episode(1.0, 1)  # training may go on in the stale process; nothing it logs reaches the run
    assert new.flush(timeout=20)
    new.close()
    old.close()
    store = RunStore(mongo_settings)
    episodes = store.episodes(old.run_id)
    assert [e.episode for e in episodes] == list(range(1, 16))
    assert [e.total_reward for e in episodes[10:]] == [2.0] * 5  # the new attempt's, not merged with the old
    run = store.get_run(old.run_id)
    assert run.status == "running"  # the stale writer's "failed" was refused
    assert [a.attempt for a in run.metadata.attempts] == [1, 2]
    assert list((tmp_path / "node-a" / old.run_id).glob("*.refused"))


@pytest.mark.mongo
def test_lost_verdict_and_revival_by_a_later_heartbeat(mongo_settings, tmp_path):
    logger = _logger(mongo_settings, tmp_path, heartbeat_interval=3600)
    logger.start()
    logger.log_episode(1.0, 1)
    assert logger.flush(timeout=20)
    store = RunStore(mongo_settings)
    # no heartbeat for "timeout" seconds (0 here): the sweeper's verdict
    assert store.mark_lost(0.0, noticed_by="sweeper") == [logger.run_id]
    run = store.get_run(logger.run_id)
    err = run.metadata.error
    assert run.status == "failed" and err.type == "Lost" and err.last_episode == 1
    assert err.source == "sweeper" and err.last_heartbeat
    logger.log_episode(1.0, 1)  # the trainer was only cut off: its next flush heartbeats
    assert logger.flush(timeout=20)
    run = store.get_run(logger.run_id)
    assert run.status == "running" and run.metadata.error is None and run.end_time is None
    logger.set_status(RunStatus.COMPLETED)
    logger.close()
    assert store.get_run(logger.run_id).status == "completed"


@pytest.mark.mongo
def test_replayed_statuses_keep_their_time_and_never_move_a_run_back(store, tmp_path, mongo_settings):
    logger = _logger(mongo_settings, tmp_path)
    logger.start()
    logger.close()
    run_id = logger.run_id
    t0 = utcnow()
    assert store.set_status_at(run_id, RunStatus.COMPLETED, at=t0, attempt=1)
    run = store.get_run(run_id)
    assert abs((run.end_time.replace(tzinfo=t0.tzinfo) - t0).total_seconds()) < 0.01  # its own time, not now
    # an older status arriving later (a replayed log) is refused
    assert not store.set_status_at(run_id, RunStatus.FAILED, at=t0 - timedelta(seconds=5), attempt=1)
    assert store.get_run(run_id).status == "completed"
    # a restarted attempt 2 owns the run: attempt 1's terminal status from its log never applies again
    assert store.claim_run(run_id) == 2
    assert store.set_status_at(run_id, RunStatus.RUNNING, at=t0 + timedelta(seconds=1), attempt=2)
    assert not store.set_status_at(run_id, RunStatus.STOPPED, at=t0 + timedelta(seconds=2), attempt=1)
    assert store.get_run(run_id).status == "running"


@pytest.mark.mongo
def test_numbering_after_a_kill_does_not_depend_on_the_database(own_ferretdb, tmp_path):
    from trainyard_runstore.settings import MongoSettings

    settings = MongoSettings(uri=own_ferretdb.uri, db_name="n", timeout_ms=300)
    first = TrainingRunLogger(agent_id="a", spill_dir=tmp_path, mongo=settings, flush_interval=0.1)
    first.start()
    for _ in range(20):
        first.log_episode(1.0, 1)
    assert first.flush(timeout=20)
    first.close()  # everything written; the log folder keeps only the newest episode number
    own_ferretdb.stop()
    second = TrainingRunLogger(agent_id="a", run_id=first.run_id, spill_dir=tmp_path, mongo=settings,
                               flush_interval=0.1)
    second.start(resume_episode=5)  # the checkpoint is older than the stored episodes
    assert second.log_episode(1.0, 1).episode == 21
    own_ferretdb.start()
    wait_until(lambda: second.db_ok, timeout=30, what="the database to be back")
    assert second.flush(timeout=30)
    second.close()
    assert second.attempt_no == 2  # claimed once the database answered: nobody had claimed since attempt 1
    assert [e.episode for e in RunStore(settings).episodes(first.run_id)] == list(range(1, 22))
