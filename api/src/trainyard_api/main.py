"""The FastAPI application: lifespan (database client), error mapping, routers, web UI."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse
from pymongo.errors import PyMongoError

from trainyard_api.observability import MONGODB_ERRORS, MONGODB_UP, MetricsMiddleware
from trainyard_api.routers import benchmarks, checkpoints, evaluation, export, health, live, training_runs
from trainyard_api.settings import ApiSettings
from trainyard_api.web import mount_web
from trainyard_runstore.async_store import AsyncRunStore
from trainyard_runstore.settings import MongoSettings

log = logging.getLogger("trainyard_api")


def create_app(settings: ApiSettings | None = None, mongo: MongoSettings | None = None) -> FastAPI:
    settings = settings or ApiSettings()
    mongo = mongo or MongoSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        store = AsyncRunStore(mongo, timeout_ms=settings.request_timeout_ms)
        app.state.store = store
        app.state.settings = settings
        try:
            await store.ensure_indexes()
            MONGODB_UP.set(1)
        except PyMongoError as exc:  # start anyway: requests answer 503 until MongoDB is back
            MONGODB_UP.set(0)
            log.warning("MongoDB unreachable at startup (%s); serving 503 until it returns", exc)
        yield
        await store.close()

    app = FastAPI(title="Trainyard history API", version="0.1.0", lifespan=lifespan,
                  description="Training runs recorded by the Trainyard trainer: history, series, live updates.")
    app.add_middleware(MetricsMiddleware)
    # Large answers (lists, series, exports) compress 4-10x; level 5 keeps a 200k-episode history fast.
    app.add_middleware(GZipMiddleware, minimum_size=2048, compresslevel=5)

    @app.exception_handler(PyMongoError)
    async def mongo_unreachable(_request: Request, exc: PyMongoError) -> JSONResponse:
        MONGODB_UP.set(0)
        MONGODB_ERRORS.inc()
        return JSONResponse({"detail": f"MongoDB is unreachable: {type(exc).__name__}"}, status_code=503)

    @app.exception_handler(RequestValidationError)
    async def readable_422(_request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for err in exc.errors():
            loc = [str(p) for p in err["loc"] if p not in ("query", "path", "body")]
            parts.append(f"{'.'.join(loc) or 'request'}: {err['msg']} (got {err.get('input')!r})")
        return JSONResponse({"detail": "; ".join(parts), "errors": jsonable(exc.errors())}, status_code=422)

    @app.middleware("http")
    async def mark_up(request: Request, call_next):
        response = await call_next(request)
        if request.url.path.startswith("/api/") and response.status_code < 500:
            MONGODB_UP.set(1)
        return response

    for module in (training_runs, live, export, checkpoints, evaluation, benchmarks, health):
        app.include_router(module.router)
    mount_web(app, settings.web_dist)
    return app


def jsonable(errors: list[dict]) -> list[dict]:
    return [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in errors]
