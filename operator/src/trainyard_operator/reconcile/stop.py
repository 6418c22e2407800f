"""``spec.stop``: suspend the run's Job so the trainer gets SIGTERM, checkpoints and ends Stopped.

Suspending (``spec.suspend: true``) makes the Job controller delete active pods with their grace
period and start no new one, which a pod deletion alone would not guarantee. Setting ``stop`` back
to false before the run reached Stopped resumes the Job; a Stopped run stays stopped. Called by
main.py (field handler) and create.py (a stop requested while the operator was away).
"""

from __future__ import annotations

import logging
from typing import Any

from trainyard_operator import builders
from trainyard_operator.facts import JobFacts
from trainyard_operator.reconcile import Context, job_status
from trainyard_operator.spec import SpecError, TrainingRun
from trainyard_operator.status import TrainingRunStatus

log = logging.getLogger(__name__)


async def on_stop_changed(ctx: Context, body: dict[str, Any], logger: logging.Logger = log) -> None:
    try:
        run = TrainingRun.from_body(body)
    except SpecError:
        return
    phase = TrainingRunStatus.from_body(body).phase
    if phase is not None and phase.is_terminal():
        return
    job = await ctx.kube.read_job(run.namespace, builders.job_name(run))
    if job is None:
        return  # create.py builds it suspended when stop is already true
    await apply(ctx, run, job, logger)
    await job_status.request_sync(ctx, run.namespace, run.name)


async def apply(ctx: Context, run: TrainingRun, job: dict[str, Any], logger: logging.Logger = log) -> None:
    """Make the Job's suspension match ``spec.stop`` (a finished Job is left alone)."""
    facts = JobFacts.from_job(job)
    if facts.finished is not None or facts.suspended == run.spec.stop:
        return
    await ctx.kube.set_job_suspended(run.namespace, facts.name, run.spec.stop)
    if run.spec.stop:
        logger.info("stop requested: suspended Job %s; the trainer checkpoints and stops", facts.name)
    else:
        logger.info("stop withdrawn: resumed Job %s", facts.name)
