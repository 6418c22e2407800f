"""The JSONL spill file: run-store operations that could not reach MongoDB, kept in order.

Written by ``run_logger`` when its bounded buffer overflows or when it closes with the database
still down; drained by the logger when MongoDB returns, or later by ``trainyard-train replay FILE``.
Each line is one operation: ``{"op": "run"|"episode"|"rollout"|"checkpoint"|"status"|"attempt"|"metadata"|
"evaluation", ...}``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import pydantic_core
from pydantic import BaseModel
from trainyard_runstore import rows
from trainyard_runstore.rows import Row
from trainyard_runstore.schema import (
    Attempt,
    Checkpoint,
    Episode,
    ErrorInfo,
    EvaluationResult,
    Rollout,
    RunRecord,
    RunStatus,
)
from trainyard_runstore.sync_store import RunStore

SPILL_NAME = "episodes.spill.jsonl"
log = logging.getLogger(__name__)


@dataclass
class Op:
    """One logged operation. An episode's payload is a row (``trainyard_runstore.rows``), the form the
    writer keeps thousands of without burdening the garbage collector; other payloads are models or dicts."""

    kind: str
    payload: Any
    segment: int = -1  # the write-ahead log segment it was read from (``wal``); -1: not from one

    def to_json(self) -> str:
        payload = rows.episode(self.payload) if self.kind == "episode" else self.payload
        body = payload.model_dump(mode="json", exclude_none=True) if hasattr(payload, "model_dump") else payload
        return json.dumps({"op": self.kind, "data": body}, separators=(",", ":"))

    @classmethod
    def from_json(cls, line: str | bytes) -> Op:
        if line.startswith(_EPISODE_PREFIX if isinstance(line, str) else _EPISODE_PREFIX.encode()):
            # The writer thread reads back every logged episode: parsing and validating the whole line in
            # pydantic's core is about twice as fast as json.loads followed by model_validate.
            return cls("episode", rows.of(_EpisodeLine.model_validate_json(line).data))
        raw = json.loads(line)
        kind, data = raw["op"], raw["data"]
        parsers = {"run": RunRecord.model_validate, "episode": lambda d: rows.of(Episode.model_validate(d)),
                   "checkpoint": Checkpoint.model_validate, "attempt": Attempt.model_validate,
                   "rollout": Rollout.model_validate, "evaluation": EvaluationResult.model_validate}
        return cls(kind, parsers[kind](data) if kind in parsers else data)


_EPISODE_PREFIX = '{"op":"episode",'  # how ``to_json`` and ``log_episode`` begin an episode line


class _EpisodeLine(BaseModel):
    op: Literal["episode"]
    data: Episode


_DATA_START = len(b'{"op":"episode","data":')


def parse_lines(lines: Iterable[bytes]) -> list[Op]:
    """Ops of complete log lines in order; a line that does not parse (garbled by a kill) is skipped.

    Consecutive episode lines are parsed as one JSON array of their ``data`` parts (pydantic-core's parser,
    faster than ``json``'s), straight into rows: the run logger wrote them from validated episodes, and a
    writer behind reads every one of them back (about 2 us each, against 5 us to validate them into models
    and make rows of those). Should any of them not parse, or lack a field, each line of the run is parsed
    and validated alone."""
    out: list[Op] = []
    run: list[bytes] = []
    prefix = _EPISODE_PREFIX.encode()

    def episodes() -> None:
        if not run:
            return
        try:
            parsed = [rows.from_json(data) for data in pydantic_core.from_json(
                b"[" + b",".join(line[_DATA_START:-1] for line in run) + b"]", allow_inf_nan=True)]
            out.extend(Op("episode", row) for row in parsed)
        except (ValueError, KeyError, TypeError, AttributeError):  # one bad line: find it line by line
            for line in run:
                with contextlib.suppress(ValueError, KeyError):
                    out.append(Op.from_json(line))
        run.clear()

    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        if line.startswith(prefix) and line.endswith(b"}}"):
            run.append(line)
            continue
        episodes()
        with contextlib.suppress(ValueError, KeyError):
            out.append(Op.from_json(line))
    episodes()
    return out


def append(path: Path, ops: Iterable[Op]) -> int:
    """Append ops durably; returns how many were written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with open(path, "a", encoding="utf-8") as fh:
        for op in ops:
            fh.write(op.to_json() + "\n")
            n += 1
        fh.flush()
        os.fsync(fh.fileno())
    return n


def read(path: Path) -> Iterator[Op]:
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if line:  # a torn last line (crash mid-write) is skipped by json errors below
                try:
                    yield Op.from_json(line)
                except json.JSONDecodeError:
                    continue


def apply(store: RunStore, run_id: str, ops: Iterable[Op], *, replay: bool = False) -> int:
    """Apply ops in order; consecutive episodes go in one batch. Returns the episode count.

    With ``replay=True`` a run record never resets an existing run's status (the file is history).
    A status op that carries its ``time`` (and the ``attempt`` that wrote it) is applied at that time and
    refused when the run has moved on to a newer status or a later attempt.
    """
    writer = store.writer(run_id)
    batch: list[Row] = []
    rollouts: list[Rollout] = []
    episodes = 0

    def flush() -> None:
        nonlocal episodes
        if batch:
            writer.write_rows(batch)
            episodes += len(batch)
            batch.clear()
        if rollouts:
            writer.write_rollouts(rollouts)
            rollouts.clear()

    for op in ops:
        if op.kind in ("episode", "rollout"):  # both are idempotent: batched across each other
            (batch if op.kind == "episode" else rollouts).append(op.payload)
            if len(batch) >= 10_000 or len(rollouts) >= 500:
                flush()
            continue
        flush()
        if op.kind == "run":
            if replay:
                store.insert_run_if_missing(op.payload)
            else:
                store.create_run(op.payload)
        elif op.kind == "checkpoint":
            writer.add_checkpoint(op.payload)
        elif op.kind == "attempt":
            if replay and op.payload.attempt == 0:
                continue  # an attempt that never reached the database has no number to record it under
            store.add_attempt(run_id, op.payload)
        elif op.kind == "metadata":
            store.set_metadata(run_id, **op.payload)
        elif op.kind == "evaluation":
            store.add_evaluation(run_id, op.payload)
        elif op.kind == "status":
            error = ErrorInfo.model_validate(op.payload["error"]) if op.payload.get("error") else None
            status = RunStatus(op.payload["status"])
            if op.payload.get("time"):
                at = datetime.fromisoformat(op.payload["time"])
                if not store.set_status_at(run_id, status, at=at, attempt=op.payload.get("attempt"), error=error):
                    log.info("status %s of %s (attempt %s) refused: the run has moved on", status.value,
                             op.payload["time"], op.payload.get("attempt"))
            else:  # a spill file of an older trainer
                store.set_status(run_id, status, error=error)
    flush()
    return episodes


def replay_file(store: RunStore, path: Path) -> tuple[str | None, int]:
    """``trainyard-train replay FILE``: write a spill file's operations; returns (run_id, episodes)."""
    ops = list(read(path))
    run_id = next((op.payload.run_id for op in ops if op.kind == "run"), None)
    if run_id is None:
        run_id = path.parent.name  # spill files live in <checkpoint-dir>/<run_id>/
    return run_id, apply(store, run_id, ops, replay=True)
