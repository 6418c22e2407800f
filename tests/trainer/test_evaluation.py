"""Evaluation games: reproducible from a saved checkpoint, seats alternate, boards replay, numbers add up."""

from __future__ import annotations

import numpy as np
import pytest
from trainyard_runstore import games as stored_games
from trainyard_runstore.stats import wilson
from trainyard_trainer import evaluation
from trainyard_trainer.envs import replay
from trainyard_trainer.settings import EvaluationSettings

from tests.trainer.policies import save, tiny_model

pytestmark = pytest.mark.training

DUO = "trainyard/BlokusDuo-v0"


def test_a_saved_and_loaded_checkpoint_plays_the_same_moves(tmp_path):
    model = tiny_model(seed=4, learn=32)
    saved = save(model, tmp_path, 32)
    settings = EvaluationSettings(games=4, opponents=["random", "greedy"], seed=11)
    live = evaluation.evaluate(evaluation.model_predict(model), env_id=DUO, settings=settings,
                               checkpoint=str(saved.path), timestep=32)
    loaded = evaluation.evaluate_checkpoint(saved.path, env_id=DUO, settings=settings)
    again = evaluation.evaluate_checkpoint(saved.path, env_id=DUO, settings=settings)
    assert [g.moves for g in loaded.games] == [g.moves for g in live.games] == [g.moves for g in again.games]
    assert [g.scores for g in loaded.games] == [g.scores for g in live.games]
    assert loaded.evaluation.timestep == 32  # read from the checkpoint itself
    assert [g.agent_seat for g in loaded.games] == [0, 1, 0, 1] * 2
    assert [g.seed for g in loaded.games] == [11, 12, 13, 14] * 2
    assert [g.n for g in loaded.games] == list(range(1, 9))


def test_stored_games_replay_to_the_engines_boards_and_results_add_up():
    rng = np.random.default_rng(0)

    def predict(obs, mask):  # any legal policy will do
        return int(rng.choice(np.flatnonzero(mask)))

    result = evaluation.evaluate(predict, env_id=DUO, settings=EvaluationSettings(games=6, opponents=["greedy"]),
                                 checkpoint="x.zip", timestep=0)
    for game in result.games:
        expected = [b.tolist() for b in replay("duo", game.moves)[1:]]
        assert stored_games.boards(game) == expected
        assert len(game.seats) == len(game.moves) == len(game.cell_counts) and sum(game.cell_counts) == len(game.cells)
    (greedy,) = result.evaluation.results
    margins = [g.scores[g.agent_seat] - g.scores[1 - g.agent_seat] for g in result.games]
    assert greedy.games == 6 and greedy.first_game == 1
    assert greedy.wins == sum(m > 0 for m in margins) and greedy.draws == sum(m == 0 for m in margins)
    assert greedy.wins + greedy.draws + greedy.losses == 6
    assert greedy.mean_score_margin == pytest.approx(np.mean(margins))
    assert (greedy.win_rate_ci.low, greedy.win_rate_ci.high) == pytest.approx(wilson(greedy.wins, 6))
