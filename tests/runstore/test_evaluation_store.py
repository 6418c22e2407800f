"""Rollout pages and evaluation games in a real FerretDB: idempotent writes, global game numbers."""

import pytest
from trainyard_runstore import layout
from trainyard_runstore.schema import Rollout, RunRecord
from trainyard_runstore.sync_store import RunStore

from tests.support.evaluations import make_evaluation as evaluation

pytestmark = pytest.mark.mongo


def rollouts(first, last):
    return [Rollout(rollout=i, timestep=i * 512, legal_share=0.5, entropy=1.0 / i, invalid_actions=0,
                    opponents={"random": 3}) for i in range(first, last + 1)]


def test_rollouts_across_pages_are_written_once_even_when_replayed(store):
    store.create_run(RunRecord(run_id="r", agent_id="a"))
    w = store.writer("r")
    w.write_rollouts(rollouts(1, 1200))
    w.write_rollouts(rollouts(990, 1300))  # overlapping replay across a page boundary
    RunStore(store.settings).writer("r").write_rollouts(rollouts(1290, 1310))  # a fresh writer (resumed process)
    stored = store.rollouts("r")
    assert [r.rollout for r in stored] == list(range(1, 1311))
    assert stored[99].opponents == {"random": 3} and stored[99].entropy == pytest.approx(0.01)
    assert store.get_run("r").last_rollout.rollout == 1310
    assert sorted(d["_id"] for d in store.home("r").find({"_id": {"$regex": "^r0"}})) == ["r00000", "r00001"]
    assert [r.rollout for r in store.rollouts("r", 999, 1002)] == [999, 1000, 1001, 1002]


def test_opponent_names_with_dots_and_dollars_are_stored_as_named(store):
    # MongoDB and FerretDB refuse such field names; the curriculum's "curriculum@0.3" was dead-lettered.
    store.create_run(RunRecord(run_id="r", agent_id="a"))
    names = {"curriculum@0.3": 2, "$user.opponent": 1, "random": 4}
    store.writer("r").write_rollouts([Rollout(rollout=1, timestep=512, opponents=names)])
    assert store.rollouts("r")[0].opponents == names
    assert store.get_run("r").last_rollout.opponents == names


def test_evaluations_number_games_across_the_run_and_replace_themselves(store):
    store.create_run(RunRecord(run_id="r", agent_id="a"))
    e1 = evaluation("e1")
    first = store.add_evaluation("r", e1)
    assert (first.first_game, first.last_game) == (1, 4)
    assert [r.first_game for r in first.results] == [1, 3]
    second = store.add_evaluation("r", evaluation("e2", games_per_opponent=3, opponents=("greedy",)))
    assert (second.first_game, second.last_game) == (5, 7)
    again = store.add_evaluation("r", e1)  # a replayed spill file: same numbers, no new entry
    assert (again.first_game, again.last_game) == (1, 4)
    run = store.get_run("r")
    assert [e.id for e in run.evaluations] == ["e1", "e2"]
    assert run.evaluation.id == "e2"
    assert store.game("r", 5).opponent == "greedy" and store.game("r", 5).evaluation_id == "e2"
    assert store.game("r", 3).opponent == "greedy" and store.game("r", 3).n == 3
    assert store.game("r", 8) is None
    assert store.db[layout.games_collection("r")].count_documents({}) == 7


def test_games_left_by_an_interrupted_write_are_overwritten(store):
    store.create_run(RunRecord(run_id="r", agent_id="a"))
    store._write_games("r", evaluation("lost").numbered(1).games[:3])  # games written, run never updated
    stored = store.add_evaluation("r", evaluation("e1"))
    assert (stored.first_game, stored.last_game) == (1, 4)
    assert {store.game("r", n).evaluation_id for n in range(1, 5)} == {"e1"}
