"""Entry point of ``trainyard-operator``: settings, logging, metrics server, then ``kopf.run``.

kopf is configured once, here: our own annotation and finalizer prefixes (``trainyard.dev``),
server-side label selectors for the Jobs and pods we watch, and namespace scoping from the
settings. The handlers live in main.py; the clients they use are built here, never at import.
"""

from __future__ import annotations

import logging
import re

import kopf

from trainyard_operator import constants as c
from trainyard_operator.kube import Kube, connect
from trainyard_operator.metrics import OperatorMetrics
from trainyard_operator.reconcile import Context
from trainyard_operator.settings import OperatorSettings, get_settings
from trainyard_operator.store import Store

log = logging.getLogger("trainyard_operator")


class _QuietRoutine(logging.Filter):
    """Drops kopf's "succeeded" line for every watch event and timer tick (they are not Events either)."""

    ROUTINE = re.compile(r"^(Handler '(job-changed|pod-changed|phase-metrics)'|Timer 'progress') succeeded\.$")

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.levelno == logging.INFO and self.ROUTINE.match(record.getMessage()))


def configure_kopf(settings: OperatorSettings) -> kopf.OperatorSettings:
    """kopf's settings, once: prefixes, selectors, scanning."""
    config = kopf.OperatorSettings()
    config.persistence.finalizer = c.FINALIZER
    config.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=c.KOPF_PREFIX)
    config.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=c.KOPF_PREFIX, key="last-handled-configuration")
    config.posting.reporting_component = c.MANAGED_BY
    config.posting.level = logging.INFO
    config.execution.max_workers = settings.kube_workers
    # Fixed namespaces need no cluster-wide list/watch of namespaces and CRDs (a namespaced Role
    # suffices); the CRD must then exist when the operator starts (Helm installs crds/ first).
    config.scanning.disabled = bool(settings.namespaces)
    # Only our Jobs and pods travel over the watch streams (kopf would filter them client-side too).
    config.watching.label_selectors["batch", "v1", "jobs"] = c.RUN_ID_LABEL
    config.watching.label_selectors["v1", "pods"] = c.RUN_ID_LABEL
    return config


def main() -> None:
    settings = get_settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if settings.log_level != "DEBUG":
        for handler in logging.getLogger().handlers:
            handler.addFilter(_QuietRoutine())
    metrics = OperatorMetrics()
    if settings.metrics_port:
        metrics.serve(settings.metrics_port)
    ctx = Context(settings=settings, kube=Kube(connect(settings.kube_workers), settings.kube_workers),
                  store=Store(settings.mongo, workers=max(2, settings.kube_workers // 4)), metrics=metrics)
    from trainyard_operator import main as _handlers  # noqa: F401 - registers the kopf handlers

    scope = ", ".join(settings.namespaces) or "the whole cluster"
    log.info("trainyard operator serving %s; trainer image %s", scope, settings.trainer_image)
    try:
        kopf.run(
            standalone=True,  # one replica; no peering objects
            clusterwide=not settings.namespaces,
            namespaces=settings.namespaces,
            settings=configure_kopf(settings),
            memo=kopf.Memo(ctx=ctx),
            liveness_endpoint=f"http://0.0.0.0:{settings.health_port}/healthz" if settings.health_port else None,
        )
    finally:
        ctx.close()


if __name__ == "__main__":
    main()
