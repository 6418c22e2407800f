"""The dead-letter file: ops MongoDB refused for good, each with the error, so the writer can go on.

``deadletter.jsonl`` beside the checkpoints; one line per op: ``{"op": ..., "data": ..., "error": {type,
message}, "time": ...}``. A person can inspect it and, once the cause is fixed, replay it with
``trainyard-train replay FILE`` (the same line format as a spill file, the extra keys are ignored).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from trainyard_runstore.schema import utcnow

from trainyard_client.spill import Op

DEAD_LETTER_NAME = "deadletter.jsonl"
log = logging.getLogger(__name__)


def record(directory: Path, op: Op, exc: BaseException) -> Path:
    path = Path(directory) / DEAD_LETTER_NAME
    try:
        body = json.loads(op.to_json())
    except Exception as dump_exc:  # noqa: BLE001 - the op itself may be what cannot be serialized
        body = {"op": op.kind, "data": repr(op.payload), "dump_error": repr(dump_exc)}
    body["error"] = {"type": type(exc).__name__, "message": str(exc)[:2000]}
    body["time"] = utcnow().isoformat()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(body, default=str) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    log.error("op %s refused for good by MongoDB (%s: %s); kept in %s", op.kind, type(exc).__name__, exc, path)
    return path
