"""The real trainer CLI on a tiny self-play run: rollout diagnostics, evaluation, games, ``evaluate``.

One training run (module fixture) serves every test here; the API is the real uvicorn server.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import httpx
import pytest
from trainyard_runstore.settings import MongoSettings
from trainyard_runstore.sync_store import RunStore
from trainyard_trainer.envs import replay

from tests.support.processes import ApiServer, trainer

pytestmark = [pytest.mark.training, pytest.mark.mongo]

RUN = "eval-e2e"
_dbs = itertools.count()


@pytest.fixture(scope="module")
def trained(ferretdb, tmp_path_factory):
    """A completed 1024-step self-play run (4 rollouts, 4 evaluation games per opponent).

    One environment keeps it quick; ``test_selfplay`` covers self-play in subprocess workers.
    """
    tmp = tmp_path_factory.mktemp("eval-e2e")
    settings = MongoSettings(uri=ferretdb.uri, db_name=f"eval_e2e_{os.getpid()}_{next(_dbs)}")
    log = tmp / "train.log"
    proc = trainer(["--mode", "smoke", "--total-timesteps", "1024", "--n-envs", "1", "--opponent", "self-play",
                    "--checkpoint-every", "512", "--eval-games", "4", "--run-id", RUN, "--checkpoint-dir",
                    str(tmp / "ck")], settings.uri, settings.db_name, log,
                   TRAINER_SELF_PLAY='{"refresh_seconds": 0}')
    assert proc.wait(300) == 0, log.read_text()[-3000:]
    api = ApiServer(settings.uri, settings.db_name, tmp / "api.log").start()
    try:
        yield settings, tmp, log, api
    finally:
        api.stop()


def test_rollout_diagnostics_are_stored_with_no_invalid_actions(trained):
    settings, _, log, api = trained
    body = httpx.get(f"{api.url}/api/training-runs/{RUN}/rollouts", timeout=10).json()
    rollouts = body["rollouts"]
    assert body["total"] == len(rollouts) == 4  # 1024 steps / 256 steps per rollout (smoke)
    assert [r["rollout"] for r in rollouts] == [1, 2, 3, 4]
    assert [r["timestep"] for r in rollouts] == [256, 512, 768, 1024]
    for r in rollouts:
        assert r["invalid_actions"] == 0
        assert 0 < r["legal_share"] < 1
        for key in ("entropy", "policy_gradient_loss", "value_loss", "approx_kl", "clip_fraction"):
            assert r[key] is not None, key
        assert sum(r["opponents"].values()) == r["episodes"] > 0
    played = {name for r in rollouts for name in r["opponents"]}
    assert "random" in played  # before the first checkpoint
    assert "ckpt_0000000512" in played, played  # self-play picked the run's own checkpoint
    assert "first game against opponent ckpt_0000000512" in log.read_text()
    page = httpx.get(f"{api.url}/api/training-runs/{RUN}/rollouts", params={"from_rollout": 2, "to_rollout": 3},
                     timeout=10).json()
    assert [r["rollout"] for r in page["rollouts"]] == [2, 3]


def test_evaluation_is_stored_on_the_run_and_served(trained):
    settings, _, log, api = trained
    run = httpx.get(f"{api.url}/api/training-runs/{RUN}", timeout=10).json()
    assert run["status"] == "completed" and run["metadata"]["evaluation_status"] == "completed"
    assert run["metadata"]["throughput"]["timesteps"] == 1024
    evaluation = run["evaluation"]
    assert run["evaluations"] == [evaluation]
    assert evaluation["timestep"] == 1024 and evaluation["checkpoint"].endswith("ckpt_0000001024.zip")
    assert evaluation["trigger"] == "training" and (evaluation["first_game"], evaluation["last_game"]) == (1, 8)
    results = {r["opponent"]: r for r in evaluation["results"]}
    assert sorted(results) == ["greedy", "random"]
    for r in results.values():
        assert r["games"] == 4 and r["wins"] + r["draws"] + r["losses"] == 4
        assert r["win_rate"] == r["wins"] / 4
        assert r["win_rate_ci"]["low"] <= r["win_rate"] <= r["win_rate_ci"]["high"]
    assert results["random"]["first_game"] == 1 and results["greedy"]["first_game"] == 5
    assert run["last_rollout"]["rollout"] == 4
    assert "evaluation vs greedy: win rate" in log.read_text()


def test_a_game_comes_with_the_board_after_each_move(trained):
    _, _, _, api = trained
    game = httpx.get(f"{api.url}/api/training-runs/{RUN}/games/6", timeout=10).json()
    assert game["n"] == 6 and game["opponent"] == "greedy" and game["agent_seat"] == 1
    assert len(game["boards"]) == len(game["moves"]) == len(game["seats"])
    assert game["boards"] == [b.tolist() for b in replay("duo", game["moves"])[1:]]
    assert httpx.get(f"{api.url}/api/training-runs/{RUN}/games/99", timeout=10).status_code == 404
    assert httpx.get(f"{api.url}/api/training-runs/nope/games/1", timeout=10).status_code == 404


def test_evaluate_cli_reevaluates_a_checkpoint_of_an_existing_run(trained):
    settings, tmp, _, api = trained
    log = tmp / "evaluate.log"
    earlier = tmp / "ck" / RUN / "ckpt_0000000512.zip"
    proc = trainer(["evaluate", "--run-id", RUN, "--checkpoint", str(earlier), "--games", "2", "--opponents", "greedy"],
                   settings.uri, settings.db_name, log)
    assert proc.wait(120) == 0, log.read_text()[-3000:]
    run = RunStore(settings).get_run(RUN)
    assert len(run.evaluations) == 2
    newest = run.evaluations[-1]
    assert run.evaluation == newest and newest.trigger == "cli"
    assert newest.timestep == 512 and Path(newest.checkpoint) == earlier
    assert (newest.first_game, newest.last_game) == (9, 10)  # numbered after the first evaluation's games
    assert [r.opponent for r in newest.results] == ["greedy"] and newest.results[0].games == 2
    game = httpx.get(f"{api.url}/api/training-runs/{RUN}/games/10", timeout=10).json()
    assert game["evaluation_id"] == newest.id and game["agent_seat"] == 1

    unknown = trainer(["evaluate", "--run-id", "no-such-run"], settings.uri, settings.db_name, tmp / "unknown.log")
    assert unknown.wait(60) == 2
    assert "no training run" in (tmp / "unknown.log").read_text()
