"""The operator writes into the run store what only Kubernetes knows, against a real FerretDB: a Job that
completed while its trainer could not record it, and a run with no live pod and no heartbeat (Lost)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from trainyard_operator.facts import JobFacts, PodFacts, StoreFacts
from trainyard_operator.phases import Observation, observe
from trainyard_operator.reconcile.job_status import _write_store_outcome
from trainyard_operator.settings import OperatorSettings
from trainyard_operator.store import Store
from trainyard_runstore import layout
from trainyard_runstore.schema import RunRecord, RunStatus
from trainyard_runstore.sync_store import RunStore

pytestmark = pytest.mark.mongo


def _ctx(mongo_settings, lost_timeout=60.0):
    return SimpleNamespace(store=Store(mongo_settings), settings=OperatorSettings(mongo=mongo_settings,
                                                                                 lost_timeout_seconds=lost_timeout))


def _run(uid="uid-1"):
    return SimpleNamespace(uid=uid, namespace="ns", name="r")


def _facts(store: RunStore, run_id: str) -> StoreFacts:
    return StoreFacts.from_record(store.get_run(run_id))


async def test_a_completed_job_is_recorded_when_the_trainer_could_not(mongo_settings, store):
    store.create_run(RunRecord(run_id="uid-1", agent_id="a"))  # the trainer's final status never arrived
    now = datetime.now(UTC)
    job = JobFacts(name="j", succeeded=1, finished="Complete", completion_time=now)
    outcome = observe(Observation(job=job, pods=(), stop_requested=False, pending_timeout_seconds=600,
                                  backoff_limit=3, store=_facts(store, "uid-1"), job_was_created=True, now=now))
    ctx = _ctx(mongo_settings)
    await _write_store_outcome(ctx, _run(), outcome, _facts(store, "uid-1"), job, (), now)
    run = store.get_run("uid-1")
    assert run.status == "completed" and run.end_time is not None


async def test_no_live_pod_and_no_heartbeat_is_lost_but_a_live_pod_is_not(mongo_settings, store):
    old = datetime.now(UTC) - timedelta(minutes=10)
    for uid in ("uid-1", "uid-2"):
        store.create_run(RunRecord(run_id=uid, agent_id="a", start_time=old))
        store.claim_run(uid)
        store.heartbeat(uid, 1, episode=4)
        store.home(uid).update_one(layout.HOME_KEY, {"$set": {"heartbeat.time": old}})
    now = datetime.now(UTC)
    job = JobFacts(name="j", active=1)
    dead = (PodFacts(name="p1", phase="Failed", created=old, started=old, exit_code=137),)
    alive = (PodFacts(name="p2", phase="Running", created=old, started=old),)
    ctx = _ctx(mongo_settings)
    for uid, pods in (("uid-1", dead), ("uid-2", alive)):
        outcome = observe(Observation(job=job, pods=pods, stop_requested=False, pending_timeout_seconds=600,
                                      backoff_limit=3, store=_facts(store, uid), job_was_created=True, now=now))
        await _write_store_outcome(ctx, _run(uid), outcome, _facts(store, uid), job, pods, now)
    lost = store.get_run("uid-1")
    assert lost.status == "failed" and lost.metadata.error.type == "Lost"
    assert lost.metadata.error.source == "operator"
    assert store.get_run("uid-2").status == RunStatus.RUNNING.value  # its pod lives: maybe just cut off
