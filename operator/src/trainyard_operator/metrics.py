"""The operator's Prometheus metrics (the only module that talks to prometheus_client).

Names carry the ``trainyard_operator_`` prefix. Served on ``/metrics`` by __main__.py; updated by
main.py's handlers (reconciliations, errors, runs by phase) and the reconcilers (failures by
reason, time from a TrainingRun's creation to its Job).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

log = logging.getLogger(__name__)

PHASES = ("Pending", "Running", "Completed", "Stopped", "Failed")


class OperatorMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.reconciliations = Counter("trainyard_operator_reconciliations", "Handler invocations", ["handler"],
                                       registry=r)
        self.errors = Counter("trainyard_operator_reconcile_errors", "Handler invocations that failed",
                              ["handler", "kind"], registry=r)
        self.runs = Gauge("trainyard_operator_runs", "TrainingRuns by phase (as in their status)", ["phase"],
                          registry=r)
        self.failures = Counter("trainyard_operator_run_failures", "Runs that ended Failed, by reason", ["reason"],
                                registry=r)
        self.job_creation = Histogram(
            "trainyard_operator_job_creation_seconds",
            "Time from a TrainingRun's creation to its Job's creation (creationTimestamp has 1 s resolution)",
            buckets=(0.5, 1, 2, 3, 5, 10, 20, 30, 60, 120, 300), registry=r)
        self.jobs_created = Counter("trainyard_operator_jobs_created", "Jobs created", registry=r)
        self.jobs_adopted = Counter("trainyard_operator_jobs_adopted", "Existing Jobs adopted", registry=r)
        for phase in PHASES:
            self.runs.labels(phase)
        self._phases: dict[tuple[str, str], str] = {}

    def serve(self, port: int, addr: str = "0.0.0.0") -> int:
        server, _thread = start_http_server(port, addr=addr, registry=self.registry)
        log.info("metrics on http://%s:%d/metrics", addr, server.server_port)
        return server.server_port

    def reconciled(self, handler: str) -> None:
        self.reconciliations.labels(handler).inc()

    def error(self, handler: str, kind: str) -> None:
        self.errors.labels(handler, kind).inc()

    def run_phase(self, key: tuple[str, str], phase: str | None) -> None:
        """Track a run's phase (None: the run is gone)."""
        old = self._phases.pop(key, None)
        if old is not None:
            self.runs.labels(old).dec()
        if phase is not None:
            self._phases[key] = phase or "Pending"
            self.runs.labels(self._phases[key]).inc()

    def failed(self, reason: str) -> None:
        self.failures.labels(reason).inc()

    def job_created(self, run_created: datetime | None, created: bool) -> None:
        if not created:
            self.jobs_adopted.inc()
            return
        self.jobs_created.inc()
        if run_created is not None:
            self.job_creation.observe(max(0.0, (datetime.now(UTC) - run_created).total_seconds()))
