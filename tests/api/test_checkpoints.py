"""Checkpoint files on the shared volume, listed and served read-only by the API."""

import httpx
import pytest
from trainyard_runstore.schema import Checkpoint, RunRecord

from tests.support.processes import ApiServer

pytestmark = pytest.mark.mongo


def test_checkpoint_files_are_listed_and_downloadable(store, mongo_settings, tmp_path):
    root = tmp_path / "volume"
    (root / "r1").mkdir(parents=True)
    (root / "r1" / "ckpt_0000001024.zip").write_bytes(b"model-1")
    (root / "r1" / "ckpt_0000002048.zip").write_bytes(b"model-22")
    (root / "secret.zip").write_bytes(b"outside the run")
    store.create_run(RunRecord(run_id="r1", agent_id="a"))
    ckpt = Checkpoint(episode=5, timestep=2048, path=str(root / "r1" / "ckpt_0000002048.zip"))
    store.writer("r1").add_checkpoint(ckpt)
    api = ApiServer(mongo_settings.uri, mongo_settings.db_name, tmp_path / "api.log",
                    TRAINYARD_API_CHECKPOINT_ROOT=str(root)).start()
    try:
        with httpx.Client(base_url=api.url) as c:
            files = c.get("/api/training-runs/r1/checkpoints").json()
            assert [(f["name"], f["size_bytes"], f["recorded"]) for f in files] == [
                ("ckpt_0000001024.zip", 7, False), ("ckpt_0000002048.zip", 8, True)]
            r = c.get(files[1]["url"])
            assert r.status_code == 200 and r.content == b"model-22"
            assert c.get("/api/training-runs/r1/checkpoints/..%2Fsecret.zip").status_code == 404
            assert c.get("/api/training-runs/r1/checkpoints/nope.zip").status_code == 404
            assert c.get("/api/training-runs/zz/checkpoints").status_code == 404
    finally:
        api.stop()
