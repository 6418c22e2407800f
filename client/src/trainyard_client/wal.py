"""The run logger's write-ahead log: every op is on local disk before the training thread goes on.

Append-only JSONL segments ``wal-<n>.jsonl`` in the run's checkpoint folder, one ``spill.Op`` per line,
written with one unbuffered ``os.write`` each before ``log_episode`` returns. No fsync on the training
thread: once write() returned, the line is in the kernel's page cache, which a SIGKILL or OOM kill of the
process cannot take back (the fault suite kills producers at random to prove it). fsync guards against a
power loss or kernel crash only; the writer thread fsyncs before a commit that leaves ops behind it in
the log (logged while it wrote; a commit that reaches the end of the log has nothing left to protect) and
``close`` fsyncs the segment. ``wal.committed``
records how far the ops are in MongoDB, with the newest episode number ever logged, so the next attempt
numbers its episodes after every completed one whether or not the database is reachable.

A process appends only to a segment it created; segments of an earlier process (a killed attempt) are
read to their last complete line, written, then deleted. A torn last line (killed mid-write) was never
returned to ``log_episode``'s caller as logged... in practice a single small ``write`` is not torn.
"""

from __future__ import annotations

import fcntl
import itertools
import json
import os
import re
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from trainyard_runstore import rows
from trainyard_runstore.rows import Row

from trainyard_client.spill import Op, parse_lines

COMMITTED = "wal.committed"
LOCK = "wal.lock"  # writers hold it shared for their lifetime; a sweep takes it exclusively or leaves
_SEGMENT = re.compile(r"^wal-(\d{6,})\.jsonl$")
_STATE_BYTES = 256  # ``wal.committed`` is padded to this size (its JSON is about 80 bytes)
ROLL_BYTES = 8 << 20  # a fully written segment past this size is replaced by a new one
RECENT_LIMIT = 20_000  # lines kept in memory for the writer thread (beyond, it reads them from the file)


@dataclass(frozen=True, order=True)
class Position:
    segment: int
    offset: int


def segment_name(n: int) -> str:
    return f"wal-{n:06d}.jsonl"


def segments(directory: Path) -> list[int]:
    if not directory.is_dir():
        return []
    return sorted(int(m.group(1)) for p in directory.iterdir() if (m := _SEGMENT.match(p.name)))


def read_committed(directory: Path) -> dict:
    try:
        return json.loads((directory / COMMITTED).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


class WriteAheadLog:
    """One process's view of a run folder's WAL: it appends to its own segment, reads all of them."""

    def __init__(self, directory: Path, *, create: bool = True):
        self.directory = Path(directory)
        state = read_committed(self.directory)
        self.committed = Position(int(state.get("segment", 0)), int(state.get("offset", 0)))
        self.last_episode = int(state.get("last_episode", 0))
        self.fence = state.get("fence")  # the attempt number this folder's writer last claimed
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._written = 0
        # This process's lines not yet committed, in order: (start, end, the episode's row or the line's bytes).
        # Plain tuples of plain values: thousands wait here, and the garbage collector stops tracking them.
        self._recent: deque[tuple[int, int, Row | bytes]] = deque()
        self._recent_full = False  # the memory filled up: nothing is added until the writer took it all
        self._lock_fd: int | None = None
        if create:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._lock_fd = os.open(self.directory / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
            fcntl.flock(self._lock_fd, fcntl.LOCK_SH)  # released by the kernel however the process ends
        existing = segments(self.directory)
        self.current = (max(existing) if existing else self.committed.segment) + 1
        self._oldest = min(existing, default=self.current)  # no segment below it is left to delete
        if create:
            self._open(self.current)

    def _open(self, n: int) -> None:
        self._fd = os.open(self.directory / segment_name(n), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._written = 0

    # ------------------------------------------------------------ any thread (the training thread)

    def append(self, op: Op) -> None:
        self.append_line((op.to_json() + "\n").encode())

    def append_line(self, data: bytes, episode: Row | None = None) -> None:
        """Append one line (``data``: UTF-8 JSON ending in a newline); ``episode``: the row of the validated
        episode the line holds, which the writer thread then takes from memory instead of parsing the line
        again (see ``read``)."""
        with self._lock:
            if self._fd is None:
                raise RuntimeError("write-ahead log is closed")
            start = self._written
            os.write(self._fd, data)
            self._written += len(data)
            # The writer is far behind (the database is away, or the trainer logs faster than it writes):
            # memory keeps the oldest lines, which the writer needs next, and it reads the newer ones from the
            # file once it took those. Adding resumes only when it took them all, so memory stays contiguous.
            if len(self._recent) >= RECENT_LIMIT:
                self._recent_full = True
            elif self._recent_full and not self._recent:
                self._recent_full = False
            if not self._recent_full:
                self._recent.append((start, self._written, episode if episode is not None else data))

    def end(self) -> Position:
        """The position after everything this process appended so far."""
        with self._lock:
            return Position(self.current, self._written)

    # ------------------------------------------------------------ the writer thread

    def _take_recent(self, start: Position, limit: int) -> tuple[list[Op], Position] | None:
        """The ops after ``start`` from memory, when this process appended them all since ``start``."""
        if start.segment < self.current and self._oldest >= self.current:
            start = Position(self.current, 0)  # no older segment is left: the same place
        with self._lock:
            if start.segment != self.current or not self._recent or self._recent[0][0] != start.offset:
                return None
            taken = list(itertools.islice(self._recent, limit))
        ops: list[Op] = []
        lines: list[bytes] = []
        for _, _, item in taken:  # episodes as logged; other lines parsed as the file would give them
            if isinstance(item, bytes):
                lines.append(item)
                continue
            if lines:
                ops.extend(self._own(parse_lines(lines)))
                lines = []
            ops.append(Op("episode", item, self.current))
        if lines:
            ops.extend(self._own(parse_lines(lines)))
        return ops, Position(self.current, taken[-1][1])

    def _own(self, ops: list[Op]) -> list[Op]:
        for op in ops:
            op.segment = self.current
        return ops

    def read(self, start: Position, limit: int) -> tuple[list[Op], Position]:
        """Up to ``limit`` complete ops after ``start`` in segment order, and the position after them.

        What this process appended since ``start`` comes from memory (the same ops; the file is the
        record for a later process); anything else (older segments, a writer far behind) from the files.
        """
        recent = self._take_recent(start, limit)
        if recent is not None:
            return recent
        ops: list[Op] = []
        pos = start
        for n in segments(self.directory):
            if n < pos.segment:
                continue
            offset = pos.offset if n == pos.segment else 0
            with open(self.directory / segment_name(n), "rb") as fh:
                fh.seek(offset)
                data = fh.read()
            # Complete lines only: the last one may be being written (own segment) or torn (a killed writer).
            lines = data[:data.rfind(b"\n") + 1].split(b"\n")[:-1]
            full = len(lines) >= limit - len(ops)
            if full:
                lines = lines[:limit - len(ops)]
            offset += sum(map(len, lines)) + len(lines)
            for op in parse_lines(lines):  # a line the kill garbled is skipped: it was never acknowledged
                op.segment = n
                ops.append(op)
            if full:
                return ops, Position(n, offset)
            pos = Position(n, offset)
            if n != self.current:  # an old segment is complete: continue with the next one
                pos = Position(n + 1, 0)
        return ops, pos

    def sync(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.fsync(self._fd)

    def commit(self, pos: Position, *, last_episode: int | None = None, fence: int | None = None) -> None:
        """Everything before ``pos`` is in MongoDB: remember it and delete segments wholly before it."""
        if last_episode is not None:
            self.last_episode = max(self.last_episode, last_episode)
        if fence is not None:
            self.fence = fence
        self.committed = pos
        with self._lock:  # ops now in MongoDB are no longer needed in memory
            while self._recent and (pos.segment > self.current or self._recent[0][1] <= pos.offset):
                self._recent.popleft()
        state = json.dumps({"segment": pos.segment, "offset": pos.offset, "last_episode": self.last_episode,
                            "fence": self.fence}).encode()
        # Rewritten in place with one pwrite of a fixed size (padded with spaces, which JSON ignores):
        # a kill lands before or after it, never inside; a new file and a rename cost ten times as much
        # and the writer commits on every flush.
        fd = os.open(self.directory / COMMITTED, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            padded = state.ljust(_STATE_BYTES)
            os.pwrite(fd, padded, 0)
            if len(padded) > _STATE_BYTES:  # never in practice; keeps the file exactly one state long
                os.ftruncate(fd, len(padded))
        finally:
            os.close(fd)
        if pos.segment > self._oldest:  # only this process adds segments: no listing while none is done
            for n in segments(self.directory):
                if n < pos.segment:
                    (self.directory / segment_name(n)).unlink(missing_ok=True)
            self._oldest = pos.segment
        if pos.segment == self.current and pos.offset >= ROLL_BYTES and self._fd is not None:
            with self._lock:
                rolled = self._written == pos.offset  # nothing appended since: start a fresh segment
                if rolled:
                    os.close(self._fd)
                    (self.directory / segment_name(self.current)).unlink(missing_ok=True)
                    self.current += 1
                    self._open(self.current)
            if rolled:  # outside the lock, which commit takes (it is not reentrant)
                self.commit(Position(self.current, 0))

    def pending_bytes(self, pos: Position) -> int:
        total = 0
        for n in segments(self.directory):
            if n >= pos.segment:
                size = (self.directory / segment_name(n)).stat().st_size
                total += size - (pos.offset if n == pos.segment else 0)
        return total

    def max_episode(self) -> int:
        """The newest episode number in the folder: committed ones and any still in segments."""
        newest = self.last_episode
        for op in self.iter_all(self.committed):
            if op.kind == "episode":
                newest = max(newest, op.payload[rows.EPISODE])
        return newest

    def iter_all(self, start: Position) -> Iterator[Op]:
        pos = start
        while True:
            ops, nxt = self.read(pos, 5000)
            yield from ops
            if nxt == pos or not ops:
                return
            pos = nxt

    def refuse(self) -> None:
        """This writer is stale: its own segment is kept for a person (``*.refused``), never drained."""
        self.close()
        path = self.directory / segment_name(self.current)
        if path.exists():
            path.rename(path.with_name(path.name + ".refused"))

    def close(self, *, written: bool = False) -> None:
        """Close this process's segment; ``written``: everything is in MongoDB, so no segment is left."""
        with self._lock:
            if self._fd is not None:
                os.fsync(self._fd)
                os.close(self._fd)
                self._fd = None
        if written:
            self.commit(Position(self.current + 1, 0))
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


def try_lock_exclusive(directory: Path) -> int | None:
    """For a sweep: an fd holding the folder's lock when no live writer holds it, else None."""
    fd = os.open(Path(directory) / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd
