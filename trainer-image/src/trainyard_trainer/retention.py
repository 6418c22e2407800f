"""Checkpoint retention: after each save, delete the files the run's ``retention`` settings do not keep.

Kept: the newest ``keep_last`` (self-play: at least its opponent pool), the best one (rolling win rate at
save time; an evaluation's win rate when one exists) and the final one. A pruned checkpoint stays in the
run record, marked ``pruned`` (the caller re-records it). ``latest.json``'s target is never pruned, so a
resume always finds its checkpoint. The list of saved checkpoints lives in ``checkpoints.json`` beside
them, so a resumed attempt prunes what earlier attempts saved.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from trainyard_trainer.settings import RetentionSettings

MANIFEST = "checkpoints.json"
log = logging.getLogger(__name__)


@dataclass
class Entry:
    path: str  # file name within the run folder
    timestep: int
    episode: int
    win_rate: float | None = None
    final: bool = False
    pruned: bool = False


def load(directory: Path) -> list[Entry]:
    try:
        return [Entry(**e) for e in json.loads((directory / MANIFEST).read_text())]
    except (FileNotFoundError, json.JSONDecodeError, TypeError):
        return []


def _save(directory: Path, entries: list[Entry]) -> None:
    tmp = directory / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps([asdict(e) for e in entries]))
    os.replace(tmp, directory / MANIFEST)


def choose(entries: list[Entry], settings: RetentionSettings, *, min_last: int = 1) -> set[str]:
    """The file names to keep."""
    live = [e for e in entries if not e.pruned]
    live.sort(key=lambda e: e.timestep)
    keep = {e.path for e in live[-max(settings.keep_last, min_last):]}
    if settings.keep_best:
        rated = [e for e in live if e.win_rate is not None]
        if rated:
            keep.add(max(rated, key=lambda e: (e.win_rate, e.timestep)).path)
    if settings.keep_final:
        keep.update(e.path for e in live if e.final)
    return keep


def record_and_prune(directory: Path, saved: Entry, settings: RetentionSettings, *, min_last: int = 1,
                     protect: str | None = None) -> list[Entry]:
    """Add ``saved`` to the manifest, delete what is no longer kept; returns the entries pruned now."""
    entries = [e for e in load(directory) if e.path != saved.path] + [saved]
    keep = choose(entries, settings, min_last=min_last)
    if protect:
        keep.add(protect)
    pruned = []
    for e in entries:
        if not e.pruned and e.path not in keep:
            try:
                (directory / e.path).unlink(missing_ok=True)
            except OSError as exc:  # the next save tries again
                log.warning("could not prune checkpoint %s: %s", e.path, exc)
                continue
            e.pruned = True
            pruned.append(e)
    _save(directory, entries)
    if pruned:
        log.info("retention pruned %s", ", ".join(e.path for e in pruned))
    return pruned
