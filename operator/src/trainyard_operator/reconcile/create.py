"""A TrainingRun gets exactly one Job: built by builders.py, created or adopted through kube.py.

Called on creation and on every operator start (resume), so it must be idempotent: a Job that
exists already (409) is adopted when it is the run's, a finished run never gets a new Job, and a
stop requested while the operator was away is applied (stop.py). An invalid spec is a permanent
error whose condition names the field; API trouble is a temporary error retried with a delay.
"""

from __future__ import annotations

import logging
from typing import Any

import kopf

from trainyard_operator import builders
from trainyard_operator.kube import JobConflict, KubeError
from trainyard_operator.reconcile import Context, job_status, stop
from trainyard_operator.spec import SpecError, TrainingRun
from trainyard_operator.status import TrainingRunStatus

log = logging.getLogger(__name__)
RETRY_DELAY = 5.0
CONFLICT_DELAY = 15.0


async def ensure_job(ctx: Context, body: dict[str, Any], logger: logging.Logger | kopf.Logger = log) -> None:
    try:
        run = TrainingRun.from_body(body)
    except SpecError as err:
        await job_status.mark_invalid(ctx, body, str(err))
        raise kopf.PermanentError(f"invalid spec: {err}") from None
    phase = TrainingRunStatus.from_body(body).phase
    if phase is not None and phase.is_terminal():
        await job_status.request_sync(ctx, run.namespace, run.name)  # keeps a finished run's Job stopped
        return

    try:
        job, created = await ctx.kube.create_or_adopt_job(builders.build_job(run, ctx.settings))
    except JobConflict as err:
        raise kopf.TemporaryError(str(err), delay=CONFLICT_DELAY) from None
    except KubeError as err:
        if err.temporary:
            raise kopf.TemporaryError(f"creating the Job: {err}", delay=RETRY_DELAY) from None
        # The API server refused the Job itself (e.g. a quantity the CRD let through): permanent.
        await job_status.mark_invalid(ctx, body, f"the Job was rejected: {err}")
        raise kopf.PermanentError(f"the Job was rejected: {err}") from None
    ctx.metrics.job_created(run.created, created)
    logger.info("%s Job %s for run id %s", "created" if created else "adopted", job["metadata"]["name"], run.uid)
    if run.spec.stop:
        await stop.apply(ctx, run, job, logger)
    # The status follows from the Job's own events (job_status.py), also on an operator restart.
