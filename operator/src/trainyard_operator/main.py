"""kopf handler registrations only: each is a few lines that call into reconcile/*.

Imported by __main__.py before ``kopf.run``; ``memo.ctx`` is the reconcile.Context built there.
The timer's interval comes from the settings (read once per process, settings.get_settings).
"""

from __future__ import annotations

from typing import Any

import kopf

from trainyard_operator.constants import GROUP, PLURAL, RUN_ID_LABEL, RUN_NAME_LABEL, VERSION
from trainyard_operator.reconcile import create, job_status, progress, stop
from trainyard_operator.settings import get_settings

RUNS = (GROUP, VERSION, PLURAL)
CHILD = {RUN_ID_LABEL: kopf.PRESENT, RUN_NAME_LABEL: kopf.PRESENT}
INTERVAL = get_settings().progress_interval


@kopf.on.create(*RUNS, id="create-job")
@kopf.on.resume(*RUNS, id="adopt-job")
async def ensure_job(body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger, **_: Any) -> None:
    async with memo.ctx.reconciling("ensure_job"):
        await create.ensure_job(memo.ctx, body, logger)


@kopf.on.field(*RUNS, field="spec.stop", old=kopf.PRESENT, id="stop")  # at creation, the Job is built suspended
async def stop_changed(body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger, **_: Any) -> None:
    async with memo.ctx.reconciling("stop"):
        await stop.on_stop_changed(memo.ctx, body, logger)


@kopf.on.event("batch", "v1", "jobs", labels=CHILD, id="job-changed")
@kopf.on.event("v1", "pods", labels=CHILD, id="pod-changed")
async def child_changed(namespace: str, labels: kopf.Labels, memo: kopf.Memo, **_: Any) -> None:
    async with memo.ctx.reconciling("sync"):
        await job_status.request_sync(memo.ctx, namespace, labels[RUN_NAME_LABEL])


@kopf.on.event(*RUNS, id="phase-metrics")
def run_seen(type: str, body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:  # noqa: A002 - kopf's name
    memo.ctx.metrics.run_phase((body.metadata.namespace, body.metadata.name),
                               None if type == "DELETED" else body.status.get("phase", "Pending"))


@kopf.timer(*RUNS, interval=INTERVAL, initial_delay=INTERVAL, when=progress.wants_timer, id="progress")
async def watch_progress(body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    async with memo.ctx.reconciling("progress"):
        await progress.tick(memo.ctx, body)
