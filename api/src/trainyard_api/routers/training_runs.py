"""``/api/training-runs``: the run list, one run's detail (series downsampled or paged), agents.

The list reads the slim run index and answers ``304 Not Modified`` while its change token (ETag)
stands; the detail's ETag is the run's write counter. The other routes under the same prefix live
beside it: ``live.py`` (``/{run_id}/stream``), ``export.py`` (``/{run_id}/export``,
``/{run_id}/history``), ``evaluation.py`` (``/{run_id}/rollouts``, ``/{run_id}/games/{n}``) and
``checkpoints.py`` (``/{run_id}/checkpoints``).
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import TypeAdapter
from trainyard_runstore import metrics as metric_specs
from trainyard_runstore.async_store import AsyncRunStore
from trainyard_runstore.schema import RunIndexEntry, StoredRun

from trainyard_api.deps import SettingsDep, StoreDep
from trainyard_api.models import (
    AgentList,
    DetailMetrics,
    EpisodePoint,
    ErrorResponse,
    RunDetail,
    RunSummary,
    run_metric_specs,
)
from trainyard_api.queries import MAX_NUMBER, RunListQuery

router = APIRouter(prefix="/api/training-runs", tags=["training-runs"])

# Unsampled reads return at most this many episodes; the response says where to continue.
RAW_PAGE_LIMIT = 10_000
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse}, 503: {"model": ErrorResponse, "description": "MongoDB unreachable"}}
MetricsParam = Annotated[str | None, Query(
    max_length=2000, description="comma-separated metric names to return (default: all), e.g. total_reward,win; "
                                 "series points then carry only episode, count and those metrics")]


# Each list row's JSON, kept while its run's index entry is the same object (the store makes a new one
# when the entry changes): a list request serializes only the rows that changed, not FastAPI's dump,
# validation and serialization of every row.
_ROWS: dict[str, tuple[RunIndexEntry, bytes]] = {}
_SUMMARY = TypeAdapter(RunSummary)


def _row_json(run: RunIndexEntry) -> bytes:
    cached = _ROWS.get(run.id)
    if cached is None or cached[0] is not run:
        cached = _ROWS[run.id] = (run, _SUMMARY.dump_json(RunSummary.from_run(run, run.id)))
    return cached[1]


def etag_for(request: Request, token: object) -> str:
    """A weak ETag of the change token and the query (so each filter/page has its own)."""
    digest = hashlib.blake2b(f"{token}|{request.url.query}".encode(), digest_size=12).hexdigest()
    return f'W/"{digest}"'


def not_modified(request: Request, response: Response, etag: str) -> bool:
    """Set the validators; True when the client's copy is current (answer 304)."""
    response.headers["ETag"] = etag
    response.headers["Cache-Control"] = "no-cache"  # revalidate every time: cheap, and never stale
    return etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]


@router.get("", response_model=list[RunSummary], responses={**ERRORS, 304: {"description": "unchanged (ETag)"}},
            summary="List training runs",
            description="Answered from the run index. Send the ETag back as If-None-Match: while no run's list "
                        "entry changed the answer is 304 without a body. Entries of a run that is logging "
                        "episodes lag its detail by at most a few seconds.")
async def list_runs(store: StoreDep, request: Request, response: Response,
                    query: Annotated[RunListQuery, Query()]) -> list[RunSummary] | Response:
    etag = etag_for(request, await store.index_version())
    if not_modified(request, response, etag):
        return Response(status_code=304, headers=dict(response.headers))
    runs, total = await store.list_runs(filters=query.filters(), sort=query.sort.value, limit=query.limit,
                                        offset=query.offset)
    response.headers["X-Total-Count"] = str(total)
    body = b"[" + b",".join(_row_json(r) for r in runs) + b"]"
    return Response(body, media_type="application/json", headers=dict(response.headers))


@router.get("/agents/list", response_model=AgentList, responses=ERRORS, summary="Agent ids that have runs")
async def list_agents(store: StoreDep) -> AgentList:
    return AgentList(agent_ids=await store.agent_ids())


async def load_run(store: AsyncRunStore, run_id: str) -> StoredRun:
    run = await store.get_run(run_id)
    if run is None:
        raise HTTPException(404, f"no training run with run_id {run_id!r}")
    return run


def select(request_metrics: str | None, run: StoredRun) -> list[str] | None:
    """The ``?metrics=`` selection (None: all); 422 naming the run's metrics for an unknown one."""
    try:
        return metric_specs.parse_selection(request_metrics, [m.name for m in run_metric_specs(run)])
    except ValueError as exc:
        raise HTTPException(422, f"metrics: {exc}") from None


def narrow(points: list[dict[str, Any]], names: list[str]) -> list[dict[str, Any]]:
    keep = {"episode", "count", *names, *(f"{n}_min" for n in names), *(f"{n}_max" for n in names)}
    return [{k: v for k, v in p.items() if k in keep and v is not None} for p in points]


@router.get("/{run_id}", response_model=RunDetail, responses={**ERRORS, 304: {"description": "unchanged (ETag)"}},
            summary="One run with its series",
            description="Runs longer than the requested points (by default: longer than raw_series_limit "
                        "episodes, then default_max_points points) come DOWNSAMPLED: each point is a group of "
                        "episodes, marked by metrics.downsampled=true, metrics.resolution and the response "
                        f"header X-Downsampled: true. Unsampled series return at most {RAW_PAGE_LIMIT:,} "
                        "episodes; metrics.next_episode then says where the next page starts (pass it as "
                        "from_episode, or since_episode=next_episode-1).")
async def get_run(
    run_id: str,
    store: StoreDep,
    settings: SettingsDep,
    request: Request,
    response: Response,
    max_points: Annotated[int | None, Query(ge=10, le=100_000, description="downsample to this many points")] = None,
    since_episode: Annotated[int | None, Query(ge=0, le=MAX_NUMBER,
                                               description="only episodes after this one (live), paged")] = None,
    from_episode: Annotated[int | None, Query(ge=1, le=MAX_NUMBER, description="zoom: first episode")] = None,
    to_episode: Annotated[int | None, Query(ge=1, le=MAX_NUMBER, description="zoom: last episode")] = None,
    metrics: MetricsParam = None,
) -> RunDetail | Response:
    if from_episode and to_episode and to_episode < from_episode:
        raise HTTPException(422, f"to_episode ({to_episode}) must not be before from_episode ({from_episode})")
    run = await load_run(store, run_id)
    names = select(metrics, run)
    etag = etag_for(request, run.version)
    if not_modified(request, response, etag):
        return Response(status_code=304, headers=dict(response.headers))
    total = run.summary.last_episode
    if since_episode is not None:
        first, last, points = since_episode + 1, None, None
    else:
        first, last = from_episode or 1, to_episode
        span = (min(last, total) if last else total) - first + 1
        points = max_points or (None if span <= settings.raw_series_limit else settings.default_max_points)
    series = await store.series(run_id, total=total, max_points=points, first=first, last=last,
                                limit=RAW_PAGE_LIMIT, version=run.version)
    response.headers["X-Downsampled"] = "true" if series.downsampled else "false"
    response.headers["X-Resolution"] = str(series.resolution)
    detail = RunDetail.of(
        run,
        # Downsampled points are numbers the store built in EpisodePoint's shape: added to the
        # body below as they are, not validated point by point (most of a long run's request time).
        DetailMetrics(episodes=[] if series.downsampled else series.episodes,
                      rolling_win_rate=[] if series.downsampled else series.rolling_win_rate,
                      downsampled=series.downsampled, resolution=series.resolution,
                      next_episode=series.next_episode),
    )
    if names is None and not series.downsampled:
        return detail
    body = detail.model_dump(mode="json")
    if series.downsampled:
        body["metrics"]["episodes"] = [EpisodePoint.body(p) for p in series.episodes]
        body["metrics"]["rolling_win_rate"] = series.rolling_win_rate
    if names is None:
        return Response(orjson.dumps(body), media_type="application/json", headers=dict(response.headers))
    # A selection: points carry only the chosen metrics, so they no longer fit EpisodePoint's
    # required fields; sent as built rather than validated again.
    body["metrics"]["episodes"] = narrow(body["metrics"]["episodes"], names)
    if "win_rate" not in names:
        body["metrics"]["rolling_win_rate"] = []
    return JSONResponse(body, headers=dict(response.headers))
