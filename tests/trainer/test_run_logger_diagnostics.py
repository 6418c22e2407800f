"""Rollout diagnostics and evaluations go through the run logger's queue: numbered, kept in the write-ahead
log through an outage, written by the sweep."""

import pytest
from trainyard_client import wal
from trainyard_client.run_logger import TrainingRunLogger
from trainyard_runstore.schema import Rollout
from trainyard_runstore.settings import MongoSettings
from trainyard_runstore.sync_store import RunStore
from trainyard_trainer.cli import main as cli_main

from tests.support.evaluations import make_evaluation as evaluation

pytestmark = pytest.mark.mongo


def diag(timestep):
    return Rollout(rollout=1, timestep=timestep, legal_share=0.02, entropy=4.5, invalid_actions=0)


def test_rollouts_and_evaluations_survive_an_outage_and_resume_numbering(own_ferretdb, tmp_path, monkeypatch):
    settings = MongoSettings(uri=own_ferretdb.uri, db_name="diag", timeout_ms=300)
    logger = TrainingRunLogger(agent_id="a", spill_dir=tmp_path, mongo=settings, flush_interval=0.1)
    logger.start()
    numbers = [logger.log_rollout(diag(512 * i)).rollout for i in range(1, 4)]
    assert numbers == [1, 2, 3]
    own_ferretdb.stop()
    for i in range(4, 6):
        logger.log_rollout(diag(512 * i))
    logger.log_evaluation(evaluation("e1"))
    logger.set_metadata(evaluation_status="completed")
    logger.close()  # database down: what is left stays in the run's write-ahead log, in order
    assert wal.segments(logger.run_dir)
    own_ferretdb.start()
    monkeypatch.setenv("MONGODB_URI", settings.uri)
    monkeypatch.setenv("MONGODB_DB_NAME", settings.db_name)
    assert cli_main(["sweep", "--checkpoint-dir", str(tmp_path), "--timeout", "0"]) == 0
    assert cli_main(["sweep", "--checkpoint-dir", str(tmp_path), "--timeout", "0"]) == 0  # twice: idempotent
    store = RunStore(settings)
    assert [r.timestep for r in store.rollouts(logger.run_id)] == [512, 1024, 1536, 2048, 2560]
    run = store.get_run(logger.run_id)
    assert run.metadata.evaluation_status == "completed"
    assert [e.id for e in run.evaluations] == ["e1"] and run.evaluation.last_game == 4

    resumed = TrainingRunLogger(agent_id="a", run_id=logger.run_id, spill_dir=tmp_path, mongo=settings)
    resumed.start()
    assert resumed.log_rollout(diag(3072)).rollout == 6
    resumed.close()
    assert store.get_run(logger.run_id).last_rollout.rollout == 6
