"""The periodic look at an active run (a kopf timer, main.py): progress mirrored from the run store.

A Running run gets its episodes, rolling win rate, last reward, last checkpoint and attempt count
copied from the run store into ``status`` (patched only when they changed). A Pending run gets a
full sync instead (job_status.py), which is what fails a pod that stays Pending longer than
``pendingTimeoutSeconds``; a finished run whose failure record is not in the run store yet gets
the write retried the same way.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from trainyard_operator.facts import StoreFacts, parse_time
from trainyard_operator.phases import ConditionType, Phase, Reason, status_patch
from trainyard_operator.reconcile import Context, job_status
from trainyard_operator.status import TrainingRunStatus
from trainyard_operator.store import StoreError

log = logging.getLogger(__name__)


def wants_timer(status: Any, **_: Any) -> bool:
    """kopf ``when=`` filter: active runs, and finished ones whose failure record is not stored yet."""
    current = TrainingRunStatus.model_validate(dict(status or {}))
    if current.phase is None or not current.phase.is_terminal():
        return True
    failure = current.failure
    return failure is not None and not failure.recorded and failure.reason != Reason.INVALID_SPEC


async def tick(ctx: Context, body: dict[str, Any]) -> None:
    meta, status = body["metadata"], TrainingRunStatus.from_body(body)
    namespace, name = meta["namespace"], meta["name"]
    phase = status.phase
    if phase is Phase.RUNNING:
        async with ctx.queue.lock((namespace, name)):
            await mirror(ctx, namespace, name)
    elif phase is not Phase.PENDING or pending_check_due(
            status, (body.get("spec") or {}).get("pendingTimeoutSeconds", 600), datetime.now(UTC)):
        await job_status.request_sync(ctx, namespace, name)


async def mirror(ctx: Context, namespace: str, name: str) -> None:
    """Copy progress and attempts from the run store; a phase change is left to job_status.sync."""
    body = await ctx.kube.read_run(namespace, name)
    if body is None:
        return
    status = TrainingRunStatus.from_body(body)
    if status.phase is not Phase.RUNNING:
        return
    try:
        record = await ctx.store.get_run(body["metadata"]["uid"])
    except StoreError as e:
        log.warning("run store unreachable; progress of %s/%s not mirrored: %s", namespace, name, e)
        return
    if record is None:
        return
    patch = progress_patch(status, StoreFacts.from_record(record))
    if patch:
        await ctx.kube.patch_run_status(namespace, name, patch)


def pending_check_due(status: TrainingRunStatus, timeout: float, now: datetime, slack: float = 1.0) -> bool:
    """Pure: may a pod of this Pending run have waited ``timeout`` yet? (Pod events do the rest.)

    A pod that waits was created after the run last stopped running, so the Running condition's
    transition time bounds its age; without one, check.
    """
    since = next((c.last_transition_time for c in status.conditions or [] if c.type == ConditionType.RUNNING), None)
    started = parse_time(since)
    return started is None or (now - started).total_seconds() >= timeout - slack


def progress_patch(status: TrainingRunStatus, store: StoreFacts) -> dict[str, Any] | None:
    """Pure: the status keys to change so progress and attempts match the run store (None: none)."""
    desired = status.model_copy(update={"progress": store.progress.to_status(),
                                        "attempts": store.attempts or status.attempts})
    return status_patch(status, desired)
