"""``/api/training-runs``: list, detail, agents, live stream and export of training runs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response

from trainyard_api.deps import SettingsDep, StoreDep
from trainyard_api.models import AgentList, DetailMetrics, ErrorResponse, RunDetail, RunSummary
from trainyard_runstore import layout
from trainyard_runstore.schema import RunStatus

router = APIRouter(prefix="/api/training-runs", tags=["training-runs"])

MAX_LIMIT = 1000
MAX_OFFSET = 1_000_000_000  # larger offsets (up to 2^63 and beyond) answer 422, never a database error
MAX_NUMBER = 2**53 - 1  # episode and rollout numbers: what JSON carries exactly
ERRORS = {404: {"model": ErrorResponse}, 503: {"model": ErrorResponse, "description": "MongoDB unreachable"}}
SortParam = Annotated[str, Query(pattern=r"^-?(" + "|".join(layout.SORT_FIELDS) + ")$",
                                  description="field, '-' prefix for descending: " + ", ".join(layout.SORT_FIELDS))]


@router.get("", response_model=list[RunSummary], responses=ERRORS, summary="List training runs")
async def list_runs(
    store: StoreDep,
    response: Response,
    agent_id: Annotated[str | None, Query(max_length=200)] = None,
    status: RunStatus | None = None,
    algorithm: Annotated[str | None, Query(max_length=200)] = None,
    q: Annotated[str | None, Query(max_length=200, description="substring of run_id or agent_id")] = None,
    started_after: datetime | None = None,
    started_before: datetime | None = None,
    sort: SortParam = "-start_time",
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"1..{MAX_LIMIT}")] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description=f"0..{MAX_OFFSET}")] = 0,
) -> list[RunSummary]:
    filters = {"agent_id": agent_id, "status": status.value if status else None, "algorithm": algorithm,
               "q": q, "started_after": started_after, "started_before": started_before}
    docs, total = await store.list_runs(filters=filters, sort=sort, limit=limit, offset=offset)
    response.headers["X-Total-Count"] = str(total)
    return [RunSummary.from_doc(d) for d in docs]


@router.get("/agents/list", response_model=AgentList, responses=ERRORS, summary="Agent ids that have runs")
async def list_agents(store: StoreDep) -> AgentList:
    return AgentList(agent_ids=await store.agent_ids())


async def load_run(store, run_id: str) -> dict:
    doc = await store.get_run(run_id)
    if doc is None:
        raise HTTPException(404, f"no training run with run_id {run_id!r}")
    return doc


@router.get("/{run_id}", response_model=RunDetail, responses=ERRORS, summary="One run with its series")
async def get_run(
    run_id: str,
    store: StoreDep,
    settings: SettingsDep,
    max_points: Annotated[int | None, Query(ge=10, le=100_000, description="downsample to this many points")] = None,
    since_episode: Annotated[int | None, Query(ge=0, le=MAX_NUMBER, description="only episodes after this one (live)")] = None,
    from_episode: Annotated[int | None, Query(ge=1, le=MAX_NUMBER, description="zoom: first episode")] = None,
    to_episode: Annotated[int | None, Query(ge=1, le=MAX_NUMBER, description="zoom: last episode")] = None,
) -> RunDetail:
    if from_episode and to_episode and to_episode < from_episode:
        raise HTTPException(422, f"to_episode ({to_episode}) must not be before from_episode ({from_episode})")
    doc = await load_run(store, run_id)
    total = int((doc.get("summary") or {}).get("last_episode") or 0)
    if since_episode is not None:
        first, last, points = since_episode + 1, None, None
    else:
        first, last = from_episode or 1, to_episode
        span = (min(last, total) if last else total) - first + 1
        points = max_points or (None if span <= settings.raw_series_limit else settings.default_max_points)
    series = await store.series(run_id, total=total, max_points=points, first=first, last=last)
    summary = RunSummary.from_doc(doc)
    return RunDetail(
        **summary.model_dump(exclude={"metrics"}),
        config=doc.get("config") or {},
        checkpoint_paths=doc.get("checkpoint_paths") or [],
        metrics=DetailMetrics(episodes=series.episodes, rolling_win_rate=series.rolling_win_rate,
                              downsampled=series.downsampled, resolution=series.resolution),
        last_rollout=doc.get("last_rollout"),
        evaluation=doc.get("evaluation"),
        evaluations=doc.get("evaluations") or [],
    )
