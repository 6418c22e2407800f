"""``/api/training-runs/{run_id}/checkpoints``: checkpoint files on the shared volume (read-only).

The volume holds ``<run_id>/`` folders written by the trainer; ``TRAINYARD_API_CHECKPOINT_ROOT``
says where it is mounted. Files are listed and downloaded, never written.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse
from pydantic import BaseModel

from trainyard_api.deps import SettingsDep, StoreDep
from trainyard_api.routers.training_runs import ERRORS, load_run
from trainyard_api.settings import ApiSettings

router = APIRouter(prefix="/api/training-runs", tags=["checkpoints"])


class CheckpointFile(BaseModel):
    name: str
    size_bytes: int
    modified: datetime
    recorded: bool
    url: str


def _run_dir(settings: ApiSettings, run_id: str) -> Path:
    if settings.checkpoint_root is None:
        raise HTTPException(404, "no checkpoint volume is mounted: set TRAINYARD_API_CHECKPOINT_ROOT")
    root: Path = settings.checkpoint_root.resolve()
    run_dir = (root / run_id).resolve()
    if root not in run_dir.parents:
        raise HTTPException(404, f"no checkpoints for run {run_id!r}")
    return run_dir


@router.get("/{run_id}/checkpoints", response_model=list[CheckpointFile], responses=ERRORS,
            summary="Checkpoint files of a run on the shared volume")
async def list_checkpoints(run_id: str, store: StoreDep, settings: SettingsDep) -> list[CheckpointFile]:
    run = await load_run(store, run_id)
    run_dir = _run_dir(settings, run_id)
    recorded = {Path(c.path).name for c in run.checkpoint_paths}
    files = sorted(run_dir.glob("*.zip")) if run_dir.is_dir() else []
    return [
        CheckpointFile(name=f.name, size_bytes=f.stat().st_size,
                       modified=datetime.fromtimestamp(f.stat().st_mtime, UTC), recorded=f.name in recorded,
                       url=f"/api/training-runs/{run_id}/checkpoints/{f.name}")
        for f in files
    ]


@router.get("/{run_id}/checkpoints/{name}", responses=ERRORS, response_class=FileResponse,
            summary="Download one checkpoint file")
async def download_checkpoint(run_id: str, name: str, store: StoreDep, settings: SettingsDep) -> FileResponse:
    await load_run(store, run_id)
    run_dir = _run_dir(settings, run_id)
    path = (run_dir / name).resolve()
    if path.parent != run_dir or path.suffix != ".zip" or not path.is_file():
        raise HTTPException(404, f"no checkpoint file {name!r} for run {run_id!r}")
    return FileResponse(path, media_type="application/zip", filename=name)
