"""Periodic evaluation during ``learn``: due every K timesteps, played off the training thread with a
copy of the policy as it was, stored on the run with ``trigger: periodic``."""

from __future__ import annotations

import threading
from concurrent.futures import Future

import pytest
from trainyard_client.run_logger import TrainingRunLogger
from trainyard_runstore.sync_store import RunStore
from trainyard_trainer import evaluation
from trainyard_trainer.periodic_eval import PeriodicEvaluationCallback
from trainyard_trainer.settings import EvaluationSettings

from tests.trainer.policies import tiny_model

pytestmark = [pytest.mark.training, pytest.mark.mongo]

DUO = "trainyard/BlokusDuo-v0"


def test_every_k_timesteps_the_current_policy_is_evaluated_and_stored(mongo_settings, tmp_path):
    settings = EvaluationSettings(games=0, opponents=["random", "greedy"], seed=3, every_timesteps=32,
                                  periodic_games=2)
    logger = TrainingRunLogger(agent_id="a", spill_dir=tmp_path, mongo=mongo_settings, flush_interval=0.1)
    logger.start()
    model = tiny_model(seed=1)
    periodic = PeriodicEvaluationCallback(settings, DUO, logger, threading.Event())
    model.learn(64, callback=periodic)
    periodic.wait()
    # The policy after learning, evaluated on this thread, plays what the last periodic copy played.
    same = evaluation.evaluate(evaluation.model_predict(model), env_id=DUO,
                               settings=settings.model_copy(update={"games": 2}), checkpoint="x", timestep=64)
    logger.close()

    store = RunStore(mongo_settings)
    try:
        run = store.get_run(logger.run_id)
        stored = run.evaluations
        assert [(e.timestep, e.trigger) for e in stored] == [(32, "periodic"), (64, "periodic")]
        assert [[r.games for r in e.results] for e in stored] == [[2, 2], [2, 2]]
        assert run.evaluation.timestep == 64
        last = [store.game(logger.run_id, n) for n in range(stored[1].first_game, stored[1].last_game + 1)]
        assert [g.moves for g in last] == [g.moves for g in same.games]
    finally:
        store.close()


def test_a_due_evaluation_is_skipped_while_the_previous_one_plays(mongo_settings, tmp_path):
    settings = EvaluationSettings(games=0, every_timesteps=32, periodic_games=1)
    logger = TrainingRunLogger(agent_id="a", spill_dir=tmp_path, mongo=mongo_settings, flush_interval=0.1)
    periodic = PeriodicEvaluationCallback(settings, DUO, logger, threading.Event())
    periodic._future = Future()  # an evaluation still playing
    assert periodic.submit() is False
    assert periodic.skipped == 1
    periodic._future.set_result(None)
    periodic._pool.shutdown()
