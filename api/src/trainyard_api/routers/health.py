"""Liveness, readiness and Prometheus endpoints."""

from __future__ import annotations

from fastapi import APIRouter, Response

from trainyard_api.deps import StoreDep
from trainyard_api.observability import MONGODB_UP, metrics_response

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="MongoDB answers (503 otherwise)")
async def readyz(store: StoreDep) -> dict[str, str]:
    await store.ping()  # PyMongoError -> 503 by the app's handler
    MONGODB_UP.set(1)  # a real round trip
    return {"status": "ready"}


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
async def metrics() -> Response:
    return metrics_response()
