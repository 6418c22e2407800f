"""Checkpoint retention: after each save, delete the files the run's ``retention`` settings do not keep.

Kept: the newest ``keep_last`` (self-play: at least its opponent pool), the best one and the final one.
"Best" is by evaluation when periodic evaluations exist (``evaluation.every_timesteps``): an evaluation
scores (mean win rate over its opponents) the checkpoint nearest to its timestep, the one holding the
policy it played (the later one on a tie), and the best-scored live checkpoint is kept. Without an
evaluation of a live checkpoint it is the rolling win rate at save time. Evaluations finish in the
background, so one that arrives after its checkpoint was pruned scores nothing; the final save comes after
the last evaluation, so the final choice sees them all. A pruned checkpoint stays in the
run record, marked ``pruned`` (the caller re-records it). ``latest.json``'s target is never pruned, so a
resume always finds its checkpoint. The list of saved checkpoints lives in ``checkpoints.json`` beside
them (and the evaluations seen, in ``evaluations.json``), so a resumed attempt prunes what earlier
attempts saved.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from trainyard_trainer.settings import RetentionSettings

MANIFEST = "checkpoints.json"
EVALUATIONS = "evaluations.json"
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


def load_evaluations(directory: Path) -> list[tuple[int, float]]:
    """(timestep, score) of every evaluation the run folder has seen."""
    try:
        return [(int(t), float(s)) for t, s in json.loads((directory / EVALUATIONS).read_text())]
    except (FileNotFoundError, json.JSONDecodeError, TypeError, ValueError):
        return []


def _write(path: Path, value: object) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(value))
    os.replace(tmp, path)


def _save(directory: Path, entries: list[Entry]) -> None:
    _write(directory / MANIFEST, [asdict(e) for e in entries])


def evaluation_scores(entries: list[Entry], evaluations: list[tuple[int, float]]) -> dict[str, float]:
    """Each checkpoint's best evaluation score: an evaluation scores the entry (pruned or not) nearest to
    its timestep, the later one on a tie."""
    scores: dict[str, float] = {}
    if not entries:
        return scores
    for timestep, score in evaluations:
        nearest = min(entries, key=lambda e: (abs(e.timestep - timestep), -e.timestep))
        scores[nearest.path] = max(score, scores.get(nearest.path, score))
    return scores


def choose(entries: list[Entry], settings: RetentionSettings, *, min_last: int = 1,
           evaluations: list[tuple[int, float]] | None = None) -> set[str]:
    """The file names to keep."""
    live = [e for e in entries if not e.pruned]
    live.sort(key=lambda e: e.timestep)
    keep = {e.path for e in live[-max(settings.keep_last, min_last):]}
    if settings.keep_best:
        scores = evaluation_scores(entries, evaluations or [])
        evaluated = [e for e in live if e.path in scores]
        rated = [e for e in live if e.win_rate is not None]
        if evaluated:
            keep.add(max(evaluated, key=lambda e: (scores[e.path], e.timestep)).path)
        elif rated:
            keep.add(max(rated, key=lambda e: (e.win_rate, e.timestep)).path)
    if settings.keep_final:
        keep.update(e.path for e in live if e.final)
    return keep


def record_and_prune(directory: Path, saved: Entry, settings: RetentionSettings, *, min_last: int = 1,
                     protect: str | None = None, evaluations: list[tuple[int, float]] | None = None) -> list[Entry]:
    """Add ``saved`` to the manifest (and ``evaluations``, (timestep, score) pairs, to those the folder has
    seen), delete what is no longer kept; returns the entries pruned now."""
    entries = [e for e in load(directory) if e.path != saved.path] + [saved]
    seen = load_evaluations(directory)
    new = [(int(t), float(s)) for t, s in evaluations or [] if (int(t), float(s)) not in seen]
    if new:
        seen += new
        _write(directory / EVALUATIONS, seen)
    keep = choose(entries, settings, min_last=min_last, evaluations=seen)
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
