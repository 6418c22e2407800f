"""Checkpoint files under ``<checkpoint-dir>/<run_id>/``: atomic saves and finding the latest.

``latest.json`` names the newest complete checkpoint with its timestep and episode, so a retried
pod resumes from it (``train``) and the operator or API can read it without loading torch.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

LATEST = "latest.json"


@dataclass(frozen=True)
class SavedCheckpoint:
    path: Path
    timestep: int
    episode: int


def run_dir(checkpoint_dir: Path, run_id: str) -> Path:
    return Path(checkpoint_dir) / run_id


def save(model, directory: Path, *, timestep: int, episode: int, tag: str | None = None) -> SavedCheckpoint:
    """Save ``model`` as ``ckpt_<timestep>.zip`` (or ``<tag>.zip``), then point latest.json at it."""
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{tag or f'ckpt_{timestep:010d}'}.zip"
    final = directory / name
    tmp = directory / f".{name}.tmp"
    model.save(tmp)  # SB3 appends .zip when missing
    written = tmp if tmp.exists() else tmp.with_name(tmp.name + ".zip")
    os.replace(written, final)
    latest_tmp = directory / f".{LATEST}.tmp"
    latest_tmp.write_text(json.dumps({"path": final.name, "timestep": timestep, "episode": episode}))
    os.replace(latest_tmp, directory / LATEST)
    return SavedCheckpoint(final, timestep, episode)


def latest(directory: Path) -> SavedCheckpoint | None:
    meta = directory / LATEST
    if not meta.exists():
        return None
    data = json.loads(meta.read_text())
    path = directory / data["path"]
    if not path.exists():
        return None
    return SavedCheckpoint(path, int(data["timestep"]), int(data["episode"]))
