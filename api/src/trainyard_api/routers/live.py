"""``/api/training-runs/{run_id}/stream``: Server-Sent Events with only what is new.

FerretDB has no change streams, so the stream polls the run document (cheap: no episodes) and
reads episodes only when the newest episode number moved. It ends once the run is terminal.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pymongo.errors import PyMongoError
from sse_starlette import EventSourceResponse, ServerSentEvent
from trainyard_runstore import series

from trainyard_api.deps import SettingsDep, StoreDep
from trainyard_api.models import RunSummary
from trainyard_api.queries import MAX_NUMBER
from trainyard_api.routers.training_runs import ERRORS, RAW_PAGE_LIMIT, load_run

router = APIRouter(prefix="/api/training-runs", tags=["training-runs"])


@router.get("/{run_id}/stream", responses=ERRORS, summary="Live updates (SSE): new episodes, status changes")
async def stream_run(
    run_id: str,
    request: Request,
    store: StoreDep,
    settings: SettingsDep,
    since_episode: Annotated[int, Query(ge=0, le=MAX_NUMBER)] = 0,
) -> EventSourceResponse:
    await load_run(store, run_id)  # 404 before the stream starts

    async def events() -> AsyncIterator[ServerSentEvent]:
        sent = since_episode
        last_summary: str | None = None
        while not await request.is_disconnected():
            try:
                run = await store.get_run(run_id, full=False)
                if run is None:  # deleted while followed
                    break
                summary = RunSummary.from_run(run, run.id)
                newest = summary.summary.last_episode
                if newest > sent:  # at most one page per event; the next poll sends the rest
                    upto = min(newest, sent + RAW_PAGE_LIMIT)
                    eps, wr = series.raw_points(await store.episodes(run_id, sent + 1, upto))
                    if eps:
                        sent = eps[-1]["episode"]
                        yield ServerSentEvent(json.dumps({"episodes": eps, "rolling_win_rate": wr}, default=str),
                                              event="episodes")
                body = summary.model_dump_json()
                if body != last_summary:
                    last_summary = body
                    yield ServerSentEvent(body, event="status")
                if summary.status.is_terminal() and newest <= sent:
                    yield ServerSentEvent("{}", event="end")
                    return
                if newest > sent:
                    continue  # more pages to send: no sleep
            except PyMongoError as exc:
                yield ServerSentEvent(json.dumps({"detail": f"MongoDB is unreachable: {exc}"}), event="error")
            await asyncio.sleep(settings.stream_poll_seconds)

    return EventSourceResponse(events(), ping=15)
