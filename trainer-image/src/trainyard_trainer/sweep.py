"""``trainyard-train sweep``: write orphan write-ahead logs and give dead runs the Lost verdict.

An orphan log is what a trainer left in ``<checkpoint-dir>/<run_id>/`` when it was killed, or exited
while MongoDB was down, and nobody resumed the run. A folder is swept only when its run shows no life
(no heartbeat for ``timeout`` seconds) and no process holds its ``wal.lock`` (a trainer holds it for its
lifetime, even before it reached the database), so a live trainer is never raced. The trainer sweeps its
sibling folders when it starts; the command does it for a whole checkpoint folder (a cron job, or by
hand). Then every stale running run of the swept folders is given the Lost verdict.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from trainyard_client import spill, wal
from trainyard_runstore import liveness, rows
from trainyard_runstore.schema import RunStatus, StoredRun, utcnow
from trainyard_runstore.sync_store import RunStore

log = logging.getLogger(__name__)


@dataclass
class SweepReport:
    drained: dict[str, int] = field(default_factory=dict)  # run_id -> episodes written
    lost: list[str] = field(default_factory=list)
    skipped_alive: list[str] = field(default_factory=list)


def _alive(run: StoredRun | None, timeout: float) -> bool:
    if run is None or run.heartbeat is None or run.status is not RunStatus.RUNNING:
        return False
    beat = run.heartbeat.time
    if beat.tzinfo is None:
        beat = beat.replace(tzinfo=utcnow().tzinfo)
    return utcnow() - beat < timedelta(seconds=timeout)


def drain_folder(store: RunStore, folder: Path) -> int:
    """Write a folder's uncommitted log (idempotent) and mark it written; returns the episodes written."""
    log_ = wal.WriteAheadLog(folder, create=False)
    pos = log_.committed
    episodes = 0
    newest = 0
    while True:
        ops, nxt = log_.read(pos, 5000)
        if ops:
            episodes += spill.apply(store, folder.name, ops, replay=True)
            newest = max([newest] + [op.payload[rows.EPISODE] for op in ops if op.kind == "episode"])
        if nxt == pos:
            break
        log_.commit(nxt, last_episode=newest)
        pos = nxt
        if not ops:
            break
    return episodes


def sweep(store: RunStore, checkpoint_dir: Path, *, timeout: float = liveness.DEFAULT_TIMEOUT_SECONDS,
          skip: str | None = None) -> SweepReport:
    report = SweepReport()
    root = Path(checkpoint_dir)
    if not root.is_dir():
        return report
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and p.name != skip):
        if not wal.segments(folder):
            continue
        run = store.get_run(folder.name)
        lock = None if _alive(run, timeout) else wal.try_lock_exclusive(folder)
        if lock is None:  # its trainer lives (here, or heartbeating from elsewhere): never race it
            report.skipped_alive.append(folder.name)
            continue
        try:
            report.drained[folder.name] = drain_folder(store, folder)
            log.info("swept %s: %d episodes written from its write-ahead log", folder, report.drained[folder.name])
        except Exception:  # noqa: BLE001 - one bad folder must not stop the sweep of the others
            log.exception("sweep of %s failed; it stays for the next sweep", folder)
        finally:
            os.close(lock)
    report.lost = store.mark_lost(timeout, noticed_by="sweeper", run_ids=list(report.drained) or None) \
        if report.drained else []
    return report
