"""Liveness and fencing of a run: heartbeats, the Lost verdict, one writer per run, ordered statuses.

Fields on the run's home document (its own collection; ``layout.home``), written only through this
module; the callers copy a changed status into the run index (``RunStore.sync_index``):

- ``fence``: the attempt number of the run's current writer. A writer claims the next number when it
  starts (compare-and-set), and every heartbeat and status it writes is conditioned on it, so a stale
  writer (a reused ``--run-id``, a pod on a partitioned node) is refused instead of merged. The sync
  store conditions its other writes of a claimed run on it too (``fence_ok``; see ``sync_store``).
- ``heartbeat``: ``{time, attempt, episode}``, written by the trainer on every flush and at least every
  few seconds.
- ``status_time``: when the current status happened (the writer's clock, carried in the status op), so a
  replayed status never moves a run back to an older one.

A running run whose heartbeat is older than a timeout is given the verdict ``failed`` with
``metadata.error.type == "Lost"`` (``mark_lost``) by whichever component notices: the operator for its
runs, the API's sweeper for the others. A heartbeat or a status from the run's own current attempt
overrides that verdict (``heartbeat`` revives the run), because a trainer that merely lost the database
for a while must not be ended for good.

Filters and updates are built as plain dicts so the sync store (trainer, operator) and the async store
(API) run the same ones. Finding stale runs reads the run index for running runs then each candidate's home
document: no operation scans other runs' episodes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pymongo.collection import Collection

from trainyard_runstore import layout
from trainyard_runstore.schema import ErrorInfo, RunStatus, utcnow

Docs = Collection[dict[str, Any]]

LOST = "Lost"
DEFAULT_TIMEOUT_SECONDS = 120.0


class StaleWriter(RuntimeError):
    """A newer attempt holds the run: this writer's writes are refused."""


def fence_ok(attempt: int) -> dict[str, Any]:
    return {"$or": [{"fence": {"$exists": False}}, {"fence": {"$lte": attempt}}]}


def not_lost() -> dict[str, Any]:
    return {"$or": [{"status": {"$ne": RunStatus.FAILED.value}}, {"metadata.error.type": {"$ne": LOST}}]}


def home_statement(update: dict[str, Any], attempt: int | None,
                   beat: tuple[int, int] | None = None, now: datetime | None = None) -> dict[str, Any]:
    """The ``update`` command statement of a write to a run's home document.

    Fenced (``attempt``): an upsert whose filter a newer fence makes match nothing, so its insert fails
    on ``_id`` (duplicate key) and stops an ordered batch; ``beat`` = (attempt, episode) also sets the
    heartbeat, and a Lost verdict then refuses the statement too (the caller revives the run first, see
    ``heartbeat``). Unfenced (a replay without a claim): a plain update.
    """
    if not update and beat is None:
        raise ValueError("an empty update would replace the run's whole home document")
    if attempt is None:
        return {"q": layout.HOME_KEY, "u": update}
    conds = [fence_ok(attempt)]
    if beat is not None:
        update = {**update, "$set": {**update.get("$set", {}), "heartbeat": {
            "time": now or utcnow(), "attempt": beat[0], "episode": beat[1]}}}
        conds.append(not_lost())
    return {"q": {**layout.HOME_KEY, "$and": conds}, "u": update, "upsert": True}


def doc_statement(key: dict[str, Any], doc: dict[str, Any], attempt: int | None) -> dict[str, Any]:
    """The ``update`` command statement that upserts a whole document of the run (a statistics page),
    stamped with the attempt that wrote it. Its filter is the ``_id`` alone, the only filter FerretDB
    v1 answers without decoding every document of the collection; the fence check is the batch's home
    statement before it (``home_statement``), which stops the ordered batch when it is refused."""
    return {"q": key, "u": doc if attempt is None else {**doc, "fence": attempt}, "upsert": True}


def claim(home: Docs, run_id: str, *, expected: int | None = None,
          before: Callable[[int], None] | None = None) -> int:
    """Become the run's writer with the next attempt number; returns it.

    ``expected``: the newest fence this writer's run folder knows (it started while the database was
    down); the claim then fails with ``StaleWriter`` if anybody claimed a newer one since.
    ``before(n)`` runs before the claim of ``n`` is written, so the folder can remember ``n`` first and a
    kill between the two never leaves the folder behind the database.
    """
    key = layout.HOME_KEY
    for _ in range(20):  # compare-and-set; a lost race re-reads
        doc = home.find_one(key, {"fence": 1}) or {}
        current = int(doc.get("fence") or 0)
        if expected is not None and current > expected:
            raise StaleWriter(f"run {run_id}: attempt {current} started after this writer's attempt {expected}")
        if before is not None:
            before(current + 1)
        cond = {"fence": current} if "fence" in doc else {"fence": {"$exists": False}}
        res = home.update_one({**key, **cond}, {"$set": {"fence": current + 1}})
        if res.matched_count == 1:
            return current + 1
    raise StaleWriter(f"run {run_id}: could not claim the run (other writers keep claiming it)")


def heartbeat(home: Docs, run_id: str, attempt: int, *, episode: int, now: datetime | None = None) -> bool:
    """Record that attempt ``attempt`` is alive; revives a run that was given the Lost verdict
    (returns True then, so the caller refreshes the run index).

    Raises ``StaleWriter`` when a newer attempt holds the run.
    """
    now = now or utcnow()
    key = layout.HOME_KEY
    beat = {"heartbeat": {"time": now, "attempt": attempt, "episode": episode}}
    res = home.update_one({**key, "fence": attempt}, {"$set": beat})
    if res.matched_count == 0:
        raise StaleWriter(f"run {run_id}: attempt {attempt} is no longer the run's writer")
    revived = home.update_one(
        {**key, "fence": attempt, "status": RunStatus.FAILED.value, "metadata.error.type": LOST},
        {"$set": {"status": RunStatus.RUNNING.value, "end_time": None, "duration_seconds": None,
                  "status_time": now, "metadata.revived_at": now},
         "$unset": {"metadata.error": ""}, "$inc": {"version": 1}})
    return revived.matched_count == 1


def status_filter(attempt: int | None, at: datetime) -> dict[str, Any]:
    """A status written at ``at`` by ``attempt`` applies unless the run moved on: a later attempt holds
    it, or it holds a newer status (a Lost verdict never counts as newer: the trainer knows better)."""
    newer_ok = {"$or": [{"status_time": {"$exists": False}}, {"status_time": None}, {"status_time": {"$lte": at}},
                        {"metadata.error.type": LOST}]}
    parts = [newer_ok]
    if attempt is not None:
        parts.append(fence_ok(attempt))
    return {**layout.HOME_KEY, "$and": parts}


def set_status(home: Docs, status: RunStatus, *, at: datetime, attempt: int | None,
               error: ErrorInfo | None = None) -> bool:
    """Apply a status change that happened at ``at``; False when the run had moved on (refused)."""
    update: dict[str, Any] = {"status": status.value, "status_time": at}
    unset: dict[str, Any] = {}
    if status.is_terminal():
        update["end_time"] = at
        run = home.find_one(layout.HOME_KEY, {"start_time": 1}) or {}
        if run.get("start_time") is not None:
            start = run["start_time"]
            if start.tzinfo is None and at.tzinfo is not None:
                start = start.replace(tzinfo=at.tzinfo)
            update["duration_seconds"] = max(0.0, (at - start).total_seconds())
    else:
        update["end_time"] = None
        update["duration_seconds"] = None
    if error is not None:
        update["metadata.error"] = error.model_dump(mode="python", exclude_none=True)
    elif status is not RunStatus.FAILED:
        unset["metadata.error"] = ""  # a Lost verdict overridden by the trainer's own outcome
    body: dict[str, Any] = {"$set": update, "$inc": {"version": 1}}
    if unset:
        body["$unset"] = unset
    return home.update_one(status_filter(attempt, at), body).matched_count == 1


def lost_error(run: dict[str, Any], timeout: float, *, noticed_by: str) -> ErrorInfo:
    beat = run.get("heartbeat") or {}
    last = (run.get("last_episode") or {}).get("episode") or (run.get("summary") or {}).get("last_episode")
    seen = beat.get("time") or run.get("start_time")
    return ErrorInfo(type=LOST, source=noticed_by, reason="HeartbeatTimeout",
                     message=f"no heartbeat for more than {timeout:.0f} s (last {seen}); the trainer is gone",
                     last_heartbeat=seen.isoformat() if isinstance(seen, datetime) else seen,
                     last_episode=beat.get("episode", last), attempt=beat.get("attempt", run.get("fence")))


def _cutoff(timeout: float, now: datetime | None) -> datetime:
    return (now or utcnow()) - timedelta(seconds=timeout)


def candidates_filter(run_ids: list[str] | None = None) -> dict[str, Any]:
    """On the run index: the running runs (few), whose home documents then tell which are stale."""
    query: dict[str, Any] = {"status": RunStatus.RUNNING.value}
    if run_ids is not None:
        query["run_id"] = {"$in": run_ids}
    return query


def stale_filter(timeout: float, now: datetime | None = None) -> dict[str, Any]:
    """On a home document: running, and its newest sign of life (heartbeat, else start) is older
    than ``timeout``."""
    cutoff = _cutoff(timeout, now)
    return {**layout.HOME_KEY, "status": RunStatus.RUNNING.value,
            "$or": [{"heartbeat.time": {"$lt": cutoff}},
                    {"heartbeat": {"$exists": False}, "start_time": {"$lt": cutoff}}]}


def lost_update(run: dict[str, Any], timeout: float, *, noticed_by: str,
                now: datetime | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(filter, update) that gives ``run`` the Lost verdict unless it showed life meanwhile."""
    now = now or utcnow()
    beat_time = (run.get("heartbeat") or {}).get("time")
    cond: dict[str, Any] = {"status": RunStatus.RUNNING.value}
    cond["heartbeat.time"] = beat_time if beat_time is not None else {"$exists": False}
    if beat_time is None:
        cond["heartbeat"] = {"$exists": False}
        del cond["heartbeat.time"]
    update: dict[str, Any] = {"status": RunStatus.FAILED.value, "status_time": now, "end_time": beat_time or now,
                              "metadata.error": lost_error(run, timeout, noticed_by=noticed_by)
                              .model_dump(mode="python", exclude_none=True)}
    start = run.get("start_time")
    if start is not None:
        end = update["end_time"]
        if start.tzinfo is None and end.tzinfo is not None:
            start = start.replace(tzinfo=end.tzinfo)
        update["duration_seconds"] = max(0.0, (end - start).total_seconds())
    return {**layout.HOME_KEY, **cond}, {"$set": update, "$inc": {"version": 1}}


_PROJECTION = {"run_id": 1, "status": 1, "heartbeat": 1, "start_time": 1, "fence": 1, "last_episode": 1,
               "summary.last_episode": 1}


def mark_lost(index: Docs, home_of: Callable[[str], Docs], timeout: float = DEFAULT_TIMEOUT_SECONDS,
              *, noticed_by: str, run_ids: list[str] | None = None, now: datetime | None = None) -> list[str]:
    """Give every stale running run (of ``run_ids`` when given) the Lost verdict; returns their ids.

    ``index`` is the run index, ``home_of(run_id)`` a run's home collection; the caller refreshes the
    index entries of the returned runs.
    """
    lost = []
    for entry in list(index.find(candidates_filter(run_ids), {"run_id": 1})):
        home = home_of(entry["run_id"])
        run = home.find_one(stale_filter(timeout, now), _PROJECTION)
        if run is None:
            continue
        flt, upd = lost_update(run, timeout, noticed_by=noticed_by, now=now)
        if home.update_one(flt, upd).matched_count:
            lost.append(run["run_id"])
    return lost


async def mark_lost_async(index: Any, home_of: Callable[[str], Any], timeout: float = DEFAULT_TIMEOUT_SECONDS,
                          *, noticed_by: str, now: datetime | None = None) -> list[str]:
    """``mark_lost`` for async collections (the API's sweeper)."""
    lost = []
    candidates = await index.find(candidates_filter(), {"run_id": 1}).to_list()
    for entry in candidates:
        home = home_of(entry["run_id"])
        run = await home.find_one(stale_filter(timeout, now), _PROJECTION)
        if run is None:
            continue
        flt, upd = lost_update(run, timeout, noticed_by=noticed_by, now=now)
        if (await home.update_one(flt, upd)).matched_count:
            lost.append(run["run_id"])
    return lost
