"""A run's full episode history in one streamed request: columnar JSON (``/history``), CSV or JSON
(``/export``).

One batch of buckets is in memory at a time, so a 1,000,000-episode run downloads in constant
memory; nothing is sampled. ``?metrics=`` selects columns; custom metrics come as further columns.
Responses are gzip-compressed for clients that accept it (``main``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

import pydantic_core
from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from trainyard_runstore.schema import StoredRun

from trainyard_api.deps import StoreDep
from trainyard_api.models import RunSummary, run_metric_specs
from trainyard_api.routers.training_runs import ERRORS, MetricsParam, load_run, select

router = APIRouter(prefix="/api/training-runs", tags=["training-runs"])

CHUNK = 1000


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)  # shortest exact round trip: lossless
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def _strict_json(value: Any) -> bytes:
    """Standard JSON (pydantic-core's serializer, several times json.dumps's speed on columns of floats):
    JSON has no NaN or infinity, so a diverged value comes as null, like a missing one."""
    return pydantic_core.to_json(value, inf_nan_mode="null", fallback=str)


def _columns(run: StoredRun, names: list[str] | None) -> list[str]:
    """Metric columns in order: the selection, else every built-in, ``time``, then custom metrics."""
    if names is not None:
        return names
    specs = run_metric_specs(run)
    return [*(m.name for m in specs if m.builtin), "time", *(m.name for m in specs if not m.builtin)]


@router.get("/{run_id}/history", responses=ERRORS, response_class=StreamingResponse,
            summary="Every episode of a run as columns (streamed JSON)",
            description='One request, nothing sampled: {"run_id", "episodes", "columns", "metric_specs", '
                        '"chunks": [{"episode": [...], "<metric>": [...]}, ...]}. Concatenate the chunks\' '
                        "columns in order; null means no value. Compressed with gzip when accepted.")
async def run_history(
    run_id: str,
    store: StoreDep,
    metrics: MetricsParam = None,
    from_episode: Annotated[int, Query(ge=1)] = 1,
    to_episode: Annotated[int | None, Query(ge=1)] = None,
) -> StreamingResponse:
    run = await load_run(store, run_id)
    names = select(metrics, run)
    last = run.summary.last_episode
    if to_episode is not None:
        last = min(last, to_episode)
    cols = _columns(run, names)
    specs = [m.model_dump() for m in run_metric_specs(run) if m.name in cols]

    async def body() -> AsyncIterator[bytes]:
        head = {"run_id": run_id, "episodes": max(0, last - from_episode + 1), "columns": ["episode", *cols],
                "metric_specs": specs}
        yield _strict_json(head)[:-1] + b', "chunks": ['
        sep = b""
        async for chunk in store.iter_columns(run_id, from_episode, last, cols):
            yield sep + _strict_json(chunk)
            sep = b","
        yield b"]}"

    return StreamingResponse(body(), media_type="application/json")


@router.get("/{run_id}/export", responses=ERRORS, summary="Download every episode (CSV or JSON)",
            response_class=StreamingResponse)
async def export_run(
    run_id: str,
    store: StoreDep,
    format: Annotated[Literal["csv", "json"], Query(description="csv or json")] = "csv",
    metrics: MetricsParam = None,
) -> StreamingResponse:
    run = await load_run(store, run_id)
    names = select(metrics, run)
    last = run.summary.last_episode
    cols = _columns(run, names)

    async def csv_rows() -> AsyncIterator[str]:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["episode", *cols])
        async for chunk in store.iter_columns(run_id, 1, last, cols):
            columns = [chunk["episode"], *(chunk[c] for c in cols)]
            writer.writerows([_cell(v) for v in row] for row in zip(*columns, strict=True))
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()

    async def json_body() -> AsyncIterator[bytes]:
        head = RunSummary.from_run(run, run.id).model_dump(mode="json", exclude={"metrics"})
        head["config"] = run.config.model_dump(mode="json")
        head["metric_specs"] = [m.model_dump() for m in run_metric_specs(run) if m.name in cols]  # units
        head["checkpoint_paths"] = [  # as stored (written without empty fields)
            {**c.model_dump(exclude_none=True), "time": c.time.isoformat() if c.time else None}
            for c in run.checkpoint_paths
        ]
        yield _strict_json(head)[:-1] + b', "episodes": ['
        sep = b""
        keys = ["episode", *cols]
        async for chunk in store.iter_columns(run_id, 1, last, cols):
            rows = [{k: v for k, v in zip(keys, values, strict=True) if v is not None}
                    for values in zip(*(chunk[k] for k in keys), strict=True)]
            if rows:
                yield sep + _strict_json(rows)[1:-1]
                sep = b","
        yield b"]}"

    name = f"training-run-{run_id}.{format}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if format == "csv":
        return StreamingResponse(csv_rows(), media_type="text/csv", headers=headers)
    return StreamingResponse(json_body(), media_type="application/json", headers=headers)
