"""``/api/training-runs/{run_id}/export``: the full episode history, streamed (CSV or JSON).

One bucket of episodes is in memory at a time, so a 1,000,000-episode run downloads in
constant memory. Nothing is sampled.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from trainyard_api.deps import StoreDep
from trainyard_api.models import RunSummary
from trainyard_api.routers.training_runs import ERRORS, load_run

router = APIRouter(prefix="/api/training-runs", tags=["training-runs"])

COLUMNS = ["episode", "total_reward", "steps", "win", "epsilon", "timestep", "win_rate", "time"]
CHUNK = 1000


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)  # shortest exact round trip: lossless
    return str(value)


@router.get("/{run_id}/export", responses=ERRORS, summary="Download every episode (CSV or JSON)",
            response_class=StreamingResponse)
async def export_run(
    run_id: str,
    store: StoreDep,
    format: Annotated[Literal["csv", "json"], Query(description="csv or json")] = "csv",
) -> StreamingResponse:
    doc = await load_run(store, run_id)
    last = int((doc.get("summary") or {}).get("last_episode") or 0)

    async def csv_rows() -> AsyncIterator[str]:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(COLUMNS)
        n = 0
        async for ep in store.iter_episodes(run_id, last):
            d = ep.model_dump(mode="json")
            writer.writerow([_cell(getattr(ep, c)) if c != "time" else (d["time"] or "") for c in COLUMNS])
            n += 1
            if n % CHUNK == 0:
                yield buf.getvalue()
                buf.seek(0)
                buf.truncate()
        yield buf.getvalue()

    async def json_body() -> AsyncIterator[str]:
        head = RunSummary.from_doc(doc).model_dump(mode="json", exclude={"metrics"})
        head["config"] = doc.get("config") or {}
        head["checkpoint_paths"] = [
            {**c, "time": c["time"].isoformat() if c.get("time") else None} for c in doc.get("checkpoint_paths") or []
        ]
        yield json.dumps(head)[:-1] + ', "episodes": ['
        parts: list[str] = []
        sep = ""
        async for ep in store.iter_episodes(run_id, last):
            parts.append(ep.model_dump_json(exclude_none=True))
            if len(parts) == CHUNK:
                yield sep + ",".join(parts)
                parts, sep = [], ","
        yield (sep + ",".join(parts) if parts else "") + "]}"

    name = f"training-run-{run_id}.{format}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if format == "csv":
        return StreamingResponse(csv_rows(), media_type="text/csv", headers=headers)
    return StreamingResponse(json_body(), media_type="application/json", headers=headers)
