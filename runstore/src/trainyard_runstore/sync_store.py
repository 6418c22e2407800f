"""Synchronous MongoDB access for writers: the trainer's run logger, replay, and the operator.

Holds a ``RunWriter`` per run: it keeps the run's per-bucket statistics in memory so that every
write replaces whole documents with absolute values, which makes writes idempotent (a replayed
episode overwrites itself). One writer per run at a time; layout decisions live in ``layout``.

Fencing per write: once this store claimed a run (``claim_run``), every write batch it makes to that run
is conditioned on its attempt number (``liveness.fence_ok``), not only heartbeats and statuses, at no
extra operation. An episode or rollout batch is an ordered ``update`` command on the run's home collection
(``update_home``): first the home document's update, an upsert whose filter a newer ``fence`` makes match
nothing, so that its insert fails on ``_id`` and stops the batch; then the statistics or rollout pages.
Only then go the episode buckets. So a stale attempt is refused by its batch's first statement, before
anything of the batch lands, a bucket the new attempt has not written yet included (FerretDB has no
transactions; the order does it), and only a refusal costs a read (which tells a newer attempt from a
Lost verdict, which the logger's heartbeat, carried by the same statement, overrides). Pages and buckets
are written by their bare ``_id`` (the only filter FerretDB v1 answers without decoding the whole
collection) and carry the ``fence`` of the attempt that wrote them. What the order cannot exclude: a
claim landing in the one round trip between a writer's home batch and its bucket write lets that bucket
write land (the stale writer is refused from its next batch on); the new attempt writes whole buckets,
so its next write of that bucket replaces what landed.

A logger flush of one episode is thus two round trips: the home batch (summary, heartbeat, statistics
page) and the bucket (``tests/client/test_flush_operations.py`` counts them).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo import MongoClient, ReturnDocument
from pymongo.collection import Collection
from pymongo.errors import BulkWriteError, DuplicateKeyError, PyMongoError, WriteError

from trainyard_runstore import layout, liveness, metrics, rows
from trainyard_runstore.ladder import Ladder
from trainyard_runstore.layout import SubStats
from trainyard_runstore.rows import Row
from trainyard_runstore.schema import (
    Attempt,
    Checkpoint,
    Episode,
    ErrorInfo,
    EvalGame,
    Evaluation,
    EvaluationResult,
    Rollout,
    RunRecord,
    RunStatus,
    StoredRun,
    utcnow,
)
from trainyard_runstore.settings import MongoSettings

log = logging.getLogger(__name__)

DUPLICATE_KEY = 11000


class RunStore:
    """A pymongo client bound to the Trainyard database."""

    def __init__(self, settings: MongoSettings | None = None, client: MongoClient[dict[str, Any]] | None = None):
        self.settings = settings or MongoSettings()
        self.client = client or MongoClient(self.settings.uri, **self.settings.client_kwargs())
        self.db = self.client[self.settings.db_name]
        self._indexes_ready = False
        self._writers: dict[str, RunWriter] = {}
        self._fences: dict[str, int] = {}  # run_id -> the attempt number this store claimed it with
        self._beats: dict[str, tuple[int, int]] = {}  # run_id -> (attempt, episode) of a heartbeat to carry

    def fence(self, run_id: str) -> int | None:
        """The attempt number this store writes ``run_id`` under (None: unfenced, e.g. a replay CLI)."""
        return self._fences.get(run_id)

    def check_fence(self, run_id: str) -> None:
        """Raise ``StaleWriter`` when a newer attempt than this store's claim holds the run."""
        attempt = self._fences.get(run_id)
        if attempt is not None and self.home(run_id).find_one(
                {**layout.HOME_KEY, "fence": {"$gt": attempt}}, {"_id": 1}) is not None:
            raise liveness.StaleWriter(f"run {run_id}: attempt {attempt} is no longer the run's writer")

    def beat_with_next_write(self, run_id: str, attempt: int, *, episode: int) -> None:
        """Carry a heartbeat in the run's next home write (``update_home``) rather than in an operation of
        its own; ``beat_pending`` tells whether one is still waiting (no home write happened)."""
        self._beats[run_id] = (attempt, episode)

    def beat_pending(self, run_id: str) -> bool:
        return run_id in self._beats

    def update_home(self, run_id: str, update: dict[str, Any],
                    docs: Sequence[tuple[dict[str, Any], dict[str, Any]]] = ()) -> None:
        """Update the run's home document, then upsert whole documents of its home collection (``docs``:
        statistics pages as (key, document)), in one round trip: an ordered ``update`` command.

        A claimed run's statements are fenced (see the module docstring). The home statement is an
        upsert of a filter that a newer attempt's fence (or, with a pending heartbeat, a Lost verdict)
        makes match nothing: its insert then fails on ``_id``, which stops the ordered batch before the
        documents, and only that refusal costs a read to tell which it was. A Lost run is revived by the
        heartbeat (``liveness.heartbeat``) and the batch sent again; a newer attempt raises ``StaleWriter``.
        """
        attempt = self._fences.get(run_id)
        beat = self._beats.pop(run_id, None) if attempt is not None else None
        coll = layout.home(run_id)
        update, docs = layout.storable(update), [(key, layout.storable(doc)) for key, doc in docs]
        for _ in range(3):
            if not update and beat is None and not docs:
                return  # nothing left to write (a heartbeat alone, carried by the revival)
            statements = [liveness.home_statement(update, attempt, beat)]
            statements += [liveness.doc_statement(key, doc, attempt) for key, doc in docs]
            reply = self.db.command("update", coll, updates=statements, ordered=True)
            errors = reply.get("writeErrors") or []
            if not errors:
                return
            first = errors[0]
            if first.get("code") != DUPLICATE_KEY or attempt is None:
                raise WriteError(first.get("errmsg", "write error"), first.get("code"), first)
            if first.get("index", 0) > 0:
                raise liveness.StaleWriter(f"run {run_id}: attempt {attempt} is no longer the run's writer "
                                           f"({coll} {docs[first['index'] - 1][0]['_id']} was written by a newer "
                                           "attempt)")
            found = self.home(run_id).find_one(layout.HOME_KEY, {"fence": 1, "status": 1, "metadata.error.type": 1})
            if found is None or int(found.get("fence") or 0) > attempt:
                raise liveness.StaleWriter(f"run {run_id}: attempt {attempt} is no longer the run's writer")
            error = (found.get("metadata") or {}).get("error") or {}
            lost = found.get("status") == RunStatus.FAILED.value and error.get("type") == liveness.LOST
            if beat is not None and lost:
                self.heartbeat(run_id, beat[0], episode=beat[1])  # revives the run (and its index entry)
                beat = None
            # else the run changed between the two reads: send the batch again
        raise liveness.StaleWriter(f"run {run_id}: the home document of attempt {attempt} keeps changing")

    def replace_stamped(self, coll: Collection[dict[str, Any]], run_id: str, key: dict[str, Any],
                       doc: dict[str, Any]) -> None:
        """Upsert a whole document of the run (an episode bucket) by its ``_id`` alone, stamped with this
        store's fence. No fence condition in the filter: FerretDB v1 pushes down only a bare ``_id`` (any
        other condition decodes every bucket of the run: 60-80 ms instead of 10 in a 200-bucket run on a
        loaded machine). The fence was checked by the batch's home statement just before (``update_home``)."""
        attempt = self._fences.get(run_id)
        coll.replace_one(key, doc if attempt is None else {**doc, "fence": attempt}, upsert=True)

    def close(self) -> None:
        for w in self._writers.values():
            w.finish_index()
        self.client.close()

    def ping(self) -> None:
        self.client.admin.command("ping")

    def ensure_indexes(self) -> None:
        # One index per command: FerretDB v1.24 drops the connection when a multi-index
        # createIndexes repeats indexes that already exist.
        if self._indexes_ready:
            return
        for name, indexes in layout.INDEXES.items():
            for index in indexes:
                self.db[name].create_indexes([index])
        self._indexes_ready = True

    def home(self, run_id: str) -> Collection[dict[str, Any]]:
        return self.db[layout.home(run_id)]

    # ------------------------------------------------------------ runs

    def _register_agent(self, agent_id: str) -> None:
        self.db[layout.AGENTS].update_one({"_id": agent_id}, {"$setOnInsert": {"_id": agent_id}}, upsert=True)

    def sync_index(self, run_id: str, home_doc: dict[str, Any] | None = None) -> None:
        """Copy the run's list fields from its home document into the run index (and move the list's
        change token). Every change but episode writes calls it; ``RunWriter`` throttles it."""
        doc = home_doc or self.home(run_id).find_one(layout.HOME_KEY, layout.WITHOUT_OPEN)
        if doc is None:
            return
        entry = {**layout.index_doc(doc), **layout.run_key(run_id)}
        self.db[layout.RUNS].replace_one(layout.run_key(run_id), entry, upsert=True)
        self.bump_index_version(entry)

    def bump_index_version(self, entry: dict[str, Any] | None = None) -> None:
        """Move the list's change token and log the change (``entry``: the run's new index document;
        None after a bulk write into the index: readers then reload it)."""
        for attempt in range(layout.INDEX_VERSION_TRIES):
            meta = self.db[layout.META].find_one_and_update(layout.INDEX_VERSION_KEY, {"$inc": {"version": 1}},
                                                            upsert=True, return_document=ReturnDocument.AFTER)
            assert meta is not None, "upserted"
            version = int(meta["version"])
            try:
                self.db[layout.INDEX_LOG].insert_one(layout.index_log_entry(version, entry))
                break
            except DuplicateKeyError:  # another writer drew the same version (see INDEX_VERSION_TRIES)
                if attempt == layout.INDEX_VERSION_TRIES - 1:
                    raise
        if version % layout.INDEX_LOG_TRIM_EVERY == 0:
            self.db[layout.INDEX_LOG].delete_many(layout.index_log_stale(version))

    def _update_home(self, run_id: str, update: dict[str, Any], *, index: bool = True) -> None:
        update.setdefault("$inc", {})["version"] = 1
        self.update_home(run_id, update)
        if index:
            self.sync_index(run_id)

    def create_run(self, record: RunRecord) -> StoredRun:
        """Insert the run, or mark an existing one running again (a resumed attempt).

        Returns the stored run.
        """
        self.ensure_indexes()
        self._register_agent(record.agent_id)
        doc = _record_doc(record)
        on_insert = {k: v for k, v in doc.items() if k not in {"status", "end_time", "duration_seconds"}}
        self.home(record.run_id).update_one(
            layout.HOME_KEY,
            {"$setOnInsert": on_insert,
             "$set": {"status": RunStatus.RUNNING.value, "end_time": None, "duration_seconds": None},
             "$inc": {"version": 1}},
            upsert=True,
        )
        stored = self._home_doc(record.run_id)
        assert stored is not None, "upserted just now"
        self.sync_index(record.run_id, stored)
        return StoredRun.model_validate(stored)

    def _home_doc(self, run_id: str) -> dict[str, Any] | None:
        doc = self.home(run_id).find_one(layout.HOME_KEY, layout.WITHOUT_OPEN)
        if doc is not None:
            doc["_id"] = layout.run_key(run_id)["_id"]
        return doc

    def get_run(self, run_id: str) -> StoredRun | None:
        """The run as stored, or None when there is no such run."""
        doc = self._home_doc(run_id)
        return StoredRun.model_validate(doc) if doc is not None else None

    def set_metadata(self, run_id: str, **fields: Any) -> None:
        self._update_home(run_id, {"$set": {f"metadata.{k}": v for k, v in fields.items()}})

    def set_status(self, run_id: str, status: RunStatus, *, error: ErrorInfo | None = None,
                   end_time: datetime | None = None) -> None:
        update: dict[str, Any] = {"status": status.value}
        if status.is_terminal():
            run = self.get_run(run_id)
            end = end_time or utcnow()
            update["end_time"] = end
            if run is not None:
                update["duration_seconds"] = (end - run.start_time).total_seconds()
        else:
            update["end_time"] = None
            update["duration_seconds"] = None
        if error is not None:
            update["metadata.error"] = error.model_dump(mode="python", exclude_none=True)
        self._update_home(run_id, {"$set": update})

    def record_failure(self, run: RunRecord, error: ErrorInfo) -> None:
        """Operator path: the trainer could not record its own death; create the run if it never started."""
        self.ensure_indexes()
        self._register_agent(run.agent_id)
        doc = _record_doc(run)
        doc["status"] = RunStatus.FAILED.value
        self.home(run.run_id).update_one(
            layout.HOME_KEY,
            {"$setOnInsert": {k: v for k, v in doc.items() if k not in {"status", "metadata"}}},
            upsert=True,
        )
        self.set_status(run.run_id, RunStatus.FAILED, error=error)

    # ------------------------------------------------------------ liveness and fencing (see ``liveness``)

    def insert_run_if_missing(self, record: RunRecord) -> None:
        """Create the run document when it does not exist; never touches an existing run's status."""
        self.ensure_indexes()
        self._register_agent(record.agent_id)
        doc = _record_doc(record)
        doc["version"] = 1
        res = self.home(record.run_id).update_one(layout.HOME_KEY, {"$setOnInsert": doc}, upsert=True)
        if res.upserted_id is not None:
            self.sync_index(record.run_id)

    def claim_run(self, run_id: str, *, expected: int | None = None, before: Any = None) -> int:
        """Claim the run's next attempt number; every later write of this store to the run is fenced by it."""
        number = liveness.claim(self.home(run_id), run_id, expected=expected, before=before)
        self._fences[run_id] = number
        return number

    def send_beat(self, run_id: str) -> None:
        """Write a pending heartbeat (``beat_with_next_write``) that no home write carried, on its own."""
        if run_id in self._beats:
            self.update_home(run_id, {})

    def heartbeat(self, run_id: str, attempt: int, *, episode: int) -> None:
        self._beats.pop(run_id, None)
        if liveness.heartbeat(self.home(run_id), run_id, attempt, episode=episode):
            self.sync_index(run_id)  # revived from the Lost verdict: the list shows it running again

    def set_status_at(self, run_id: str, status: RunStatus, *, at: datetime, attempt: int | None,
                      error: ErrorInfo | None = None) -> bool:
        """A status change that happened at ``at`` (refused when the run moved on; see ``liveness``)."""
        applied = liveness.set_status(self.home(run_id), status, at=at, attempt=attempt, error=error)
        if applied:
            self.sync_index(run_id)
        return applied

    def mark_lost(self, timeout: float, *, noticed_by: str, run_ids: list[str] | None = None) -> list[str]:
        lost = liveness.mark_lost(self.db[layout.RUNS], self.home, timeout, noticed_by=noticed_by, run_ids=run_ids)
        for run_id in lost:
            self.sync_index(run_id)
        return lost

    def add_attempt(self, run_id: str, attempt: Attempt) -> int:
        """Record an attempt once (a replayed record with the same number replaces itself).

        ``attempt.attempt == 0`` takes the next number: pods of one Job share a template, so a
        retried pod learns which try it is from the run's history. Returns the number used.
        """
        run = self.home(run_id).find_one(layout.HOME_KEY, {"metadata.attempts": 1}) or {}
        existing = (run.get("metadata") or {}).get("attempts", [])
        number = attempt.attempt or len(existing) + 1
        kept = [a for a in existing if a.get("attempt") != number]
        kept.append(attempt.model_copy(update={"attempt": number}).model_dump(mode="python"))
        kept.sort(key=lambda a: a["attempt"])
        self._update_home(run_id, {"$set": {"metadata.attempts": kept}})
        return number

    def add_evaluation(self, run_id: str, result: EvaluationResult) -> Evaluation:
        """Store an evaluation and its games; returns the evaluation with its game numbers.

        Games are numbered after every earlier evaluation's games; writing an evaluation with an
        ``id`` already stored replaces it and reuses its numbers (a replayed spill file). The games
        go first, then the run's list: an interruption in between leaves games that the retry
        overwrites.
        """
        self.check_fence(run_id)  # the games go first: a stale attempt must not add any
        run = self.home(run_id).find_one(layout.HOME_KEY, {"evaluations": 1}) or {}
        existing = [Evaluation.model_validate(e) for e in run.get("evaluations") or []]
        same = next((e for e in existing if e.id == result.evaluation.id), None)
        first = same.first_game if same else max((e.last_game for e in existing), default=0) + 1
        numbered = result.numbered(first)
        self._write_games(run_id, numbered.games)
        kept = [e for e in existing if e.id != result.evaluation.id] + [numbered.evaluation]
        kept.sort(key=lambda e: e.time)
        docs = [e.model_dump(mode="python") for e in kept]
        self._update_home(run_id, {"$set": {"evaluations": docs, "evaluation": docs[-1]}}, index=False)
        return numbered.evaluation

    def _write_games(self, run_id: str, games: list[EvalGame]) -> None:
        """Insert the games; any number already taken (a retried write) is replaced one by one.

        ``ordered=False`` lets the fresh ones in when some already exist.
        """
        if not games:
            return
        coll = self.db[layout.games_collection(run_id)]
        docs = {g.n: layout.storable(layout.game_doc(g)) for g in games}
        taken: list[int] = []
        try:
            coll.insert_many(list(docs.values()), ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(e.get("code") != DUPLICATE_KEY for e in errors):
                raise
            taken = [list(docs)[e["index"]] for e in errors]
        for n in taken:
            coll.replace_one(layout.game_key(n), docs[n], upsert=True)

    def put_ladder(self, ladder: Ladder) -> None:
        """Store an Elo ladder (``trainyard-train ladder``); the same id again replaces it."""
        self.db[layout.LADDERS].replace_one({"_id": ladder.id}, {"_id": ladder.id, **ladder.model_dump(mode="python")},
                                           upsert=True)

    def game(self, run_id: str, n: int) -> EvalGame | None:
        doc = self.db[layout.games_collection(run_id)].find_one(layout.game_key(n))
        return EvalGame.model_validate(doc) if doc else None

    def rollouts(self, run_id: str, first: int = 1, last: int | None = None) -> list[Rollout]:
        """Stored rollouts in [first, last]; ``last`` defaults to the run's newest."""
        if last is None:
            run = self.home(run_id).find_one(layout.HOME_KEY, {"last_rollout": 1}) or {}
            last = (run.get("last_rollout") or {}).get("rollout", 0)
        out: list[Rollout] = []
        for doc in self.home(run_id).find(layout.rollout_page_range(first, last)).sort("_id", 1):
            out.extend(layout.page_rollouts(doc, first, last))
        return out

    def writer(self, run_id: str) -> RunWriter:
        """The run's writer; the same one for every call on this store, so its cached bucket and
        statistics make each later write cost only what changed (the logger asks once per flush)."""
        w = self._writers.get(run_id)
        if w is None:
            w = self._writers[run_id] = RunWriter(self, run_id)
        return w

    def episodes(self, run_id: str, first: int = 1, last: int | None = None) -> list[Episode]:
        """Stored episodes in [first, last]; ``last`` defaults to the run's newest (tests, resume)."""
        if last is None:
            run = self.home(run_id).find_one(layout.HOME_KEY, {"summary.last_episode": 1}) or {}
            last = (run.get("summary") or {}).get("last_episode", 0)
        if last < first:
            return []
        open_, residents = layout.split_home(self.home(run_id).find(
            layout.with_home(layout.resident_range(first, last)), layout.PARTS_PROJECTION))
        resident = layout.open_residents(open_, residents, first, last)
        out: list[Episode] = []
        for sealed in [*self.db[layout.episodes_collection(run_id)].find(layout.bucket_range(first, last))
                       .sort("_id", 1), None]:
            for doc in layout.interleave(resident, sealed):
                out.extend(layout.bucket_episodes(doc, first, last))
        return out


def _record_doc(record: RunRecord) -> dict[str, Any]:
    """A new run's home document (config as JSON values: it is the configuration as given)."""
    doc = record.model_dump(mode="python", exclude=set(StoredRun.model_fields) - set(RunRecord.model_fields))
    doc["status"] = record.status.value
    doc["config"] = record.config.model_dump(mode="json")
    return layout.storable(doc)  # type: ignore[no-any-return]


class RunWriter:
    """Idempotent episode and checkpoint writes for one run.

    Each episode write replaces only the buckets and the statistics page it changed and updates
    the run's home document, all in the run's own collections. The run index (shared by all runs)
    is refreshed at most every ``layout.INDEX_REFRESH_SECONDS`` while episodes stream in; a timer
    brings it up to date once they stop.
    """

    def __init__(self, store: RunStore, run_id: str):
        self.store = store
        self.run_id = run_id
        self._home = store.home(run_id)
        self._buckets = store.db[layout.episodes_collection(run_id)]
        self._subs: dict[int, list[SubStats]] = {}
        self._bucket_totals: dict[int, SubStats] = {}  # per bucket, so a summary costs O(buckets)
        self._settled: tuple[int, SubStats | None] = (0, None)  # see ``_summary``
        self._bucket_cache: tuple[int, list[Row]] | None = None
        self._open: int | None = None  # the bucket the home document holds (``layout.OPEN``)
        self._resident: set[int] = set()  # layout-3 open buckets in the home collection: moved out on write
        self._last: Episode | None = None
        self._checkpoints: list[Checkpoint] | None = None
        self._last_rollout: Rollout | None = None
        self._rollout_page: tuple[int, list[Rollout]] | None = None
        self._custom_declared: set[str] = set()
        self._rollout_declared: set[str] = set()
        self._loaded = False
        self._index_synced = float("-inf")  # monotonic time of the last index refresh (none yet)
        self._index_lock = threading.Lock()
        self._index_pending: dict[str, Any] | None = None
        self._index_timer: threading.Timer | None = None

    def _load(self) -> None:
        """Read what a previous attempt (or a partial write) left, so summaries stay exact."""
        if self._loaded:
            return
        run = self._home.find_one(layout.HOME_KEY, {"last_episode": 1, "checkpoint_paths": 1, "last_rollout": 1,
                                                    "metric_specs": 1, "rollout_metric_specs": 1, layout.OPEN: 1})
        open_ = (run or {}).get(layout.OPEN)
        if run and run.get("last_episode"):
            self._last = Episode.model_validate(run["last_episode"])
            last_page = layout.page_of(layout.bucket_of(self._last.episode))
            for doc in self._home.find(layout.page_range(0, last_page)):
                self._subs.update(layout.page_subs(doc))
            self._subs.update(layout.open_subs(open_))  # the page may lag behind the open bucket
        if open_:
            self._open = open_["bucket"]
            self._bucket_cache = (self._open, layout.bucket_rows(open_))
        self._checkpoints = [Checkpoint.model_validate(c) for c in (run or {}).get("checkpoint_paths", [])]
        if run and run.get("last_rollout"):
            self._last_rollout = Rollout.model_validate(run["last_rollout"])
        self._custom_declared = set((run or {}).get("metric_specs") or {})
        self._rollout_declared = set((run or {}).get("rollout_metric_specs") or {})
        self._resident = {d["bucket"] for d in self._home.find(layout.RESIDENTS, {"bucket": 1})}
        self._loaded = True

    def last_rollout(self) -> Rollout | None:
        self._load()
        return self._last_rollout

    def last_episode(self) -> Episode | None:
        self._load()
        return self._last

    def recent_wins(self, n: int) -> list[bool]:
        """Win flags of the last ``n`` stored episodes (to continue a rolling window on resume)."""
        self._load()
        if self._last is None:
            return []
        eps = self.store.episodes(self.run_id, max(1, self._last.episode - n + 1), self._last.episode)
        return [bool(e.win) for e in eps if e.win is not None][-n:]

    def _bucket_rows(self, bucket: int) -> list[Row]:
        if self._bucket_cache is not None and self._bucket_cache[0] == bucket:
            return self._bucket_cache[1]
        if self._last is None or bucket > layout.bucket_of(self._last.episode):
            return []  # nothing stored there yet: no read
        if bucket == self._open:
            home = self._home.find_one(layout.HOME_KEY, {layout.OPEN: 1}) or {}
            return layout.bucket_rows(home.get(layout.OPEN))
        if bucket in self._resident:
            return layout.bucket_rows(self._home.find_one(layout.resident_key(bucket)))
        return layout.bucket_rows(self._buckets.find_one(layout.bucket_key(bucket)))

    def write_episodes(self, episodes: Sequence[Episode]) -> None:
        """Upsert episodes (any order, duplicates allowed) and refresh the run summary."""
        self.write_rows([rows.of(ep) for ep in episodes])

    def write_rows(self, episodes: list[Row]) -> None:
        """``write_episodes`` for episodes as rows (``rows``: the run logger's form)."""
        if not episodes:
            return
        self._load()
        by_bucket: dict[int, list[Row]] = {}
        for ep in episodes:
            by_bucket.setdefault(layout.bucket_of(ep[rows.EPISODE]), []).append(ep)
        merged_by_bucket = {b: layout.merge_episodes(self._bucket_rows(b), new)
                            for b, new in sorted(by_bucket.items())}
        subs = dict(self._subs)
        subs.update({b: layout.refresh_subs(self._subs.get(b, []), m, by_bucket[b])
                     for b, m in merged_by_bucket.items()})
        newest = max(merged_by_bucket)
        candidate = max(episodes, key=rows.number)
        last = rows.episode(candidate) if self._last is None or candidate[rows.EPISODE] >= self._last.episode \
            else self._last
        update, totals, new_names, settled = self._summary(episodes, subs, last)
        current = self._open if self._open is not None else (
            layout.bucket_of(self._last.episode) if self._last is not None else newest)
        new_open = max(newest, current)
        fields = update["$set"]
        if set(merged_by_bucket) == {new_open} and self._open in (None, new_open) and not self._resident:
            # The usual flush: episodes appended to the open bucket, which the home document holds with its
            # statistics rows: one statement, the fenced home update (see ``RunStore.update_home``).
            fields[layout.OPEN] = layout.open_doc(new_open, merged_by_bucket[new_open], subs[new_open])
            self.store.update_home(self.run_id, update)
        else:
            # Episodes moved past the open bucket, or a replay reached older ones. First the home document
            # (the fence check) with the statistics pages and the open bucket complete, then the buckets that
            # are or become sealed, then the new open bucket home: a crash in between leaves every episode
            # somewhere, and a bucket in both places is read from home. The seals are single replaces:
            # FerretDB's bulk update replies can lack the nModified field PyMongo's bulk result merge needs.
            moving = new_open != self._open
            if self._open is not None and self._open in merged_by_bucket:
                fields[layout.OPEN] = layout.open_doc(self._open, merged_by_bucket[self._open], subs[self._open])
            pages = [(layout.page_key(page), layout.page_doc(page, {b: v for b, v in subs.items()
                                                                   if layout.page_of(b) == page}))
                     for page in sorted({layout.page_of(b) for b in merged_by_bucket})]
            fields.update(layout.page_stamps(doc for _, doc in pages))
            self.store.update_home(self.run_id, update, pages)
            leaving = set(self._resident) | ({self._open} if moving and self._open is not None else set())
            for bucket in sorted((set(merged_by_bucket) | leaving) - (set() if moving else {new_open})):
                self._seal(bucket, merged_by_bucket.get(bucket) or self._bucket_rows(bucket))
            if moving:
                opened = merged_by_bucket.get(new_open) or self._bucket_rows(new_open)
                self.store.update_home(self.run_id, {"$set": {layout.OPEN: layout.open_doc(
                    new_open, opened, subs.get(new_open, []))}, "$inc": {"version": 1}})
                merged_by_bucket.setdefault(new_open, opened)
            for bucket in sorted(self._resident):
                self._home.delete_one(layout.resident_key(bucket))
            self._resident.clear()
        self._open = new_open
        # Only after every write succeeded does the in-memory view move on.
        self._subs = subs
        if new_open in merged_by_bucket:
            self._bucket_cache = (new_open, merged_by_bucket[new_open])
        self._last = last
        self._bucket_totals = totals
        self._settled = settled
        self._custom_declared |= new_names
        self._refresh_index(update["$set"])

    def _seal(self, bucket: int, episodes: list[Row]) -> None:
        """Write a bucket episodes no longer append to into the episodes collection."""
        self.store.replace_stamped(self._buckets, self.run_id, layout.bucket_key(bucket),
                                  layout.bucket_doc(bucket, episodes))

    def import_episodes(self, episodes: list[Episode]) -> None:
        """Bulk-load the complete, sorted history of a run that has none yet (inserts only)."""
        self._load()
        if self._last is not None:
            raise ValueError(f"run {self.run_id} already has episodes; use write_episodes")
        written = [rows.of(ep) for ep in episodes]
        by_bucket: dict[int, list[Row]] = {}
        for ep in written:
            by_bucket.setdefault(layout.bucket_of(ep[rows.EPISODE]), []).append(ep)
        subs = {b: layout.sub_stats(eps) for b, eps in by_bucket.items()}
        docs = [layout.bucket_doc(b, eps) for b, eps in sorted(by_bucket.items())]
        for i in range(0, len(docs), 50):
            self._buckets.insert_many(docs[i:i + 50], ordered=True)
        pages: dict[int, dict[int, list[SubStats]]] = {}
        for b, v in subs.items():
            pages.setdefault(layout.page_of(b), {})[b] = v
        page_docs = [layout.page_doc(p, v) for p, v in sorted(pages.items())]
        self._home.insert_many(page_docs)
        update, totals, new_names, settled = self._summary(written, subs, episodes[-1])
        update["$set"].update(layout.page_stamps(page_docs))
        self.store.update_home(self.run_id, update)
        self._subs = subs
        self._last = episodes[-1]
        self._bucket_cache = None
        self._bucket_totals = totals
        self._settled = settled
        self._custom_declared |= new_names
        self.sync_index()

    def _summary(self, written: list[Row], subs: dict[int, list[SubStats]], last: Episode | None
                 ) -> tuple[dict[str, Any], dict[int, SubStats], set[str], tuple[int, SubStats | None]]:
        """The home update after ``written`` (changed fields only), the new bucket totals, the custom
        metric names declared by it and the new settled fold; nothing changes until the caller's writes
        succeeded.

        The run's totals are the buckets' totals merged in bucket order. The merge of every bucket below
        the newest (``_settled``: (k, merge of the buckets below k)) is kept, so a write to the newest
        bucket merges two, not all of a long run's (a million episodes are 1,000 buckets); the same
        merges in the same order, so the same sums to the last bit.
        """
        totals = dict(self._bucket_totals)
        changed = {layout.bucket_of(ep[rows.EPISODE]) for ep in written} | (set(subs) - set(totals))
        for b in changed:
            t = layout.total(subs.get(b, []))
            if t is not None:
                totals[b] = t
        k, fold = self._settled
        if changed and min(changed) < k:  # an older bucket changed (a replay): fold again from the start
            k, fold = 0, None
        newest = max(totals, default=0)
        settled = (newest, layout.total([*([fold] if fold else []),
                                         *(totals[b] for b in sorted(totals) if k <= b < newest)]))
        stats = layout.summarize([*([settled[1]] if settled[1] else []), *([totals[newest]] if totals else [])],
                                 last)
        fields: dict[str, Any] = {"summary": stats.model_dump()}
        if last is not None:
            fields["last_episode"] = layout.episode_to_doc(last)
        new_names = rows.custom_names(written) - self._custom_declared
        for name in sorted(new_names):  # a custom metric is declared on first use (defaults: float, mean)
            fields[f"metric_specs.{name}"] = metrics.custom(name).model_dump()
        return {"$set": fields, "$inc": {"version": 1}}, totals, new_names, settled

    def _refresh_index(self, fields: dict[str, Any]) -> None:
        """Copy summary fields to the run index now, or within INDEX_REFRESH_SECONDS (a timer)."""
        fields = {k: v for k, v in fields.items() if k in ("summary", "last_episode")}
        with self._index_lock:
            self._index_pending = fields
            due = self._index_synced + layout.INDEX_REFRESH_SECONDS - time.monotonic()
            if due > 0:
                if self._index_timer is None:
                    self._index_timer = threading.Timer(due, self._timer_fired)
                    self._index_timer.daemon = True
                    self._index_timer.start()
                return
        self._write_index()

    def _timer_fired(self) -> None:
        with self._index_lock:
            self._index_timer = None
        try:
            self._write_index()
        except PyMongoError as exc:  # the next write (or the run's status change) refreshes it
            log.debug("run index refresh of %s failed: %s", self.run_id, exc)

    def _write_index(self) -> None:
        with self._index_lock:
            fields, self._index_pending = self._index_pending, None
            self._index_synced = time.monotonic()
        if fields:
            entry = self.store.db[layout.RUNS].find_one_and_update(layout.run_key(self.run_id), {"$set": fields},
                                                                   return_document=ReturnDocument.AFTER)
            self.store.bump_index_version(entry)

    def finish_index(self) -> None:
        """Write a pending index refresh now (the store is closing); a failure is left to the next writer."""
        with self._index_lock:
            if self._index_timer is not None:
                self._index_timer.cancel()
                self._index_timer = None
        try:
            self._write_index()
        except PyMongoError as exc:
            log.debug("run index refresh of %s failed: %s", self.run_id, exc)

    def sync_index(self) -> None:
        """Bring the run index up to date with everything written so far (at once)."""
        with self._index_lock:
            if self._index_timer is not None:
                self._index_timer.cancel()
                self._index_timer = None
            self._index_pending = None
            self._index_synced = time.monotonic()
        self.store.sync_index(self.run_id)

    def add_checkpoint(self, checkpoint: Checkpoint) -> None:
        """Record a checkpoint once per path (re-recording the same path replaces the entry)."""
        self._load()
        assert self._checkpoints is not None
        kept = [c for c in self._checkpoints if c.path != checkpoint.path]
        kept.append(checkpoint)
        kept.sort(key=lambda c: (c.timestep, c.episode))
        self.store.update_home(
            self.run_id,
            {"$set": {"checkpoint_paths": [c.model_dump(mode="python", exclude_none=True) for c in kept]},
             "$inc": {"version": 1}},
        )
        self._checkpoints = kept

    def write_rollouts(self, rollouts: list[Rollout]) -> None:
        """Upsert rollout diagnostics (any order, duplicates allowed): whole pages, merged by number."""
        if not rollouts:
            return
        self._load()
        by_page: dict[int, list[Rollout]] = {}
        for r in rollouts:
            by_page.setdefault(layout.rollout_page_of(r.rollout), []).append(r)
        merged_by_page = {}
        for page, new in sorted(by_page.items()):
            if self._rollout_page is not None and self._rollout_page[0] == page:
                existing = self._rollout_page[1]
            else:
                existing = layout.page_rollouts(self._home.find_one(layout.rollout_page_key(page)))
            merged_by_page[page] = layout.merge_rollouts(existing, new)
        candidate = max(rollouts, key=lambda r: r.rollout)
        newer = self._last_rollout is None or candidate.rollout >= self._last_rollout.rollout
        fields: dict[str, Any] = {}
        if newer:
            fields["last_rollout"] = layout.rollout_doc(candidate)
        new_names = {n for r in rollouts for n in r.metrics} - self._rollout_declared
        for name in sorted(new_names):  # a custom rollout metric is declared on first use (float)
            fields[f"rollout_metric_specs.{name}"] = metrics.custom_rollout(name).model_dump()
        update: dict[str, Any] = {"$inc": {"version": 1}}
        if fields:
            update["$set"] = fields
        # One round trip: the fenced home update, then the pages (see ``RunStore.update_home``).
        self.store.update_home(self.run_id, update, [(layout.rollout_page_key(page), layout.rollout_page_doc(page, m))
                                                     for page, m in merged_by_page.items()])
        newest = max(merged_by_page)
        self._rollout_page = (newest, merged_by_page[newest])
        if newer:
            self._last_rollout = candidate
        self._rollout_declared |= new_names
