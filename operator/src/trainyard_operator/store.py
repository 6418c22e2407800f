"""The only module that talks to MongoDB: trainyard_runstore's sync ``RunStore`` in a thread pool.

Reads a run's record (progress, attempts, what the trainer recorded) for reconcile/job_status.py
and reconcile/progress.py, and writes the operator's failure record (``metadata.error`` with
``source="operator"``) when the trainer could not record its own death. The operator never
deletes anything here: a run's history outlives its TrainingRun.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from pymongo.errors import PyMongoError
from trainyard_runstore.schema import ErrorInfo, RunRecord, RunStatus, StoredRun
from trainyard_runstore.settings import MongoSettings
from trainyard_runstore.sync_store import RunStore

log = logging.getLogger(__name__)

StoreError = PyMongoError


class Store:
    def __init__(self, settings: MongoSettings, workers: int = 4) -> None:
        self._store = RunStore(settings)  # pymongo connects lazily, in the background
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mongo")

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._store.close()

    async def _run(self, fn, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def get_run(self, run_id: str) -> StoredRun | None:
        """The run's record, or None if the trainer never wrote one. Raises StoreError."""
        run: StoredRun | None = await self._run(self._store.get_run, run_id)
        return run

    async def record_outcome(self, run_id: str, status: RunStatus, at: datetime) -> bool:
        """Write a Job's successful outcome the trainer could not write (refused if the run moved on)."""
        return await self._run(lambda: self._store.set_status_at(run_id, status, at=at, attempt=None))

    async def mark_lost(self, run_id: str, timeout: float) -> bool:
        """The Lost verdict for a run with no live pod whose heartbeat is older than ``timeout``."""
        lost = await self._run(lambda: self._store.mark_lost(timeout, noticed_by="operator", run_ids=[run_id]))
        return bool(lost)

    async def record_failure(self, run: RunRecord, error: ErrorInfo) -> None:
        """Mark the run failed with ``error`` (creates the record if the trainer never started)."""
        await self._run(self._store.record_failure, run, error)
