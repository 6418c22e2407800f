"""The API's Prometheus metrics (the only module that defines them) and the request middleware."""

from __future__ import annotations

import time

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import Response

REGISTRY = CollectorRegistry()
REQUESTS = Counter("trainyard_api_requests", "HTTP requests", ("route", "method", "status"), registry=REGISTRY)
LATENCY = Histogram("trainyard_api_request_duration_seconds", "HTTP request latency", ("route", "method"),
                    registry=REGISTRY, buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
MONGODB_UP = Gauge("trainyard_api_mongodb_up", "1 when the last ping of MongoDB succeeded", registry=REGISTRY)
MONGODB_ERRORS = Counter("trainyard_api_mongodb_errors", "Requests answered 503 (MongoDB unreachable)",
                         registry=REGISTRY)


class MetricsMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        start = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        if path not in {"/metrics"}:
            REQUESTS.labels(path, request.method, str(response.status_code)).inc()
            LATENCY.labels(path, request.method).observe(time.perf_counter() - start)
        return response


def metrics_response() -> Response:
    """The Prometheus text exposition of the API's registry."""
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
