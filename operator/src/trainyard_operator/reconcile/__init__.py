"""Reconcilers, one module per operation, called by main.py's kopf handlers.

- create.py: a TrainingRun gets its Job (create or adopt), or a permanent error naming the field.
- job_status.py: Job/Pod/run-store state -> the run's status (the only writer of ``status``).
- stop.py: ``spec.stop`` suspends (or resumes) the Job; a finished run never keeps a trainer.
- progress.py: a timer that mirrors progress from the run store while a run is active.

``Context`` is what every reconciler needs, built once by __main__.py and handed to kopf as memo.
``RunQueue`` serializes work per run and coalesces bursts of events into one sync.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import kopf

from trainyard_operator.kube import Kube, KubeError
from trainyard_operator.metrics import OperatorMetrics
from trainyard_operator.settings import OperatorSettings
from trainyard_operator.store import Store

log = logging.getLogger(__name__)
RunKey = tuple[str, str]  # (namespace, name)
RETRY_DELAY = 5.0


@dataclass
class _Slot:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    dirty: bool = False
    running: bool = False


class RunQueue:
    """Per-run serialization: one sync at a time per run; events during a sync cause one more."""

    def __init__(self) -> None:
        self._slots: dict[RunKey, _Slot] = {}

    def lock(self, key: RunKey) -> asyncio.Lock:
        return self._slots.setdefault(key, _Slot()).lock

    async def coalesce(self, key: RunKey, work: Callable[[], Awaitable[None]]) -> None:
        """Run ``work`` now, or mark it due again if it is already running for ``key``."""
        slot = self._slots.setdefault(key, _Slot())
        slot.dirty = True
        if slot.running:
            return
        slot.running = True
        try:
            while slot.dirty:
                slot.dirty = False
                async with slot.lock:
                    await work()
        finally:
            slot.running = False

    def forget(self, key: RunKey) -> None:
        slot = self._slots.get(key)
        if slot is not None and not slot.running and not slot.lock.locked():
            del self._slots[key]


@dataclass
class Context:
    settings: OperatorSettings
    kube: Kube
    store: Store
    metrics: OperatorMetrics
    queue: RunQueue = field(default_factory=RunQueue)

    @contextlib.asynccontextmanager
    async def reconciling(self, handler: str) -> AsyncIterator[None]:
        """Count a handler invocation, and its failure by kind (temporary, permanent, unexpected)."""
        self.metrics.reconciled(handler)
        try:
            yield
        except kopf.TemporaryError:
            self.metrics.error(handler, "temporary")
            raise
        except kopf.PermanentError:
            self.metrics.error(handler, "permanent")
            raise
        except KubeError as e:  # API trouble outside create.py's own handling: retried by kopf
            self.metrics.error(handler, "temporary" if e.temporary else "unexpected")
            raise kopf.TemporaryError(str(e), delay=RETRY_DELAY) from e
        except Exception:
            self.metrics.error(handler, "unexpected")
            raise

    def close(self) -> None:
        self.kube.close()
        self.store.close()
