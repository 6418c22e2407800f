"""The learning views (Evaluation panel and curve, Training diagnostics, game replay, Compare overlay,
Benchmarks, Elo ladder) in real headless Chromium against the real API and FerretDB, with runs the real trainer
produced: three short smoke runs with periodic evaluation (two seeds of one experiment and one run of
a smaller budget), trained in parallel, then ``trainyard-train ladder`` between two of them and the
built-in opponents. ``web/e2e/learning.mjs`` drives the browser.

The replay's known-position check compares the screenshot's cell colours with the board that the
trainer's own Blokus engine rebuilds from the stored moves (not with the API's boards).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from trainyard_runstore.settings import MongoSettings
from trainyard_runstore.sync_store import RunStore
from trainyard_trainer.envs import replay

from tests.support.e2e import require_browser, run_e2e
from tests.support.ferretdb import FerretDB
from tests.support.processes import ApiServer, trainer

pytestmark = [pytest.mark.browser, pytest.mark.mongo, pytest.mark.training]

REPO = Path(__file__).resolve().parents[2]
DB = "learning"
AGENT = "ppo_learning"
# (run_id, seed, total timesteps, evaluate every); n_steps 256 in smoke mode: a rollout per 256 steps.
RUNS = [("learn-a", 0, 1024, 512), ("learn-b", 1, 1024, 512), ("learn-small", 0, 512, 256)]
GAMES = 4  # per opponent, in every evaluation (periodic and final)
KNOWN_MOVE = 9  # the replay position whose screenshot is checked
LADDER_GAMES = 2  # per pair: learn-a, learn-small, random, greedy


def train(settings: MongoSettings, tmp: Path) -> None:
    config = tmp / "config.json"
    config.write_text(json.dumps({"evaluation": {"periodic_games": GAMES}}))
    procs = []
    # A folder per run: runs sharing one sweep each other's write-ahead logs at start (trainer.sweep).
    for run_id, seed, steps, every in RUNS:
        args = ["--mode", "smoke", "--run-id", run_id, "--agent-id", AGENT, "--seed", str(seed),
                "--total-timesteps", str(steps), "--checkpoint-dir", str(tmp / f"ck-{run_id}"),
                "--eval-games", str(GAMES),
                "--eval-every", str(every), "--config", str(config)]
        log = tmp / f"{run_id}.log"
        procs.append((run_id, log, trainer(args, settings.uri, settings.db_name, log)))
    for run_id, log, proc in procs:
        assert proc.wait(600) == 0, f"{run_id}: " + log.read_text()[-3000:]
    log = tmp / "ladder.log"
    ladder = trainer(["ladder", "--run-id", "learn-a", "--run-id", "learn-small", "--games", str(LADDER_GAMES),
                      "--name", "learning views"], settings.uri, settings.db_name, log)
    assert ladder.wait(600) == 0, "ladder: " + log.read_text()[-3000:]


def fixture_for(store: RunStore) -> dict:
    runs = {}
    for run_id, _, steps, every in RUNS:
        doc = store.get_run(run_id)
        assert doc is not None and doc.status == "completed", run_id
        evaluations = doc.evaluations
        periodic = sorted(e.timestep for e in evaluations if e.trigger == "periodic")
        assert periodic == list(range(every, steps + 1, every)), f"{run_id}: periodic evaluations at {periodic}"
        runs[run_id] = {"episodes": doc.summary.episodes, "budget": steps,
                        "timesteps": sorted({e.timestep for e in evaluations}),
                        "evaluation": doc.evaluation.model_dump(), "tensorboard_dir": doc.metadata.tensorboard_dir,
                        "rollouts": int(doc.last_rollout.rollout)}
    final = runs["learn-a"]["evaluation"]
    greedy = next(r for r in final["results"] if r["opponent"] == "greedy")
    n = greedy["first_game"]
    game = store.game("learn-a", n)
    board = replay(game.variant, game.moves)[KNOWN_MOVE]  # boards[0] is the empty board
    ladder = store.db["ladders"].find_one({})
    return {"runs": runs, "agent_id": AGENT, "games_per_opponent": GAMES, "ladder_games": LADDER_GAMES,
            "ladder": {"players": [p["name"] for p in ladder["players"]],
                       "ratings": {p["name"]: p["rating"] for p in ladder["players"]}},
            "known": {"run_id": "learn-a", "n": n, "move": KNOWN_MOVE, "board": board.tolist(),
                      "moves": len(game.moves), "cell_counts": game.cell_counts, "seats": game.seats,
                      "scores": game.scores, "agent_seat": game.agent_seat, "opponent": game.opponent}}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    require_browser()
    tmp = tmp_path_factory.mktemp("learning")
    db = FerretDB(tmp / "db").start()
    settings = MongoSettings(uri=db.uri, db_name=DB)
    try:
        train(settings, tmp)
        store = RunStore(settings)
        try:
            fixture = fixture_for(store)
        finally:
            store.close()
        (tmp / "fixture.json").write_text(json.dumps(fixture, default=str))
        api = ApiServer(db.uri, DB, tmp / "api.log").start()
        try:
            yield {"api": api, "tmp": tmp, "fixture": fixture}
        finally:
            api.stop()
    finally:
        db.stop()


def test_learning_views_in_chromium(stack, artifacts):
    run_e2e("learning.mjs", base_url=stack["api"].url, fixture=stack["tmp"] / "fixture.json",
            shots=artifacts / "web-learning", timeout=420, artifacts=artifacts,
            screenshots=("evaluation.png", "diagnostics.png", "replay.png", "benchmarks.png", "compare-eval.png",
                         "ladder.png"))
