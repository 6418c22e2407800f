"""Fencing per write: once a newer attempt holds a run, every write of the stale attempt is refused
(episode buckets, stats pages, rollouts, checkpoints, metadata, evaluations, status) and nothing of it
lands, whether or not the new attempt has already written the same documents. Two real writers (two
``RunStore`` clients, as two trainer processes would hold) against a real FerretDB."""

from datetime import timedelta

import pytest
from trainyard_runstore import layout
from trainyard_runstore.liveness import StaleWriter
from trainyard_runstore.schema import Checkpoint, Episode, Rollout, RunRecord, RunStatus, utcnow
from trainyard_runstore.sync_store import RunStore

pytestmark = pytest.mark.mongo


def _eps(first, last, reward):
    return [Episode(episode=n, total_reward=reward, steps=10, win=True, time=utcnow()) for n in range(first, last + 1)]


def _snapshot(store: RunStore, run_id: str) -> dict:
    """Every document of the run (home, stats pages, rollout pages and episode buckets)."""
    home = list(store.home(run_id).find({}, {"heartbeat": 0}).sort("_id", 1))
    buckets = list(store.db[layout.episodes_collection(run_id)].find({}).sort("_id", 1))
    return {"home": home, "buckets": buckets}


@pytest.fixture
def two_writers(mongo_settings):
    old, new = RunStore(mongo_settings), RunStore(mongo_settings)
    run_id = "fenced"
    old.insert_run_if_missing(RunRecord(run_id=run_id, agent_id="a"))
    assert old.claim_run(run_id) == 1
    old.writer(run_id).write_episodes(_eps(1, 10, 1.0))  # the first attempt's history
    old.writer(run_id).write_rollouts([Rollout(rollout=1, timestep=100)])
    assert new.claim_run(run_id) == 2  # the run started again elsewhere
    yield run_id, old, new
    old.close()
    new.close()


def test_stale_bucket_write_is_refused_when_the_new_attempt_rewrote_the_bucket(two_writers):
    run_id, old, new = two_writers
    new.writer(run_id).write_episodes(_eps(11, 15, 2.0))  # same bucket as the stale writer's next write
    before = _snapshot(new, run_id)
    with pytest.raises(StaleWriter):
        old.writer(run_id).write_episodes(_eps(11, 20, 1.0))
    assert _snapshot(new, run_id) == before  # nothing of it landed: no bucket, no stats page, no summary
    episodes = new.episodes(run_id)
    assert [e.episode for e in episodes] == list(range(1, 16))
    assert [e.total_reward for e in episodes[10:]] == [2.0] * 5


def test_stale_write_is_refused_before_the_new_attempt_wrote_anything(two_writers):
    run_id, old, new = two_writers
    before = _snapshot(new, run_id)
    with pytest.raises(StaleWriter):
        old.writer(run_id).write_episodes(_eps(11, 20, 1.0))
    with pytest.raises(StaleWriter):
        old.writer(run_id).write_episodes(_eps(5000, 5001, 1.0))  # a bucket nobody has written yet
    with pytest.raises(StaleWriter):
        old.writer(run_id).write_rollouts([Rollout(rollout=2, timestep=200)])
    with pytest.raises(StaleWriter):
        old.writer(run_id).add_checkpoint(Checkpoint(episode=10, timestep=100, path="/c/old.zip", time=utcnow()))
    with pytest.raises(StaleWriter):
        old.set_metadata(run_id, note="from the stale attempt")
    assert old.set_status_at(run_id, RunStatus.FAILED, at=utcnow() + timedelta(seconds=1), attempt=1) is False
    assert _snapshot(new, run_id) == before
    assert [e.episode for e in new.episodes(run_id)] == list(range(1, 11))
    assert new.get_run(run_id).status != "failed"


def test_the_current_attempt_still_writes_everything(two_writers):
    run_id, old, new = two_writers
    w = new.writer(run_id)
    w.write_episodes(_eps(5, 12, 3.0))  # rewrites the old attempt's documents: allowed, it is newer
    w.write_rollouts([Rollout(rollout=2, timestep=200)])
    w.add_checkpoint(Checkpoint(episode=12, timestep=120, path="/c/new.zip", time=utcnow()))
    new.set_metadata(run_id, note="ok")
    run = new.get_run(run_id)
    assert run.summary.episodes == 12 and run.metadata.model_extra["note"] == "ok"
    assert [c.path for c in run.checkpoint_paths] == ["/c/new.zip"]
    assert [r.rollout for r in new.rollouts(run_id)] == [1, 2]
    assert [e.total_reward for e in new.episodes(run_id)][4:] == [3.0] * 8
