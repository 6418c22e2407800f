"""A run's status from its Job, pods and run-store record: the only writer of TrainingRun ``status``.

Triggered by Job and Pod events (main.py), by the create/stop reconcilers and by the timer in
progress.py; ``request_sync`` coalesces bursts per run (reconcile.RunQueue). The decision is the
pure ``phases.observe``; this module gathers the facts (kube.py, store.py), writes the operator's
failure record to the run store when the trainer could not, and patches only what changed.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from trainyard_runstore.schema import ErrorInfo, RunRecord, RunStatus

from trainyard_operator import builders, phases
from trainyard_operator.constants import RUN_ID_LABEL
from trainyard_operator.facts import JobFacts, PodFacts, StoreFacts
from trainyard_operator.phases import Failure, Observation, Phase
from trainyard_operator.reconcile import Context
from trainyard_operator.spec import SpecError, TrainingRun
from trainyard_operator.status import FailureStatus, TrainingRunStatus
from trainyard_operator.store import StoreError

log = logging.getLogger(__name__)


async def request_sync(ctx: Context, namespace: str, name: str) -> None:
    await ctx.queue.coalesce((namespace, name), lambda: sync(ctx, namespace, name))


async def sync(ctx: Context, namespace: str, name: str) -> None:
    body = await ctx.kube.read_run(namespace, name)
    if body is None:
        ctx.queue.forget((namespace, name))
        return
    try:
        run = TrainingRun.from_body(body)
    except SpecError:
        return  # create.py reports it once, as a permanent error
    status = TrainingRunStatus.from_body(body)
    phase = status.phase
    if phase is not None and phase.is_terminal():
        await _finish_terminal(ctx, run, status)
        return

    job_body = await ctx.kube.read_job(namespace, builders.job_name(run))
    if job_body is not None and not _owned(job_body, run):
        job_body = None  # someone else's Job with our name: create.py raises the conflict
    pods = await ctx.kube.list_run_pods(namespace, run.uid) if job_body is not None else []
    job = JobFacts.from_job(job_body) if job_body else None
    pod_facts = tuple(PodFacts.from_pod(p) for p in pods)
    # The run store knows something only once a trainer started (or the Job is gone or finished).
    started = job is None or job.finished is not None or any(p.started or p.terminal for p in pod_facts)
    record = await _read_record(ctx, run) if started or phase is Phase.RUNNING else None
    store = StoreFacts.from_record(record) if record else None
    now = datetime.now(UTC)
    outcome = phases.observe(Observation(
        job=job,
        pods=pod_facts,
        stop_requested=run.spec.stop,
        pending_timeout_seconds=run.spec.pending_timeout_seconds,
        backoff_limit=run.spec.backoff_limit,
        store=store,
        job_was_created=bool(status.job_name),
        now=now,
    ))
    recorded = False
    failure = outcome.failure
    if failure is not None:
        if failure.pod_name:
            failure = phases.with_log_lines(failure, await ctx.kube.pod_log_tail(
                namespace, failure.pod_name, ctx.settings.log_lines))
            outcome = replace(outcome, failure=failure)
        recorded = failure.source == "trainer" or await _record_failure(ctx, run, failure)
        ctx.metrics.failed(failure.reason.value)
        log.warning("run %s/%s failed: %s (%s)", namespace, name, failure.reason.value, failure.message)
    await _write_store_outcome(ctx, run, outcome, store, job, pod_facts, now)
    desired = phases.render_status(
        status, outcome, run_id=run.uid, job_name=builders.job_name(run) if job_body else status.job_name,
        generation=run.generation, store=store,
        failure_recorded=recorded, now=now)
    patch = phases.status_patch(status, desired)
    if patch:
        await ctx.kube.patch_run_status(namespace, name, patch)
        if "phase" in patch:
            log.info("run %s/%s is %s", namespace, name, outcome.phase.value)
    if outcome.suspend_job and job_body is not None and not (job_body.get("spec") or {}).get("suspend"):
        await ctx.kube.set_job_suspended(namespace, builders.job_name(run), True)


async def _write_store_outcome(ctx: Context, run: TrainingRun, outcome: phases.Outcome, store: StoreFacts | None,
                               job: JobFacts | None, pods: tuple[PodFacts, ...], now: datetime) -> None:
    """What the run store must learn from Kubernetes: a Job that completed while the trainer could not say
    so (its final status never reached the database), and a run whose trainer vanished (no live pod, no
    heartbeat within the timeout: the Lost verdict; a later heartbeat revives it)."""
    if store is None:
        return
    try:
        completed = outcome.phase is Phase.COMPLETED and job is not None and job.finished == "Complete"
        if completed:
            if store.status is not RunStatus.COMPLETED and await ctx.store.record_outcome(
                    run.uid, RunStatus.COMPLETED, job.completion_time or now):
                log.info("run %s/%s: recorded the Job's Completed outcome in the run store", run.namespace, run.name)
        elif store.status is RunStatus.RUNNING and not any(not p.terminal for p in pods) and \
                await ctx.store.mark_lost(run.uid, ctx.settings.lost_timeout_seconds):
            log.warning("run %s/%s: no live pod and no heartbeat for %.0f s: marked Lost", run.namespace,
                        run.name, ctx.settings.lost_timeout_seconds)
    except StoreError as e:
        log.warning("run store unreachable while recording the outcome of %s/%s: %s", run.namespace, run.name, e)


async def _finish_terminal(ctx: Context, run: TrainingRun, status: TrainingRunStatus) -> None:
    """A finished run: retry a failure record the run store missed; make sure no trainer runs on."""
    failure = status.failure
    unrecorded = failure is not None and not failure.recorded and (failure.source or "operator") == "operator"
    if failure is not None and unrecorded and await _record_failure(ctx, run, Failure.from_status(failure)):
        patch = TrainingRunStatus(failure=FailureStatus(recorded=True)).wire()
        await ctx.kube.patch_run_status(run.namespace, run.name, patch)
    job = await ctx.kube.read_job(run.namespace, builders.job_name(run))
    if job is not None and _owned(job, run):
        facts = JobFacts.from_job(job)
        if facts.finished is None and not facts.suspended:
            log.info("run %s/%s is %s: suspending its Job", run.namespace, run.name, status.phase)
            await ctx.kube.set_job_suspended(run.namespace, facts.name, True)


def _owned(job: dict[str, Any], run: TrainingRun) -> bool:
    refs = job["metadata"].get("ownerReferences") or []
    return any(r.get("uid") == run.uid for r in refs) or (job["metadata"].get("labels") or {}).get(
        RUN_ID_LABEL) == run.uid


async def _read_record(ctx: Context, run: TrainingRun) -> RunRecord | None:
    try:
        return await ctx.store.get_run(run.uid)
    except StoreError as e:
        log.warning("run store unreachable while syncing %s/%s: %s", run.namespace, run.name, e)
        return None


def run_record(run: TrainingRun) -> RunRecord:
    """What the run store gets when the trainer never created the run itself."""
    spec = run.spec
    config = {"mode": spec.mode.value, "env_id": spec.env, "total_timesteps": spec.total_timesteps, "seed": spec.seed,
              "opponent": spec.opponent, **spec.hyperparameters.trainer_values()}
    return RunRecord(run_id=run.uid, agent_id=spec.agent_id, algorithm=spec.algorithm,
                     config={k: v for k, v in config.items() if v is not None})


async def _record_failure(ctx: Context, run: TrainingRun, failure: Failure) -> bool:
    error = ErrorInfo(type=failure.pod_reason or failure.reason.value, message=failure.message,
                      reason=failure.reason.value, exit_code=failure.exit_code, pod_reason=failure.pod_reason,
                      log_lines=list(failure.log_lines), source="operator")
    try:
        await ctx.store.record_failure(run_record(run), error)
        return True
    except StoreError as e:
        log.warning("could not record the failure of %s/%s in the run store (retried later): %s",
                    run.namespace, run.name, e)
        return False


async def mark_invalid(ctx: Context, body: dict[str, Any], message: str) -> None:
    """A spec the operator refuses: Failed with an InvalidSpec condition naming the field (no Job)."""
    meta = body["metadata"]
    status = TrainingRunStatus.from_body(body)
    now = datetime.now(UTC)
    desired = phases.render_status(status, phases.invalid_spec(message, now), run_id=meta["uid"], job_name=None,
                                   generation=meta.get("generation") or 0, store=None, failure_recorded=False,
                                   now=now)
    patch = phases.status_patch(status, desired)
    if patch:
        await ctx.kube.patch_run_status(meta["namespace"], meta["name"], patch)
