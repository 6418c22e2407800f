"""TrainingRunLogger: records a run in MongoDB without ever slowing, stopping or losing training.

Every op (episode, rollout, checkpoint, status...) is appended to the run's write-ahead log (``wal``)
beside the checkpoints before the training thread goes on, so a SIGKILL at any moment loses no completed
episode. A background thread tails the log and batches the ops into ``trainyard_runstore.sync_store``
writes; when MongoDB is down the log simply grows (memory stays bounded) and is written when it returns,
or by the next attempt, or by ``trainyard-train sweep``. Writes are idempotent per (run_id, episode), so
a retried batch never duplicates.

The writer thread catches everything: an op MongoDB refuses for good goes to the dead-letter file
(``deadletter``) with its error and the writer goes on. It claims the run's next attempt number (the
fence, see ``trainyard_runstore.liveness``) and heartbeats with it on every flush and at least every
``heartbeat_interval`` seconds; once a newer attempt holds the run, this writer is refused and stops.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import traceback as tb
import uuid
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pymongo.errors import ConnectionFailure, ExecutionTimeout, OperationFailure, PyMongoError, WTimeoutError
from trainyard_runstore import rows
from trainyard_runstore.liveness import StaleWriter
from trainyard_runstore.metrics import MetricSpec, check_name, check_rollout_name
from trainyard_runstore.schema import (
    Attempt,
    Checkpoint,
    Episode,
    ErrorInfo,
    EvaluationResult,
    Rollout,
    RunMetadata,
    RunRecord,
    RunStatus,
    utcnow,
)
from trainyard_runstore.settings import MongoSettings
from trainyard_runstore.sync_store import RunStore

from trainyard_client import deadletter, spill, wal
from trainyard_client.spill import Op

log = logging.getLogger(__name__)


def error_info(exc: BaseException, lines: int = 20) -> ErrorInfo:
    """The failure record the spec keeps in ``metadata.error``."""
    text = "".join(tb.format_exception(exc)).rstrip().splitlines()
    return ErrorInfo(type=type(exc).__name__, message=str(exc), traceback=text[-lines:], source="trainer")


# Server-side codes that mean "try again later" rather than "this op can never succeed".
_TRANSIENT_CODES = {6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436}


def is_transient(exc: BaseException) -> bool:
    """A failure that a later retry of the same op can cure (the database is away or busy)."""
    if isinstance(exc, (ConnectionFailure, ExecutionTimeout, WTimeoutError)):
        return True
    if isinstance(exc, OperationFailure):
        return exc.code in _TRANSIENT_CODES or exc.has_error_label("RetryableWriteError")
    return False


_EPISODE_LINE = b'{"op":"episode","data":'  # the same line as ``Op("episode", row).to_json()`` writes
_NO_METRICS = {"metrics"}
# pydantic-core's own validator and serializer: the model methods wrap them in Python (about 1.5 us of the
# 12 us an episode costs the training thread), and the serializer gives the bytes the log writes.
_VALIDATE = Episode.__pydantic_validator__.validate_python
_TO_JSON = Episode.__pydantic_serializer__.to_json


def _finite(ep: Episode) -> bool:
    return (math.isfinite(ep.total_reward) and (ep.epsilon is None or math.isfinite(ep.epsilon))
            and (not ep.metrics or all(math.isfinite(v) for v in ep.metrics.values())))


class _Unreachable(Exception):
    """The database is away: keep the log and retry the same ops later."""


class RollingWinRate:
    """Win rate over the last ``window`` episodes that reported a win flag."""

    def __init__(self, window: int = 100, history: list[bool] | None = None):
        self.window = window
        self._flags: deque[bool] = deque(history or [], maxlen=window)
        self._wins = sum(self._flags)

    def add(self, win: bool | None) -> float | None:
        if win is None:
            return self.value
        if len(self._flags) == self.window:
            self._wins -= self._flags[0]
        self._flags.append(bool(win))
        self._wins += bool(win)
        return self.value

    def peek(self, win: bool | None) -> float | None:
        """The value ``add(win)`` would give, without adding (so a rejected episode changes nothing)."""
        if win is None:
            return self.value
        n, wins = len(self._flags), self._wins
        if n == self.window:
            wins -= self._flags[0]
            n -= 1
        return (wins + bool(win)) / (n + 1)

    @property
    def value(self) -> float | None:
        return self._wins / len(self._flags) if self._flags else None


class TrainingRunLogger:
    def __init__(
        self,
        *,
        agent_id: str,
        algorithm: str = "MaskablePPO",
        config: dict[str, Any] | None = None,
        run_id: str | None = None,
        spill_dir: Path,
        mongo: MongoSettings | None = None,
        win_window: int = 100,
        buffer_size: int = 10_000,
        flush_interval: float = 0.5,
        heartbeat_interval: float = 10.0,
        close_timeout: float = 15.0,
        store: RunStore | None = None,
        metrics: Sequence[MetricSpec] = (),
        rollout_metrics: Sequence[MetricSpec] = (),
    ):
        self.run_id = run_id or str(uuid.uuid4())
        # Declared custom metrics (``custom("opponent_score", unit="points")``) are stored with the new run,
        # so the API and UI show their unit and description; undeclared ones are declared on first use.
        self.record = RunRecord(run_id=self.run_id, agent_id=agent_id, algorithm=algorithm, config=config or {},
                                metric_specs={check_name(m.name): m for m in metrics},
                                rollout_metric_specs={check_rollout_name(m.name): m for m in rollout_metrics})
        self.run_dir = Path(spill_dir) / self.run_id
        self.spill_path = self.run_dir / spill.SPILL_NAME  # files of older trainers: ``trainyard-train replay``
        self.dead_letter_path = self.run_dir / deadletter.DEAD_LETTER_NAME
        self.buffer_size = buffer_size  # ops read from the log per batch
        self.flush_interval = flush_interval
        self.heartbeat_interval = heartbeat_interval
        self.close_timeout = close_timeout
        self.win_rate = RollingWinRate(win_window)
        self.episodes_logged = 0
        self.episodes_written = 0
        self.dead_lettered = 0
        self.spilled = 0  # episodes waiting in the write-ahead log while MongoDB is away
        self.db_ok = False
        self.stale = False  # a newer attempt holds the run: this writer was refused
        self.attempt_no: int | None = None  # the fence this writer claimed
        self.wal: wal.WriteAheadLog | None = None
        self._store = store or RunStore(mongo or MongoSettings())
        self._overflow: deque[Op] = deque()  # ops the log could not take (a full volume): memory only
        self._attempt: Attempt | None = None
        self._pos: wal.Position | None = None
        self._opened = False
        self._offline_start = False
        self._last_beat = 0.0
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None
        self._busy = False
        self._backlog = False  # the last cycle read a full batch: more ops wait in the log
        self._idle = threading.Condition()  # notified when the writer finishes a cycle (flush() waits on it)
        self._next_episode = 1
        self._next_rollout = 1
        self._max_written_episode = 0

    # ------------------------------------------------------------ training-thread API

    def start(self, *, resume_episode: int = 0, attempt: Attempt | None = None) -> None:
        """Open the run's write-ahead log, claim the run (or do so once MongoDB answers), start the writer.

        Episode numbers continue after every episode this run ever logged: the newest of the checkpoint
        (``resume_episode``), the local log (committed or not) and the database.
        """
        self.wal = wal.WriteAheadLog(self.run_dir)
        self._pos = self.wal.committed
        self._next_episode = max(resume_episode, self.wal.max_episode()) + 1
        self._attempt = attempt or Attempt()
        self.wal.append(Op("run", self.record))
        try:
            self._open_run()
        except PyMongoError as exc:
            self._offline_start = True
            log.warning("MongoDB unreachable at start (%s); training goes on, records wait in %s", exc, self.run_dir)
        self._thread = threading.Thread(target=self._run, name="run-logger", daemon=True)
        self._thread.start()

    @property
    def next_episode(self) -> int:
        return self._next_episode

    def log_episode(self, total_reward: float, steps: int, *, win: bool | None = None,
                    epsilon: float | None = None, timestep: int | None = None,
                    metrics: dict[str, float] | None = None) -> Episode:
        """Record a finished episode; ``metrics`` are custom per-episode values by name (declared on first
        use, see trainyard_runstore.metrics), e.g. ``{"opponent_score": 12}``."""
        # Validated here, on the training thread, so bad input fails its caller (not the writer, later);
        # pydantic's core validates and serializes faster than building the dict and json.dumps did.
        number = self._next_episode
        win = None if win is None else bool(win)  # numpy scalars from environments' info dicts
        fields: dict[str, Any] = {"episode": number, "total_reward": float(total_reward), "steps": int(steps),
                                  "time": utcnow(), "win": win, "epsilon": None if epsilon is None else float(epsilon),
                                  "timestep": None if timestep is None else int(timestep),
                                  "win_rate": self.win_rate.peek(win)}
        if metrics:
            fields["metrics"] = {check_name(k): float(v) for k, v in metrics.items()}
        ep: Episode = _VALIDATE(fields)
        self.win_rate.add(win)
        row = rows.of(ep)
        if _finite(ep):
            line = _EPISODE_LINE + _TO_JSON(ep, exclude_none=True, exclude=None if metrics else _NO_METRICS) + b"}\n"
        else:  # pydantic writes NaN and inf as null; the slower dump keeps them (as json.dumps writes)
            line = (Op("episode", row).to_json() + "\n").encode()
        # On disk before returning: one write() of one JSON line (see ``wal``).
        self._log_line(line, "episode", row, episode=True)
        self._next_episode += 1
        self.episodes_logged += 1
        return ep

    def log_rollout(self, rollout: Rollout, metrics: dict[str, float] | None = None) -> Rollout:
        """Record a rollout's diagnostics under the run's next rollout number (which it returns);
        ``metrics`` are custom per-rollout values by name (declared on first use, or with
        ``rollout_metrics=[custom_rollout(...)]`` at construction), added to ``rollout.metrics``."""
        update: dict[str, Any] = {"rollout": self._next_rollout, "time": rollout.time or utcnow()}
        if metrics:  # checked here, on the training thread, so a bad name fails its caller
            update["metrics"] = {**rollout.metrics, **{check_rollout_name(k): float(v) for k, v in metrics.items()}}
        numbered = rollout.model_copy(update=update)
        self._next_rollout += 1
        self._log(Op("rollout", numbered))
        return numbered

    def log_evaluation(self, result: EvaluationResult) -> None:
        """Store an evaluation and its games (numbered after the run's earlier evaluation games)."""
        self._log(Op("evaluation", result))
        self._wake.set()

    def set_metadata(self, **fields: Any) -> None:
        """Set ``metadata.<key>`` fields of the run (JSON values). Keys the run store declares
        (``RunMetadata``: error, throughput, evaluation_status, ...) must fit their types (ValueError)."""
        RunMetadata.check(fields)
        self._log(Op("metadata", fields))
        self._wake.set()

    def log_checkpoint(self, path: str, *, timestep: int, episode: int | None = None, **extra: Any) -> None:
        ep = self._next_episode - 1 if episode is None else episode
        self._log(Op("checkpoint", Checkpoint(episode=ep, timestep=timestep, path=path, time=utcnow(), **extra)))
        self._wake.set()

    def set_status(self, status: RunStatus, error: ErrorInfo | None = None) -> None:
        """Record a status change with the time it happened and this writer's attempt number."""
        payload: dict[str, Any] = {"status": status.value, "time": utcnow().isoformat()}
        if self.attempt_no is not None:
            payload["attempt"] = self.attempt_no
        if error is not None:
            payload["error"] = error.model_dump(mode="json", exclude_none=True)
        self._log(Op("status", payload))
        self._wake.set()

    def _log(self, op: Op) -> None:
        try:
            line = op.to_json()
        except Exception as exc:  # noqa: BLE001 - a value JSON cannot hold: recorded, training goes on
            deadletter.record(self.run_dir, op, exc)
            self.dead_lettered += 1
            return
        self._log_line((line + "\n").encode(), op.kind, op.payload)

    def _log_line(self, line: bytes, kind: str, payload: Any, *, episode: bool = False) -> None:
        if self.stale:
            return  # superseded by a newer attempt: nothing this process logs may reach the run any more
        try:
            assert self.wal is not None, "start() first"
            self.wal.append_line(line, payload if episode else None)
        except OSError as exc:
            # A full or failing volume: the op goes to MongoDB from memory, and the caller learns of it
            # (a status op must still land: it is how the run records why it ended).
            self._overflow.append(Op(kind, payload))
            self._wake.set()
            if kind != "status":
                raise OSError(exc.errno, f"cannot write the run's write-ahead log in {self.run_dir}: "
                                         f"{exc.strerror}") from exc

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything logged so far is in MongoDB. Returns False at once while MongoDB is
        unreachable (the records are safe in the write-ahead log) or when ``timeout`` runs out."""
        deadline = time.monotonic() + timeout
        target = self.wal.end() if self.wal is not None else None
        # One wake-up after the append is enough: the writer clears it before it reads the log. Waking it
        # again while it is busy would only make it run empty cycles that this flush then waits for.
        self._wake.set()
        with self._idle:  # notified as soon as the writer ends a cycle: a flush costs its writes, not a poll
            while True:
                if not self.db_ok or self.stale:
                    return False
                if target is None or (self._pos is not None and self._pos >= target and not self._overflow):
                    return True
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                if not self._busy:  # a cycle ended without reaching the target (it read a full batch)
                    self._wake.set()
                self._idle.wait(min(0.05, left))

    def close(self) -> None:
        """Write what MongoDB takes within ``close_timeout``; the rest stays in the write-ahead log."""
        self._closing.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
        if self.wal is not None:
            left = 0 if self.stale else self.wal.pending_bytes(self._pos or self.wal.committed)
            self.wal.close(written=not left and not self.stale)
            if left:
                log.warning("MongoDB unreachable at exit: %d bytes of records stay in %s; the next start of this "
                            "run or 'trainyard-train sweep' writes them", left, self.run_dir)
        if self._overflow:
            log.error("%d records could be written neither to disk nor to MongoDB and are lost", len(self._overflow))
        self._store.close()

    @property
    def buffered(self) -> int:
        return max(0, self.episodes_logged - self.episodes_written)

    # ------------------------------------------------------------ writer thread

    def _caught_up(self) -> bool:
        if self.wal is None or self._pos is None:
            return True
        return not self._overflow and self.wal.pending_bytes(self._pos) == 0

    def _open_run(self) -> None:
        """Create or reopen the run, claim its next attempt number and record the attempt once."""
        assert self.wal is not None and self._attempt is not None
        store = self._store
        store.insert_run_if_missing(self.record)
        # Started without the database: nobody may have claimed the run after this folder's last claim.
        expected = int(self.wal.fence or 0) if self._offline_start else None
        wal_ = self.wal
        number = store.claim_run(self.run_id, expected=expected,
                                 before=lambda n: wal_.commit(wal_.committed, fence=max(n, wal_.fence or 0)))
        self.attempt_no = number
        store.set_status_at(self.run_id, RunStatus.RUNNING, at=utcnow(), attempt=number)
        store.add_attempt(self.run_id, self._attempt.model_copy(update={"attempt": number}))
        metadata = self.record.metadata.model_dump()
        if metadata:
            store.set_metadata(self.run_id, **metadata)
        writer = store.writer(self.run_id)
        last = writer.last_episode()
        if last is not None and not self._offline_start and self.episodes_logged == 0:
            self._next_episode = max(self._next_episode, last.episode + 1)
            self.win_rate = RollingWinRate(self.win_rate.window, writer.recent_wins(self.win_rate.window))
        last_rollout = writer.last_rollout()
        if last_rollout is not None and self._next_rollout == 1:
            self._next_rollout = last_rollout.rollout + 1
        store.heartbeat(self.run_id, number, episode=self._next_episode - 1)
        self._last_beat = time.monotonic()
        self.wal.commit(self._pos or self.wal.committed, fence=number)
        self._opened = True
        self.db_ok = True

    def _run(self) -> None:
        closing_since: float | None = None
        while True:
            # No pause after a full batch (more is waiting) or once closing; a failed cycle always pauses.
            if not (self._backlog and self.db_ok) and not self._closing.is_set():
                self._wake.wait(self.flush_interval)
            if self._closing.is_set() and closing_since is None:
                closing_since = time.monotonic()
            self._wake.clear()
            self._busy = True
            try:
                self._cycle()
            except StaleWriter as exc:
                log.error("writes refused: %s; this writer stops (its log is kept as *.refused)", exc)
                self.stale = True
                self.db_ok = False
                if self.wal is not None:
                    self.wal.refuse()
                self._busy = False
                return
            except _Unreachable as exc:
                if self.db_ok:
                    log.warning("MongoDB write failed (%s); records wait in the write-ahead log", exc)
                self.db_ok = False
                self.spilled = self.buffered
            except Exception:  # noqa: BLE001 - the writer never dies; the op stays in the log for a retry
                log.exception("run logger: unexpected error; retrying")
                self.db_ok = False
            finally:
                with self._idle:
                    self._busy = False
                    self._idle.notify_all()
            if closing_since is not None and (
                    self._caught_up() or not self.db_ok or time.monotonic() - closing_since > self.close_timeout):
                return

    def _cycle(self) -> None:
        assert self.wal is not None and self._pos is not None
        try:
            if not self._opened:
                self._open_run()
            elif not self.db_ok:
                self._store.ping()  # cheap: the log is read and parsed again only once MongoDB answers
            limit = max(self.buffer_size, 100)
            ops, nxt = self.wal.read(self._pos, limit)
            self._backlog = len(ops) >= limit
            overflow = list(self._overflow)
            due = time.monotonic() - self._last_beat >= self.heartbeat_interval
            if not ops and not overflow and nxt == self._pos and not due:
                return
            assert self.attempt_no is not None
            # The heartbeat rides on the batch's first home write (no operation of its own when it has one).
            self._store.beat_with_next_write(self.run_id, self.attempt_no, episode=self._next_episode - 1)
            self._apply(ops + overflow)
            self._store.send_beat(self.run_id)
            self._last_beat = time.monotonic()
            for _ in overflow:
                self._overflow.popleft()
            if self.wal.end() != nxt:  # ops logged meanwhile wait in the log: make them survive a power loss
                self.wal.sync()
            self.wal.commit(nxt, last_episode=self._max_written_episode)
            self._pos = self.wal.committed
            if not self.db_ok:
                log.info("MongoDB reachable again; logged records written")
            self.db_ok = True
            self.spilled = 0
        except PyMongoError as exc:
            if is_transient(exc):
                raise _Unreachable(str(exc)) from exc
            raise

    def _prepare(self, op: Op) -> Op | None:
        """Own-segment ops carry this writer's attempt; the run op of this process is done by ``_open_run``."""
        assert self.wal is not None
        own = op.segment == self.wal.current or op.segment == -1
        if op.kind == "run" and own:
            return None
        if op.kind == "status" and own and "attempt" not in op.payload:
            return Op(op.kind, {**op.payload, "attempt": self.attempt_no}, op.segment)
        return op

    def _apply(self, ops: list[Op]) -> None:
        prepared = [p for op in ops if (p := self._prepare(op)) is not None]
        if not prepared:
            return
        try:
            self._count(spill.apply(self._store, self.run_id, prepared, replay=True), prepared)
            return
        except StaleWriter:
            raise  # refused as a whole: nothing of this batch may be written one by one either
        except Exception as exc:  # noqa: BLE001
            if isinstance(exc, PyMongoError) and is_transient(exc):
                raise
            log.warning("a batch of %d ops failed (%s: %s); writing them one by one", len(prepared),
                        type(exc).__name__, exc)
        for op in prepared:  # isolate the op(s) that can never succeed
            try:
                self._count(spill.apply(self._store, self.run_id, [op], replay=True), [op])
            except StaleWriter:
                raise
            except Exception as exc:  # noqa: BLE001
                if isinstance(exc, PyMongoError) and is_transient(exc):
                    raise
                deadletter.record(self.run_dir, op, exc)
                self.dead_lettered += 1

    def _count(self, written: int, ops: list[Op]) -> None:
        self.episodes_written += written
        for op in ops:
            if op.kind == "episode":
                self._max_written_episode = max(self._max_written_episode, op.payload[rows.EPISODE])
