"""TrainingRunLogger: records a run in MongoDB without ever slowing or stopping training.

The training thread only enqueues (``log_episode`` is a deque append). A background thread
batches the operations into ``trainyard_runstore.sync_store`` writes. When MongoDB is down the
operations wait in memory up to ``buffer_size`` episodes, then spill in order to a JSONL file
(``spill``) beside the checkpoints; when MongoDB returns, the file and then the memory are
written. Writes are idempotent per (run_id, episode), so a retried batch never duplicates.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback as tb
import uuid
from collections import deque
from pathlib import Path
from typing import Any

from pymongo.errors import PyMongoError

from trainyard_runstore.schema import (
    Attempt,
    Checkpoint,
    Episode,
    ErrorInfo,
    EvaluationResult,
    Rollout,
    RunRecord,
    RunStatus,
    utcnow,
)
from trainyard_runstore.settings import MongoSettings
from trainyard_runstore.sync_store import RunStore
from trainyard_trainer import spill
from trainyard_trainer.spill import Op

log = logging.getLogger(__name__)


def error_info(exc: BaseException, lines: int = 20) -> ErrorInfo:
    """The failure record the spec keeps in ``metadata.error``."""
    text = "".join(tb.format_exception(exc)).rstrip().splitlines()
    return ErrorInfo(type=type(exc).__name__, message=str(exc), traceback=text[-lines:], source="trainer")


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
        store: RunStore | None = None,
    ):
        self.run_id = run_id or str(uuid.uuid4())
        self.record = RunRecord(run_id=self.run_id, agent_id=agent_id, algorithm=algorithm, config=config or {})
        self.spill_path = Path(spill_dir) / self.run_id / spill.SPILL_NAME
        self.buffer_size = buffer_size
        self.flush_interval = flush_interval
        self.win_rate = RollingWinRate(win_window)
        self.episodes_logged = 0
        self.episodes_written = 0
        self.spilled = 0
        self.db_ok = False
        self._store = store or RunStore(mongo or MongoSettings())
        self._queue: deque[Op] = deque()  # appended by the training thread, drained by the writer
        self._pending: list[Op] = []  # taken from the queue, not yet written (writer thread only)
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None
        self._busy = False  # the writer holds records outside the queue and _pending
        self._next_episode = 1
        self._next_rollout = 1

    # ------------------------------------------------------------ training-thread API

    def start(self, *, resume_episode: int = 0, attempt: Attempt | None = None) -> None:
        """Create the run (or reopen it on a resumed attempt) and start the writer thread.

        Episode numbers continue after what the database already holds, or after
        ``resume_episode`` (from the checkpoint) when the database cannot be reached now.
        """
        self._next_episode = resume_episode + 1
        try:
            self._store.create_run(self.record)
            writer = self._store.writer(self.run_id)
            last = writer.last_episode()
            if last is not None:
                self._next_episode = max(self._next_episode, last.episode + 1)
                self.win_rate = RollingWinRate(self.win_rate.window, writer.recent_wins(self.win_rate.window))
            last_rollout = writer.last_rollout()
            if last_rollout is not None:
                self._next_rollout = last_rollout.rollout + 1
            self.db_ok = True
        except PyMongoError as exc:
            log.warning("MongoDB unreachable at start (%s); training goes on, records are buffered", exc)
            self._queue.append(Op("run", self.record))
        if attempt:
            self._queue.append(Op("attempt", attempt))
        self._thread = threading.Thread(target=self._run, name="run-logger", daemon=True)
        self._thread.start()

    @property
    def next_episode(self) -> int:
        return self._next_episode

    def log_episode(self, total_reward: float, steps: int, *, win: bool | None = None,
                    epsilon: float | None = None, timestep: int | None = None) -> Episode:
        ep = Episode(
            episode=self._next_episode, total_reward=float(total_reward), steps=int(steps), win=win,
            epsilon=epsilon, timestep=timestep, win_rate=self.win_rate.add(win), time=utcnow(),
        )
        self._next_episode += 1
        self.episodes_logged += 1
        self._queue.append(Op("episode", ep))
        return ep

    def log_rollout(self, rollout: Rollout) -> Rollout:
        """Record a rollout's diagnostics under the run's next rollout number (which it returns)."""
        numbered = rollout.model_copy(update={"rollout": self._next_rollout, "time": rollout.time or utcnow()})
        self._next_rollout += 1
        self._queue.append(Op("rollout", numbered))
        return numbered

    def log_evaluation(self, result: EvaluationResult) -> None:
        """Store an evaluation and its games (numbered after the run's earlier evaluation games)."""
        self._queue.append(Op("evaluation", result))
        self._wake.set()

    def set_metadata(self, **fields: Any) -> None:
        """Set ``metadata.<key>`` fields of the run (JSON values)."""
        self._queue.append(Op("metadata", fields))
        self._wake.set()

    def log_checkpoint(self, path: str, *, timestep: int, episode: int | None = None) -> None:
        ep = self._next_episode - 1 if episode is None else episode
        self._queue.append(Op("checkpoint", Checkpoint(episode=ep, timestep=timestep, path=path, time=utcnow())))
        self._wake.set()

    def set_status(self, status: RunStatus, error: ErrorInfo | None = None) -> None:
        payload: dict[str, Any] = {"status": status.value}
        if error is not None:
            payload["error"] = error.model_dump(mode="json", exclude_none=True)
        self._queue.append(Op("status", payload))
        self._wake.set()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything logged so far is in MongoDB (called before a checkpoint is saved,
        so a resumed attempt never skips episode numbers). Returns False at once while MongoDB is
        unreachable (the records are buffered or spilled) or when ``timeout`` runs out."""
        deadline = time.monotonic() + timeout
        self._wake.set()
        while time.monotonic() < deadline:
            if not self.db_ok:
                return False
            if not self._queue and not self._pending and not self._busy:
                return True
            time.sleep(0.02)
        return False

    def close(self) -> None:
        """Flush everything; whatever still cannot be written is spilled to the JSONL file."""
        self._closing.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()  # each flush attempt is bounded by the MongoDB timeouts
        self._take()
        if self._pending:
            self._spill(self._pending)
            self._pending = []
        if self._draining_path.exists():  # an interrupted drain: one file, oldest records first
            if self.spill_path.exists():
                spill.append(self._draining_path, spill.read(self.spill_path))
            self._draining_path.replace(self.spill_path)
        if self.spill_path.exists():
            log.warning("MongoDB still unreachable at exit: %s; write them later with "
                        "'trainyard-train replay %s'", self.spill_path, self.spill_path)
        self._store.close()

    @property
    def buffered(self) -> int:
        return len(self._queue) + sum(1 for op in self._pending if op.kind == "episode")

    # ------------------------------------------------------------ writer thread

    def _take(self) -> None:
        while self._queue:
            self._pending.append(self._queue.popleft())

    def _spill(self, ops: list[Op]) -> None:
        n = spill.append(self.spill_path, ops)
        self.spilled += sum(1 for op in ops if op.kind == "episode")
        log.info("spilled %d records to %s", n, self.spill_path)

    def _run(self) -> None:
        while True:
            closing = self._closing.is_set()
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            self._busy = True
            self._take()
            self._flush()
            self._busy = False
            if closing and not self._queue:
                return

    def _flush(self) -> None:
        try:
            if self.spill_path.exists() or self._draining_path.exists():
                self._drain_spill()
            if self._pending:
                written = spill.apply(self._store, self.run_id, self._pending)
                self.episodes_written += written
                self._pending = []
            if not self.db_ok:
                log.info("MongoDB reachable again; buffered records written")
            self.db_ok = True
        except PyMongoError as exc:
            if self.db_ok:
                log.warning("MongoDB write failed (%s); buffering", exc)
            self.db_ok = False
            if sum(1 for op in self._pending if op.kind == "episode") >= self.buffer_size:
                self._spill(self._pending)
                self._pending = []
            if self._closing.is_set():
                return  # close() spills what is left

    @property
    def _draining_path(self) -> Path:
        return self.spill_path.with_suffix(".draining")

    def _drain_spill(self) -> None:
        # Rename first so a crash mid-drain leaves a file that replays idempotently.
        draining = self._draining_path
        if self.spill_path.exists():
            if draining.exists():  # an earlier drain was interrupted: keep both, oldest first
                spill.append(draining, spill.read(self.spill_path))
                self.spill_path.unlink()
            else:
                self.spill_path.rename(draining)
        written = spill.apply(self._store, self.run_id, spill.read(draining))
        self.episodes_written += written
        draining.unlink()
