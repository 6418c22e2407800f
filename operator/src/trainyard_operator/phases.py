"""Phases, condition reasons and the PURE mapping from Job/Pod/run-store state to a run's status.

``observe(Observation) -> Outcome`` decides phase, conditions and failure record; ``render_status``
turns an Outcome into the TrainingRun's ``status`` (keeping condition transition times), and
``status_patch`` says what changed, so reconcile/job_status.py patches only on change. No I/O
here: the inputs are facts.py's PodFacts, JobFacts and StoreFacts.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from trainyard_runstore.schema import RunStatus

from trainyard_operator.constants import EXIT_BAD_CONFIG, EXIT_FAILED
from trainyard_operator.facts import JobFacts, PodFacts, StoreFacts, format_time
from trainyard_operator.status import FailureStatus, Phase, StatusCondition, TrainingRunStatus

__all__ = ["Phase"]  # re-exported: the reconcilers take phases from here


class ConditionType(enum.StrEnum):
    JOB_CREATED = "JobCreated"
    RUNNING = "Running"
    STOP_REQUESTED = "StopRequested"
    FINISHED = "Finished"


class Reason(enum.StrEnum):
    """Every reason a condition (or a failure record) can carry."""

    # JobCreated
    JOB_CREATED = "JobCreated"
    JOB_PENDING = "JobPending"
    JOB_DELETED = "JobDeleted"
    INVALID_SPEC = "InvalidSpec"
    # Running
    POD_PENDING = "PodPending"
    POD_RUNNING = "PodRunning"
    RETRYING = "Retrying"
    JOB_SUSPENDED = "JobSuspended"
    STOPPING = "Stopping"
    FINISHING = "Finishing"
    # StopRequested
    STOP_REQUESTED = "StopRequested"
    # Finished (successes)
    IN_PROGRESS = "InProgress"
    COMPLETED = "Completed"
    STOPPED = "Stopped"
    STOPPED_BY_SIGNAL = "StoppedBySignal"
    # Finished (failures) and failure.reason
    TRAINER_ERROR = "TrainerError"
    BAD_CONFIGURATION = "BadConfiguration"
    OOM_KILLED = "OOMKilled"
    EVICTED = "Evicted"
    DEADLINE_EXCEEDED = "DeadlineExceeded"
    BACKOFF_LIMIT_EXCEEDED = "BackoffLimitExceeded"
    UNSCHEDULABLE = "Unschedulable"
    IMAGE_PULL_BACK_OFF = "ImagePullBackOff"
    CONTAINER_CONFIG_ERROR = "CreateContainerConfigError"
    PENDING_TIMEOUT = "PendingTimeout"


# Container waiting reasons that keep a pod Pending until someone fixes something.
_WAITING_PROBLEMS = {
    "ImagePullBackOff": Reason.IMAGE_PULL_BACK_OFF,
    "ErrImagePull": Reason.IMAGE_PULL_BACK_OFF,
    "InvalidImageName": Reason.IMAGE_PULL_BACK_OFF,
    "ErrImageNeverPull": Reason.IMAGE_PULL_BACK_OFF,
    "CreateContainerConfigError": Reason.CONTAINER_CONFIG_ERROR,
    "CreateContainerError": Reason.CONTAINER_CONFIG_ERROR,
}
_GENERIC_TERMINATION = {None, "", "Error", "Completed"}


# ------------------------------------------------------------------ outcome


@dataclass(frozen=True)
class Condition:
    type: ConditionType
    status: bool
    reason: Reason
    message: str = ""


@dataclass(frozen=True)
class Failure:
    reason: Reason
    message: str
    exit_code: int | None = None
    pod_reason: str | None = None
    pod_name: str | None = None
    source: Literal["trainer", "operator"] = "operator"  # who writes metadata.error in the run store
    log_lines: tuple[str, ...] = ()

    def to_status(self, recorded: bool) -> FailureStatus:
        return FailureStatus(reason=self.reason.value, message=self.message, exit_code=self.exit_code,
                             pod_reason=self.pod_reason, pod_name=self.pod_name, source=self.source,
                             log_lines=list(self.log_lines), recorded=recorded)

    @classmethod
    def from_status(cls, status: FailureStatus) -> Failure:
        """A failure the status already holds (to retry writing it to the run store)."""
        return cls(Reason(status.reason or Reason.BACKOFF_LIMIT_EXCEEDED.value), status.message or "",
                   status.exit_code, status.pod_reason, status.pod_name, "operator", tuple(status.log_lines or ()))


@dataclass(frozen=True)
class Observation:
    job: JobFacts | None
    pods: tuple[PodFacts, ...] = ()
    stop_requested: bool = False
    pending_timeout_seconds: int = 600
    backoff_limit: int = 3
    store: StoreFacts | None = None
    job_was_created: bool = False
    now: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True)
class Outcome:
    phase: Phase
    conditions: tuple[Condition, ...]
    failure: Failure | None = None
    start_time: datetime | None = None
    completion_time: datetime | None = None
    suspend_job: bool = False  # stop the Job's pods (a pod that could not start in time)


def _finished(phase: Phase, reason: Reason, message: str, *, job: bool = True, stop: bool = False,
              failure: Failure | None = None, start: datetime | None = None, end: datetime | None = None,
              suspend: bool = False) -> Outcome:
    conditions = [
        Condition(ConditionType.JOB_CREATED, job, Reason.JOB_CREATED if job else Reason.JOB_DELETED),
        Condition(ConditionType.RUNNING, False, reason, message),
        Condition(ConditionType.FINISHED, True, reason, message),
    ]
    if stop:
        conditions.insert(2, Condition(ConditionType.STOP_REQUESTED, True, Reason.STOP_REQUESTED))
    return Outcome(phase, tuple(conditions), failure, start, end, suspend)


def _active(phase: Phase, reason: Reason, message: str, *, job: bool, stop: bool,
            start: datetime | None) -> Outcome:
    conditions = [
        Condition(ConditionType.JOB_CREATED, job, Reason.JOB_CREATED if job else Reason.JOB_PENDING),
        Condition(ConditionType.RUNNING, phase is Phase.RUNNING, reason, message),
        Condition(ConditionType.FINISHED, False, Reason.IN_PROGRESS),
    ]
    if stop:
        conditions.insert(2, Condition(ConditionType.STOP_REQUESTED, True, Reason.STOP_REQUESTED))
    return Outcome(phase, tuple(conditions), start_time=start)


def invalid_spec(message: str, now: datetime) -> Outcome:
    """A spec the operator refuses (permanent): no Job is created."""
    failure = Failure(Reason.INVALID_SPEC, message)
    conditions = (
        Condition(ConditionType.JOB_CREATED, False, Reason.INVALID_SPEC, message),
        Condition(ConditionType.RUNNING, False, Reason.INVALID_SPEC, message),
        Condition(ConditionType.FINISHED, True, Reason.INVALID_SPEC, message),
    )
    return Outcome(Phase.FAILED, conditions, failure, completion_time=now)


def observe(o: Observation) -> Outcome:
    """The run's phase, conditions and failure from its Job, pods and run-store record."""
    pods = sorted(o.pods, key=lambda p: (p.created or o.now, p.name))
    active = [p for p in pods if not p.terminal]
    start = min((p.started for p in pods if p.started), default=None)
    stop, job = o.stop_requested, o.job

    if job is None:
        if not o.job_was_created:
            return _active(Phase.PENDING, Reason.JOB_PENDING, "creating the Job", job=False, stop=stop, start=None)
        if o.store and o.store.status in (RunStatus.COMPLETED, RunStatus.STOPPED):
            phase = Phase.COMPLETED if o.store.status is RunStatus.COMPLETED else Phase.STOPPED
            reason = Reason.COMPLETED if phase is Phase.COMPLETED else Reason.STOPPED
            return _finished(phase, reason, "the Job is gone; the run store says it finished", job=False,
                             stop=stop, start=start, end=o.now)
        failure = Failure(Reason.JOB_DELETED, "the Job was deleted before the run finished")
        return _finished(Phase.FAILED, Reason.JOB_DELETED, failure.message, job=False, stop=stop,
                         failure=failure, start=start, end=o.now)

    end = job.completion_time or o.now
    if job.finished == "Complete":
        if o.store and o.store.status is RunStatus.STOPPED:
            reason = Reason.STOPPED if stop else Reason.STOPPED_BY_SIGNAL
            message = ("stopped on request with a final checkpoint" if stop
                       else "the trainer was stopped by SIGTERM (pod deleted or evicted) after a final checkpoint")
            return _finished(Phase.STOPPED, reason, message, stop=stop, start=start, end=end)
        return _finished(Phase.COMPLETED, Reason.COMPLETED, "training finished", stop=stop, start=start, end=end)

    if stop and job.suspended and not active:
        # Asked and done, whatever the exit code: under the operator a SIGTERM'd trainer exits 143
        # (TRAINER_STOP_EXIT_CODE), but the Job's suspension says the stop was requested.
        return _finished(Phase.STOPPED, Reason.STOPPED, "stopped on request", stop=True, start=start, end=o.now)

    if job.finished == "Failed" and not active:
        failure = classify_failure(job, pods, o.store)
        return _finished(Phase.FAILED, failure.reason, failure.message, stop=stop, failure=failure,
                         start=start, end=end)

    running = next((p for p in reversed(active) if p.phase == "Running"), None)
    if running is not None:
        if stop or running.deleting:
            return _active(Phase.RUNNING, Reason.STOPPING, f"pod {running.name} is checkpointing and stopping",
                           job=True, stop=stop, start=start)
        return _active(Phase.RUNNING, Reason.POD_RUNNING, f"pod {running.name} is training", job=True, stop=stop,
                       start=start)

    last = pods[-1] if pods else None
    if not active and last is not None and (
            last.phase == "Succeeded" or (last.phase == "Failed" and job.failed > o.backoff_limit)):
        # The trainer is done; the Job controller has not written its verdict yet.
        return _active(Phase.RUNNING, Reason.FINISHING, f"pod {last.name} ended {last.phase}; waiting for the Job",
                       job=True, stop=stop, start=start)

    pending = next((p for p in reversed(active) if not p.deleting), None)
    if stop:
        return _active(Phase.PENDING, Reason.STOPPING, "stopping: no trainer may start", job=True, stop=True,
                       start=start)
    if pending is not None:
        problem, raw = _pending_problem(pending)
        age = (o.now - pending.created).total_seconds() if pending.created else 0.0
        if age > o.pending_timeout_seconds:
            reason = problem or Reason.PENDING_TIMEOUT
            detail = pending.unschedulable or pending.waiting_message or pending.message or "still Pending"
            failure = Failure(reason, f"pod {pending.name} could not start within pendingTimeoutSeconds "
                                      f"({o.pending_timeout_seconds}s): {detail}",
                              pod_reason=raw or "Pending", pod_name=pending.name)
            return _finished(Phase.FAILED, reason, failure.message, failure=failure, start=start, end=o.now,
                             suspend=True)
        if problem is not None:
            detail = pending.unschedulable or pending.waiting_message or raw
            return _active(Phase.PENDING, problem, f"pod {pending.name}: {detail}", job=True, stop=False,
                           start=start)
    if job.suspended:
        return _active(Phase.PENDING, Reason.JOB_SUSPENDED, "the Job is suspended", job=True, stop=False,
                       start=start)
    if job.failed:
        return _active(Phase.PENDING, Reason.RETRYING, f"retrying after {job.failed} failed attempt(s)", job=True,
                       stop=False, start=start)
    name = pending.name if pending else "the trainer pod"
    return _active(Phase.PENDING, Reason.POD_PENDING, f"waiting for {name} to start", job=True, stop=False,
                   start=start)


def _pending_problem(pod: PodFacts) -> tuple[Reason | None, str | None]:
    if pod.waiting_reason in _WAITING_PROBLEMS:
        return _WAITING_PROBLEMS[pod.waiting_reason], pod.waiting_reason
    if pod.unschedulable:
        return Reason.UNSCHEDULABLE, "Unschedulable"
    return None, None


def classify_failure(job: JobFacts, pods: Iterable[PodFacts], store: StoreFacts | None) -> Failure:
    """Why a Job failed, from its condition, its last failed pod and what the trainer recorded."""
    failed = [p for p in pods if p.phase == "Failed"]
    last = failed[-1] if failed else None
    exit_code = last.exit_code if last else None
    terminated = last.terminated_reason if last else None
    pod_status = last.reason if last else None
    trainer_said = store is not None and store.trainer_recorded_failure

    if job.reason == "DeadlineExceeded" or pod_status == "DeadlineExceeded":
        reason = Reason.DEADLINE_EXCEEDED
        message = f"the run exceeded activeDeadlineSeconds: {job.message or 'deadline exceeded'}"
    elif exit_code == EXIT_BAD_CONFIG or job.reason == "PodFailurePolicy":
        reason = Reason.BAD_CONFIGURATION
        message = f"the trainer rejected its configuration (exit code {EXIT_BAD_CONFIG}); see the log lines"
    elif terminated == "OOMKilled":
        reason = Reason.OOM_KILLED
        message = f"the trainer in pod {last.name} ran out of memory (OOMKilled, exit code {exit_code})"
    elif pod_status == "Evicted":
        reason = Reason.EVICTED
        message = f"pod {last.name} was evicted: {last.message or 'no message'}"
    elif trainer_said or exit_code == EXIT_FAILED:
        reason = Reason.TRAINER_ERROR
        message = (f"{store.error_type}: {store.error_message}" if trainer_said
                   else f"the trainer exited with code {exit_code}; see the log lines")
    else:
        reason = Reason.BACKOFF_LIMIT_EXCEEDED
        code = f" (last exit code {exit_code})" if exit_code is not None else ""
        message = f"the trainer failed {job.failed} time(s){code}: {job.message or job.reason or 'Job failed'}"

    if terminated not in _GENERIC_TERMINATION:
        pod_reason = terminated
    elif pod_status:
        pod_reason = pod_status
    elif job.reason in ("DeadlineExceeded", "BackoffLimitExceeded"):
        pod_reason = job.reason
    else:
        pod_reason = terminated or job.reason
    source = "trainer" if reason is Reason.TRAINER_ERROR and trainer_said else "operator"
    return Failure(reason, message, exit_code, pod_reason, last.name if last else None, source)


# ------------------------------------------------------------------ status


def render_status(current: TrainingRunStatus, outcome: Outcome, *, run_id: str, job_name: str | None,
                  generation: int, store: StoreFacts | None, failure_recorded: bool,
                  now: datetime) -> TrainingRunStatus:
    """The whole desired ``status``; transition times and first start are kept from ``current``."""
    old_conditions = {c.type: c for c in current.conditions or []}
    conditions = []
    for c in outcome.conditions:
        value: Literal["True", "False"] = "True" if c.status else "False"
        old = old_conditions.get(c.type.value)
        since = old.last_transition_time if old is not None and old.status == value else None
        conditions.append(StatusCondition(type=c.type.value, status=value, reason=c.reason.value, message=c.message,
                                          last_transition_time=since or format_time(now)))
    completion = None
    if outcome.phase.is_terminal():
        completion = current.completion_time or format_time(outcome.completion_time or now)
    return TrainingRunStatus(
        phase=outcome.phase,
        run_id=run_id,
        job_name=job_name,
        observed_generation=generation,
        conditions=conditions,
        attempts=(store.attempts if store else current.attempts) or None,
        start_time=current.start_time or format_time(outcome.start_time),
        completion_time=completion,
        progress=(store.progress.to_status() if store else current.progress) or None,
        failure=outcome.failure.to_status(failure_recorded) if outcome.failure is not None else None,
    )


def status_patch(current: TrainingRunStatus, desired: TrainingRunStatus) -> dict[str, Any] | None:
    """A merge patch for ``status`` with only the changed keys (None when nothing changed); a key the
    operator owns and no longer wants is set to null."""
    old, new = current.wire(), desired.wire()
    patch: dict[str, Any] = {k: v for k, v in new.items() if old.get(k) != v}
    for k in old:
        if k not in new:
            patch[k] = None
    return patch or None


def with_log_lines(failure: Failure, lines: Iterable[str]) -> Failure:
    return replace(failure, log_lines=tuple(lines))
