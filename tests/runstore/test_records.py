"""The run record's typed parts (config, metadata): typed where declared, faithful to what is stored."""

import pytest
from trainyard_runstore.run_config import Mode, RunConfig
from trainyard_runstore.schema import Attempt, ErrorInfo, RunMetadata, RunRecord, StoredRun
from trainyard_trainer.settings import TrainerSettings

pytestmark = pytest.mark.unit

@pytest.mark.parametrize("mode", list(Mode))
def test_the_config_the_trainer_writes_is_typed_and_dumps_back_unchanged(mode):
    written = TrainerSettings(mode=mode, seed=3, evaluation={"opponents": ["greedy"]}).run_config()
    config = RunConfig.model_validate(written)
    assert config.mode is mode and config.seed == 3 and config.n_steps == written["n_steps"]
    assert config.learning_rate == 3e-4 and config.total_timesteps == written["total_timesteps"]
    assert config.evaluation is not None and config.evaluation.opponents == ["greedy"]
    assert config.model_extra is not None and config.model_extra["retention"] == written["retention"]
    assert set(RunConfig.model_fields) <= config.model_fields_set  # every typed field is one the trainer writes
    assert config.model_dump(mode="json") == written


def test_a_value_that_does_not_fit_is_kept_as_stored_and_its_field_stays_unset():
    stored = {"seed": "seven", "learning_rate": 2.0, "batch_size": 64, "env_id": "CartPole-v1"}
    config = RunConfig.model_validate(stored)
    assert config.seed is None and config.learning_rate is None  # never a value of the wrong type
    assert config.env_id == "CartPole-v1" and config.batch_size == 64
    assert config.model_dump() == stored
    # A rule across fields (batchSize <= nSteps) keeps the whole part as it was stored.
    assert RunConfig.model_validate({"n_steps": 8, "batch_size": 64}).model_dump() == {"n_steps": 8, "batch_size": 64}


def test_metadata_dumps_only_what_the_run_holds():
    assert RunMetadata().model_dump() == {}
    old = {"checkpoint_dir": "/ck/r", "error": {"type": "Lost", "message": "gone", "traceback": [], "log_lines": [],
                                                 "source": "api", "last_episode": 4, "attempt": 2}, "note": "mine"}
    metadata = RunMetadata.model_validate(old)
    assert isinstance(metadata.error, ErrorInfo) and metadata.error.last_episode == 4 and metadata.attempts == []
    assert metadata.model_dump() == old
    typed = RunMetadata(attempts=[Attempt(attempt=1)])
    assert list(typed.model_dump()) == ["attempts"]


def test_a_record_as_stored_reads_back_with_its_bookkeeping():
    record = RunRecord(run_id="r", agent_id="a", config={"env_id": "CartPole-v1", "own": 1})
    doc = {**record.model_dump(), "_id": "0123abcd", "version": 7, "fence": 2,
           "heartbeat": {"time": record.start_time, "attempt": 2, "episode": 9}, "layout": 2}
    stored = StoredRun.model_validate(doc)
    assert (stored.id, stored.version, stored.fence, stored.heartbeat and stored.heartbeat.episode) == (
        "0123abcd", 7, 2, 9)
    assert stored.config.env_id == "CartPole-v1" and stored.config.model_dump() == {"env_id": "CartPole-v1", "own": 1}
    assert not stored.is_lost()


def test_new_metadata_must_fit_the_declared_keys_but_a_scripts_own_keys_pass():
    RunMetadata.check({"evaluation_status": "completed", "host": "lab-3", "anything": [1, {"a": None}]})
    with pytest.raises(ValueError, match=r"evaluation_status must be .*got 'done'"):
        RunMetadata.check({"evaluation_status": "done", "host": "lab-3"})
    with pytest.raises(ValueError, match="throughput"):
        RunMetadata.check({"throughput": 12.5})
