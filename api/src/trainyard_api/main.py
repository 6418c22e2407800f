"""The FastAPI application: lifespan (database client), error mapping, routers, web UI."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse
from pymongo.errors import ConnectionFailure, PyMongoError
from trainyard_runstore.async_store import AsyncRunStore
from trainyard_runstore.settings import MongoSettings

from trainyard_api.observability import MONGODB_ERRORS, MONGODB_UP, MetricsMiddleware
from trainyard_api.routers import benchmarks, checkpoints, evaluation, export, health, ladders, live, training_runs
from trainyard_api.settings import ApiSettings
from trainyard_api.web import mount_web

log = logging.getLogger("trainyard_api")


def create_app(settings: ApiSettings | None = None, mongo: MongoSettings | None = None) -> FastAPI:
    settings = settings or ApiSettings()
    mongo = mongo or MongoSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = AsyncRunStore(mongo, timeout_ms=settings.request_timeout_ms)
        app.state.store = store
        app.state.settings = settings
        try:
            await store.ensure_indexes()
            MONGODB_UP.set(1)
        except PyMongoError as exc:  # start anyway: requests answer 503 until MongoDB is back
            MONGODB_UP.set(0)
            log.warning("MongoDB unreachable at startup (%s); serving 503 until it returns", exc)
        watcher = asyncio.create_task(watch(store, settings))
        yield
        watcher.cancel()
        with suppress(asyncio.CancelledError):
            await watcher
        await store.close()

    app = FastAPI(title="Trainyard history API", version="0.1.0", lifespan=lifespan,
                  description="Training runs recorded by the Trainyard trainer: history, series, live updates.")
    app.add_middleware(MetricsMiddleware)
    # Large answers (lists, series, exports) compress 2-10x. Level 1: a real run's float columns hardly
    # compress better at level 5 (a 200,000-point metric: 2.4 MB against 2.5) for five times the time
    # (260 ms against 50), which was most of that download.
    app.add_middleware(GZipMiddleware, minimum_size=2048, compresslevel=1)

    @app.exception_handler(PyMongoError)
    async def mongo_error(request: Request, exc: PyMongoError) -> JSONResponse:
        if isinstance(exc, ConnectionFailure) or getattr(exc, "timeout", False):  # unreachable or timed out
            MONGODB_UP.set(0)
            MONGODB_ERRORS.inc()
            return JSONResponse({"detail": f"MongoDB is unreachable: {type(exc).__name__}"}, status_code=503)
        return internal_error(request, exc)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        return internal_error(request, exc)

    @app.exception_handler(RequestValidationError)
    async def readable_422(_request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for err in exc.errors():
            loc = [str(p) for p in err["loc"] if p not in ("query", "path", "body")]
            parts.append(f"{'.'.join(loc) or 'request'}: {err['msg']} (got {err.get('input')!r})")
        return JSONResponse({"detail": "; ".join(parts), "errors": jsonable(exc.errors())}, status_code=422)

    for module in (training_runs, live, export, checkpoints, evaluation, benchmarks, ladders, health):
        app.include_router(module.router)
    mount_web(app, settings.web_dist)
    return app


def internal_error(request: Request, exc: BaseException) -> JSONResponse:
    """A bug or a refused query, not an outage: logged with an id the answer carries, so both meet."""
    request_id = uuid.uuid4().hex[:16]
    log.error("request %s %s failed [request id %s]", request.method, request.url.path, request_id,
              exc_info=(type(exc), exc, exc.__traceback__))
    return JSONResponse({"detail": f"internal error; request id {request_id}", "request_id": request_id},
                        status_code=500, headers={"X-Request-Id": request_id})


async def watch(store: AsyncRunStore, settings: ApiSettings) -> None:
    """Every ``watch_interval_seconds``: a real round trip sets ``trainyard_api_mongodb_up``, the run
    list's read model catches up, then runs silent for ``lost_timeout_seconds`` get the Lost verdict
    (the operator does the same for its runs)."""
    while True:
        try:
            await store.ping()
            MONGODB_UP.set(1)
            # Load the run list's read model at startup (not in the first user's request) and keep
            # it following the index log between requests.
            await store.index_version()
            lost = await store.mark_lost(settings.lost_timeout_seconds, noticed_by="api")
            if lost:
                log.warning("runs without a heartbeat for %.0f s marked lost: %s", settings.lost_timeout_seconds,
                            ", ".join(lost))
        except PyMongoError as exc:
            MONGODB_UP.set(0)
            log.info("MongoDB watch: %s", exc)
        except Exception:  # noqa: BLE001 - the watcher must outlive any single failure
            log.exception("MongoDB watch failed")
        await asyncio.sleep(settings.watch_interval_seconds)


def jsonable(errors: Sequence[Any]) -> list[dict[str, Any]]:
    return [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in errors]
