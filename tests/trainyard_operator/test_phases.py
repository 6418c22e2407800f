"""The pure mapping from Job/Pod/run-store state to a TrainingRun's phase, conditions and failure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from trainyard_operator.facts import JobFacts, PodFacts, StoreFacts
from trainyard_operator.phases import (
    ConditionType,
    Observation,
    Phase,
    Reason,
    classify_failure,
    invalid_spec,
    observe,
    render_status,
    status_patch,
)
from trainyard_operator.reconcile.progress import pending_check_due, progress_patch, wants_timer
from trainyard_operator.status import TrainingRunStatus
from trainyard_runstore.schema import Checkpoint, Episode, RunRecord, RunStats, RunStatus

pytestmark = pytest.mark.unit

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
AGO = NOW - timedelta(seconds=30)
LONG_AGO = NOW - timedelta(hours=1)


def job(**kw) -> JobFacts:
    return JobFacts(name="run", **kw)


def pod(name="run-a", phase="Running", created=AGO, **kw) -> PodFacts:
    return PodFacts(name=name, phase=phase, created=created, started=created, **kw)


def store(status=RunStatus.RUNNING, **kw) -> StoreFacts:
    return StoreFacts(status=status, **kw)


RUNNING = pod()
SUCCEEDED = pod(phase="Succeeded", exit_code=0, terminated_reason="Completed")
CRASHED = pod(phase="Failed", exit_code=1, terminated_reason="Error")
OOM = pod(phase="Failed", exit_code=137, terminated_reason="OOMKilled")
BAD_CONFIG = pod(phase="Failed", exit_code=2, terminated_reason="Error")
EVICTED = pod(phase="Failed", reason="Evicted", message="The node was low on resource: memory.")
PENDING = PodFacts(name="run-p", created=AGO)
UNSCHEDULABLE = PodFacts(name="run-p", created=LONG_AGO, unschedulable="0/1 nodes are available: selector")
IMAGE_PULL = PodFacts(name="run-p", created=LONG_AGO, waiting_reason="ImagePullBackOff",
                      waiting_message="Back-off pulling image")
STUCK = PodFacts(name="run-p", created=LONG_AGO)
TRAINER_ERROR = store(RunStatus.FAILED, error_type="RuntimeError", error_message="injected failure after 300 steps",
                      error_source="trainer")

CASES = {
    # name: (observation, phase, reason of the Running/Finished condition)
    "job not created yet": (Observation(job=None), Phase.PENDING, Reason.JOB_PENDING),
    "job without pods": (Observation(job=job()), Phase.PENDING, Reason.POD_PENDING),
    "pod pending": (Observation(job=job(active=1), pods=(PENDING,)), Phase.PENDING, Reason.POD_PENDING),
    "pod running": (Observation(job=job(active=1), pods=(RUNNING,)), Phase.RUNNING, Reason.POD_RUNNING),
    "retrying": (Observation(job=job(failed=1), pods=(CRASHED,)), Phase.PENDING, Reason.RETRYING),
    "retry running": (Observation(job=job(failed=1, active=1), pods=(CRASHED, pod(name="run-b", created=NOW))),
                      Phase.RUNNING, Reason.POD_RUNNING),
    "pod succeeded, job not yet": (Observation(job=job(), pods=(SUCCEEDED,)), Phase.RUNNING, Reason.FINISHING),
    "last retry failed, job not yet": (Observation(job=job(failed=4), pods=(CRASHED,), backoff_limit=3),
                                       Phase.RUNNING, Reason.FINISHING),
    "completed": (Observation(job=job(finished="Complete", succeeded=1), pods=(SUCCEEDED,),
                              store=store(RunStatus.COMPLETED)), Phase.COMPLETED, Reason.COMPLETED),
    "completed, store unreachable": (Observation(job=job(finished="Complete"), pods=(SUCCEEDED,)),
                                     Phase.COMPLETED, Reason.COMPLETED),
    "trainer stopped by a signal": (Observation(job=job(finished="Complete"), pods=(SUCCEEDED,),
                                                store=store(RunStatus.STOPPED)), Phase.STOPPED,
                                    Reason.STOPPED_BY_SIGNAL),
    "stop requested, trainer still saving": (Observation(job=job(suspended=True, active=1),
                                                         pods=(pod(deleting=True),), stop_requested=True),
                                             Phase.RUNNING, Reason.STOPPING),
    "stop requested, pods gone": (Observation(job=job(suspended=True), stop_requested=True), Phase.STOPPED,
                                  Reason.STOPPED),
    "stop requested, job completed as stopped": (Observation(job=job(finished="Complete", suspended=True),
                                                             pods=(SUCCEEDED,), stop_requested=True,
                                                             store=store(RunStatus.STOPPED)),
                                                 Phase.STOPPED, Reason.STOPPED),
    "stop requested, trainer exited 143, job failed": (Observation(
        job=job(finished="Failed", reason="BackoffLimitExceeded", suspended=True, failed=1),
        pods=(pod(phase="Failed", exit_code=143, terminated_reason="Error"),), stop_requested=True),
        Phase.STOPPED, Reason.STOPPED),
    "stop requested on a job that had failed already": (Observation(
        job=job(finished="Failed", reason="BackoffLimitExceeded", failed=1), pods=(CRASHED,), stop_requested=True,
        store=TRAINER_ERROR), Phase.FAILED, Reason.TRAINER_ERROR),
    "stop requested before the pod started": (Observation(job=job(suspended=True, active=1), pods=(PENDING,),
                                                          stop_requested=True), Phase.PENDING, Reason.STOPPING),
    "suspended without stop": (Observation(job=job(suspended=True)), Phase.PENDING, Reason.JOB_SUSPENDED),
    "trainer exception": (Observation(job=job(finished="Failed", reason="BackoffLimitExceeded", failed=1),
                                      pods=(CRASHED,), store=TRAINER_ERROR), Phase.FAILED, Reason.TRAINER_ERROR),
    "exit 1 without a record": (Observation(job=job(finished="Failed", reason="BackoffLimitExceeded", failed=1),
                                            pods=(CRASHED,)), Phase.FAILED, Reason.TRAINER_ERROR),
    "bad configuration": (Observation(job=job(finished="Failed", reason="PodFailurePolicy", failed=1),
                                      pods=(BAD_CONFIG,)), Phase.FAILED, Reason.BAD_CONFIGURATION),
    "oom killed": (Observation(job=job(finished="Failed", reason="BackoffLimitExceeded", failed=1), pods=(OOM,)),
                   Phase.FAILED, Reason.OOM_KILLED),
    "evicted": (Observation(job=job(finished="Failed", reason="BackoffLimitExceeded", failed=1), pods=(EVICTED,)),
                Phase.FAILED, Reason.EVICTED),
    "deadline": (Observation(job=job(finished="Failed", reason="DeadlineExceeded", message="Job was active longer"),
                             pods=(SUCCEEDED,), store=store(RunStatus.STOPPED)), Phase.FAILED,
                 Reason.DEADLINE_EXCEEDED),
    "failed, pods still terminating": (Observation(job=job(finished="Failed", reason="DeadlineExceeded"),
                                                   pods=(pod(deleting=True),)), Phase.RUNNING, Reason.STOPPING),
    "unschedulable, within timeout": (Observation(job=job(active=1), pods=(UNSCHEDULABLE,),
                                                  pending_timeout_seconds=7200), Phase.PENDING,
                                      Reason.UNSCHEDULABLE),
    "unschedulable, timed out": (Observation(job=job(active=1), pods=(UNSCHEDULABLE,), pending_timeout_seconds=60),
                                 Phase.FAILED, Reason.UNSCHEDULABLE),
    "image pull, timed out": (Observation(job=job(active=1), pods=(IMAGE_PULL,), pending_timeout_seconds=60),
                              Phase.FAILED, Reason.IMAGE_PULL_BACK_OFF),
    "pending for no known reason, timed out": (Observation(job=job(active=1), pods=(STUCK,),
                                                           pending_timeout_seconds=60),
                                               Phase.FAILED, Reason.PENDING_TIMEOUT),
    "job deleted under the run": (Observation(job=None, job_was_created=True), Phase.FAILED, Reason.JOB_DELETED),
    "job deleted after completion (ttl)": (Observation(job=None, job_was_created=True,
                                                       store=store(RunStatus.COMPLETED)),
                                           Phase.COMPLETED, Reason.COMPLETED),
}


@pytest.mark.parametrize("observation,phase,reason", CASES.values(), ids=CASES.keys())
def test_observe(observation: Observation, phase: Phase, reason: Reason):
    outcome = observe(Observation(**{**observation.__dict__, "now": NOW}))
    assert outcome.phase is phase
    conditions = {c.type: c for c in outcome.conditions}
    condition = conditions[ConditionType.FINISHED if phase.is_terminal() else ConditionType.RUNNING]
    assert condition.reason is reason
    assert conditions[ConditionType.FINISHED].status is phase.is_terminal()
    assert (outcome.failure is not None) is (phase is Phase.FAILED)
    if observation.stop_requested:
        assert conditions[ConditionType.STOP_REQUESTED].status is True


@pytest.mark.parametrize("phase,terminal", [(Phase.PENDING, False), (Phase.RUNNING, False), (Phase.COMPLETED, True),
                                            (Phase.STOPPED, True), (Phase.FAILED, True)])
def test_terminal_phases(phase, terminal):
    assert phase.is_terminal() is terminal


FAILURES = {
    # name: (job, pods, store, reason, exit code, pod reason, source)
    "trainer exception": (job(finished="Failed", reason="BackoffLimitExceeded", failed=1), [CRASHED], TRAINER_ERROR,
                          Reason.TRAINER_ERROR, 1, "BackoffLimitExceeded", "trainer"),
    "oom": (job(finished="Failed", reason="BackoffLimitExceeded", failed=1), [OOM], store(),
            Reason.OOM_KILLED, 137, "OOMKilled", "operator"),
    "oom after an earlier crash": (job(finished="Failed", reason="BackoffLimitExceeded", failed=2), [CRASHED, OOM],
                                   store(), Reason.OOM_KILLED, 137, "OOMKilled", "operator"),
    "evicted": (job(finished="Failed", reason="BackoffLimitExceeded", failed=1), [EVICTED], None,
                Reason.EVICTED, None, "Evicted", "operator"),
    "bad configuration": (job(finished="Failed", reason="PodFailurePolicy", failed=1), [BAD_CONFIG], None,
                          Reason.BAD_CONFIGURATION, 2, "Error", "operator"),
    "deadline": (job(finished="Failed", reason="DeadlineExceeded"), [SUCCEEDED], store(RunStatus.STOPPED),
                 Reason.DEADLINE_EXCEEDED, None, "DeadlineExceeded", "operator"),
    "killed by a signal": (job(finished="Failed", reason="BackoffLimitExceeded", failed=3),
                           [pod(phase="Failed", exit_code=143, terminated_reason="Error")], store(),
                           Reason.BACKOFF_LIMIT_EXCEEDED, 143, "BackoffLimitExceeded", "operator"),
}


@pytest.mark.parametrize("job_facts,pods,store_facts,reason,exit_code,pod_reason,source", FAILURES.values(),
                         ids=FAILURES.keys())
def test_classify_failure(job_facts, pods, store_facts, reason, exit_code, pod_reason, source):
    failure = classify_failure(job_facts, pods, store_facts)
    assert (failure.reason, failure.exit_code, failure.pod_reason, failure.source) == (
        reason, exit_code, pod_reason, source)
    assert failure.message
    if reason is Reason.TRAINER_ERROR and store_facts is not None:
        assert failure.message == "RuntimeError: injected failure after 300 steps"


def test_pending_timeout_asks_to_suspend_the_job():
    outcome = observe(Observation(job=job(active=1), pods=(UNSCHEDULABLE,), pending_timeout_seconds=60, now=NOW))
    assert outcome.suspend_job
    assert outcome.failure.pod_reason == "Unschedulable"
    assert "selector" in outcome.failure.message


def test_pod_facts_from_a_pod_manifest():
    manifest = {
        "metadata": {"name": "run-x", "creationTimestamp": "2026-01-01T11:00:00Z",
                     "deletionTimestamp": "2026-01-01T11:10:00Z"},
        "status": {
            "phase": "Failed", "startTime": "2026-01-01T11:00:02Z",
            "conditions": [{"type": "PodScheduled", "status": "True"}],
            "containerStatuses": [{"name": "trainer", "state": {"terminated": {"exitCode": 137,
                                                                               "reason": "OOMKilled"}}}],
        },
    }
    facts = PodFacts.from_pod(manifest)
    assert (facts.name, facts.phase, facts.exit_code, facts.terminated_reason, facts.deleting, facts.terminal) == (
        "run-x", "Failed", 137, "OOMKilled", True, True)
    assert facts.created == datetime(2026, 1, 1, 11, 0, tzinfo=UTC)
    unschedulable = PodFacts.from_pod({"metadata": {"name": "p"}, "status": {"phase": "Pending", "conditions": [
        {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/1 nodes"}]}})
    assert unschedulable.unschedulable == "0/1 nodes"
    waiting = PodFacts.from_pod({"metadata": {"name": "p"}, "status": {"containerStatuses": [
        {"name": "trainer", "state": {"waiting": {"reason": "ErrImagePull", "message": "not found"}}}]}})
    assert (waiting.phase, waiting.waiting_reason) == ("Pending", "ErrImagePull")


def test_job_facts_from_a_job_manifest():
    manifest = {"metadata": {"name": "run"}, "spec": {"suspend": True},
                "status": {"failed": 2, "conditions": [
                    {"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded"},
                    {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "too many",
                     "lastTransitionTime": "2026-01-01T11:00:00Z"}]}}
    facts = JobFacts.from_job(manifest)
    assert (facts.finished, facts.reason, facts.failed, facts.suspended) == ("Failed", "BackoffLimitExceeded", 2, True)
    assert facts.completion_time == datetime(2026, 1, 1, 11, 0, tzinfo=UTC)
    assert JobFacts.from_job({"metadata": {"name": "run"}}).finished is None


def record(**kw) -> RunRecord:
    return RunRecord(run_id="r", agent_id="a", **kw)


def test_store_facts_mirror_progress_attempts_and_the_trainer_error():
    rec = record(status=RunStatus.FAILED,
                 summary=RunStats(episodes=12, timesteps=400, last_reward=-1.0, final_win_rate=0.5),
                 last_episode=Episode(episode=12, total_reward=-1.0, steps=30, win_rate=0.41666666),
                 checkpoint_paths=[Checkpoint(episode=6, timestep=200, path="/c/1.zip"),
                                   Checkpoint(episode=12, timestep=400, path="/c/2.zip")],
                 metadata={"attempts": [{"attempt": 1}, {"attempt": 2}],
                           "error": {"type": "RuntimeError", "message": "boom", "source": "trainer"}})
    facts = StoreFacts.from_record(rec)
    assert facts.progress.to_status().wire() == {"episodes": 12, "timesteps": 400, "rollingWinRate": 0.4167,
                                          "lastReward": -1.0, "lastCheckpoint": "/c/2.zip"}
    assert facts.attempts == 2
    assert facts.trainer_recorded_failure
    assert not StoreFacts.from_record(record(metadata={"error": {"source": "operator"}})).trainer_recorded_failure


def test_render_status_keeps_transition_times_and_first_start():
    first = observe(Observation(job=job(active=1), pods=(RUNNING,), now=NOW))
    status = render_status(TrainingRunStatus(), first, run_id="uid", job_name="run", generation=1,
                           store=store(attempts=1), failure_recorded=False, now=NOW).wire()
    assert status["phase"] == "Running" and status["runId"] == "uid" and status["jobName"] == "run"
    assert status["attempts"] == 1 and status["startTime"] == "2026-01-01T11:59:30Z"
    later = NOW + timedelta(minutes=5)
    current = TrainingRunStatus.model_validate(status)
    again = render_status(current, observe(Observation(job=job(active=1), pods=(RUNNING,), now=later)),
                          run_id="uid", job_name="run", generation=1, store=store(attempts=1),
                          failure_recorded=False, now=later)
    assert again.wire() == status
    assert status_patch(current, again) is None
    done = observe(Observation(job=job(finished="Complete"), pods=(SUCCEEDED,), store=store(RunStatus.COMPLETED),
                               now=later))
    final = render_status(current, done, run_id="uid", job_name="run", generation=1, store=store(RunStatus.COMPLETED),
                          failure_recorded=False, now=later)
    patch = status_patch(current, final)
    assert patch["phase"] == "Completed" and "completionTime" in patch and "runId" not in patch
    created = next(c for c in final.conditions if c.type == "JobCreated")
    assert created.last_transition_time == "2026-01-01T12:00:00Z"  # unchanged since it first became True


def test_failure_in_status_names_everything():
    outcome = observe(Observation(job=job(finished="Failed", reason="BackoffLimitExceeded", failed=1), pods=(OOM,),
                                  now=NOW))
    status = render_status(TrainingRunStatus(), outcome, run_id="uid", job_name="run", generation=1, store=None,
                           failure_recorded=True, now=NOW).wire()
    assert status["failure"] == {"reason": "OOMKilled", "message": outcome.failure.message, "exitCode": 137,
                                 "podReason": "OOMKilled", "podName": "run-a", "source": "operator",
                                 "logLines": [], "recorded": True}


def test_invalid_spec_outcome_names_the_field():
    outcome = invalid_spec("spec.hyperparameters.batchSize: too big", NOW)
    assert outcome.phase is Phase.FAILED
    created = next(c for c in outcome.conditions if c.type is ConditionType.JOB_CREATED)
    assert (created.status, created.reason) == (False, Reason.INVALID_SPEC)
    assert "spec.hyperparameters.batchSize" in created.message


def test_progress_patch_only_on_change():
    facts = store(attempts=2, progress=StoreFacts.from_record(record(summary=RunStats(episodes=3))).progress)
    patch = progress_patch(TrainingRunStatus(), facts)
    assert patch == {"progress": {"episodes": 3, "timesteps": 0}, "attempts": 2}
    assert progress_patch(TrainingRunStatus.model_validate(patch), facts) is None


@pytest.mark.parametrize("status,wanted", [
    ({}, True),
    ({"phase": "Running"}, True),
    ({"phase": "Completed"}, False),
    ({"phase": "Failed", "failure": {"reason": "OOMKilled", "recorded": True}}, False),
    ({"phase": "Failed", "failure": {"reason": "OOMKilled", "recorded": False}}, True),
    ({"phase": "Failed", "failure": {"reason": "InvalidSpec", "recorded": False}}, False),
])
def test_timer_runs_for_active_runs_and_unrecorded_failures(status, wanted):
    assert wants_timer(status) is wanted


@pytest.mark.parametrize("since,timeout,due", [
    (None, 600, True),
    ("2026-01-01T11:59:00Z", 600, False),  # pending for a minute, timeout ten
    ("2026-01-01T11:50:00Z", 600, True),
    ("2026-01-01T11:59:58Z", 3, True),  # within the slack
])
def test_pending_runs_are_checked_once_a_pod_may_have_timed_out(since, timeout, due):
    conditions = [{"type": "Running", "status": "False", "lastTransitionTime": since}] if since else []
    status = TrainingRunStatus.model_validate({"phase": "Pending", "conditions": conditions})
    assert pending_check_due(status, timeout, NOW) is due
