"""The sync store against a real FerretDB: idempotent episode writes, summaries, checkpoints, status."""

import pytest
from trainyard_runstore import layout
from trainyard_runstore.schema import Checkpoint, Episode, ErrorInfo, RunRecord, RunStatus
from trainyard_runstore.sync_store import RunStore

pytestmark = pytest.mark.mongo


def make_eps(first, last, win_every=None):
    return [Episode(episode=i, total_reward=float(i), steps=i % 7, timestep=i * 10,
                    win=(i % win_every == 0) if win_every else None) for i in range(first, last + 1)]


def test_episodes_across_buckets_written_once_even_when_replayed(store):
    store.create_run(RunRecord(run_id="r", agent_id="a"))
    w = store.writer("r")
    w.write_episodes(make_eps(1, 1500))
    w.write_episodes(make_eps(900, 2100))  # overlapping replay across a bucket boundary
    fresh = RunStore(store.settings).writer("r")  # a new process (replay CLI, resumed pod) sees the same state
    fresh.write_episodes(make_eps(2000, 2200))
    stored = store.episodes("r")
    assert [e.episode for e in stored] == list(range(1, 2201))
    run = store.get_run("r")
    assert run.summary.episodes == 2200
    assert run.summary.max_reward == 2200.0
    assert run.summary.mean_reward == pytest.approx(sum(range(1, 2201)) / 2200)
    assert run.last_episode.episode == 2200
    # buckets 0 and 1 are sealed in the episodes collection (with the copy of bucket 2 its move left there);
    # bucket 2, still open, is in the run's home document, which readers prefer
    assert [d["_id"] for d in store.db[layout.episodes_collection("r")].find({}).sort("_id", 1)] == [
        "0000000", "0000001", "0000002"]
    assert store.home("r").find_one(layout.HOME_KEY)[layout.OPEN]["last_episode"] == 2200
    assert list(store.home("r").find(layout.RESIDENTS)) == []


def test_create_run_twice_keeps_start_and_reopens(store):
    first = store.create_run(RunRecord(run_id="r", agent_id="a", config={"lr": 1}))
    store.set_status("r", RunStatus.FAILED, error=ErrorInfo(type="X", message="boom"))
    again = store.create_run(RunRecord(run_id="r", agent_id="a", config={"lr": 2}))
    assert again.start_time == first.start_time
    assert again.config.model_dump() == {"lr": 1}
    assert again.status == "running" and again.end_time is None


def test_status_transitions_set_end_time_and_duration(store):
    store.create_run(RunRecord(run_id="r", agent_id="a"))
    store.set_status("r", RunStatus.COMPLETED)
    run = store.get_run("r")
    assert run.status == "completed" and run.end_time >= run.start_time
    assert run.duration_seconds >= 0


def test_checkpoints_recorded_once_per_path(store):
    store.create_run(RunRecord(run_id="r", agent_id="a"))
    w = store.writer("r")
    w.add_checkpoint(Checkpoint(episode=10, timestep=1000, path="ck/a.zip"))
    w.add_checkpoint(Checkpoint(episode=20, timestep=2000, path="ck/b.zip"))
    store.writer("r").add_checkpoint(Checkpoint(episode=20, timestep=2000, path="ck/b.zip"))
    paths = [(c.episode, c.timestep, c.path) for c in store.get_run("r").checkpoint_paths]
    assert paths == [(10, 1000, "ck/a.zip"), (20, 2000, "ck/b.zip")]


def test_operator_failure_record_creates_a_run_that_never_started(store):
    store.record_failure(RunRecord(run_id="never", agent_id="a"),
                         ErrorInfo(type="ImagePullBackOff", message="image not found", source="operator",
                                   pod_reason="ImagePullBackOff"))
    run = store.get_run("never")
    assert run.status == "failed"
    assert run.metadata.error.pod_reason == "ImagePullBackOff"
    assert run.end_time is not None


def test_bulk_import_reads_back_like_written_episodes(store):
    store.create_run(RunRecord(run_id="imp", agent_id="a"))
    store.writer("imp").import_episodes(make_eps(1, 2500, win_every=3))
    assert [e.episode for e in store.episodes("imp")] == list(range(1, 2501))
    run = store.get_run("imp")
    assert run.summary.episodes == 2500 and run.summary.wins == 833
    store.writer("imp").write_episodes(make_eps(2501, 2510))  # a later writer continues normally
    assert store.get_run("imp").summary.episodes == 2510
    with pytest.raises(ValueError, match="already has episodes"):
        store.writer("imp").import_episodes(make_eps(1, 5))
