"""``/api/benchmarks`` over real HTTP and FerretDB: runs seeded through the store with evaluations."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from trainyard_runstore.schema import Evaluation, EvaluationResult, Interval, OpponentResult, RunRecord, RunStatus
from trainyard_runstore.stats import wilson

pytestmark = pytest.mark.mongo

DUO = "trainyard/BlokusDuo-v0"
T975 = {1: 12.7062047361747, 2: 4.30265272974946}  # Student t, two-sided 95%
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def result(opponent: str, wins: int, games: int = 100) -> OpponentResult:
    low, high = wilson(wins, games)
    return OpponentResult(opponent=opponent, games=games, wins=wins, losses=games - wins, win_rate=wins / games,
                          win_rate_ci=Interval(low=low, high=high), mean_score_margin=float(wins - 50),
                          score_margin_ci=Interval(low=-1, high=1))


def seed_run(store, run_id, agent, *, seed, budget, lr=3e-4, env=DUO, status=RunStatus.COMPLETED,
             evaluations=()):
    config = {"env_id": env, "seed": seed, "total_timesteps": budget, "learning_rate": lr, "n_steps": 256,
              "opponent": "random", "checkpoint_dir": f"/ck/{run_id}", "device": "cpu", "mode": "full"}
    store.create_run(RunRecord(run_id=run_id, agent_id=agent, config=config))
    for i, (timestep, results) in enumerate(evaluations):
        evaluation = Evaluation(id=f"{run_id}-e{i}", checkpoint=f"/ck/{run_id}/ckpt_{timestep:010d}.zip",
                                timestep=timestep, env_id=env, variant="duo", seed=0, time=T0 + timedelta(hours=i),
                                results=results)
        store.add_evaluation(run_id, EvaluationResult(evaluation=evaluation))
    if status is not RunStatus.RUNNING:
        store.set_status(run_id, status)


@pytest.fixture
def seeded(store):
    for seed, (r, g) in zip((1, 2, 3), ((50, 10), (60, 20), (70, 30)), strict=True):
        evals = [(1000, [result("random", r), result("greedy", g)])]
        if seed == 3:  # a later re-evaluation of an earlier checkpoint must not replace the final one
            evals.append((500, [result("random", 0), result("greedy", 0)]))
        seed_run(store, f"alpha-s{seed}", "alpha", seed=seed, budget=1000, evaluations=evals)
    seed_run(store, "alpha-long", "alpha", seed=1, budget=2000,
             evaluations=[(2000, [result("random", 90), result("greedy", 30)])])
    seed_run(store, "alpha-lr", "alpha", seed=1, budget=1000, lr=1e-4, evaluations=[(1000, [result("random", 30)])])
    for seed, (r, g) in zip((1, 2), ((80, 40), (70, 50)), strict=True):
        seed_run(store, f"beta-s{seed}", "beta", seed=seed, budget=1000, lr=1e-3,
                 evaluations=[(1000, [result("random", r), result("greedy", g)])])
    # not ranked: still running, another environment, no evaluation
    seed_run(store, "alpha-running", "alpha", seed=9, budget=1000, status=RunStatus.RUNNING,
             evaluations=[(1000, [result("random", 100)])])
    seed_run(store, "alpha-classic", "alpha", seed=1, budget=1000, env="trainyard/Blokus-v0",
             evaluations=[(1000, [result("random", 100)])])
    seed_run(store, "alpha-noeval", "alpha", seed=5, budget=1000)


def by_opponent(body):
    return {r["opponent"]: r["entries"] for r in body["rankings"]}


def test_benchmarks_group_seeds_keep_budgets_apart_and_rank(api_server, seeded):
    body = httpx.get(f"{api_server.url}/api/benchmarks", params={"env": DUO}, timeout=10).json()
    assert body["env_id"] == DUO and body["runs"] == 7
    rankings = by_opponent(body)
    assert sorted(rankings) == ["greedy", "random"]

    vs_random = rankings["random"]
    assert [(e["agent_id"], e["total_timesteps"], e["run_ids"]) for e in vs_random] == [
        ("alpha", 2000, ["alpha-long"]),
        ("beta", 1000, ["beta-s1", "beta-s2"]),
        ("alpha", 1000, ["alpha-s1", "alpha-s2", "alpha-s3"]),
        ("alpha", 1000, ["alpha-lr"]),
    ]
    assert [e["rank"] for e in vs_random] == [1, 2, 3, 4]
    long, beta, alpha, alpha_lr = vs_random

    # one seed: the Wilson interval of that run's games
    assert long["seeds"] == 1 and long["ci_method"] == "wilson" and long["mean_win_rate"] == pytest.approx(0.9)
    assert (long["ci"]["low"], long["ci"]["high"]) == pytest.approx(wilson(90, 100))
    # three seeds: t-interval over their win rates (the re-evaluation at timestep 500 is ignored)
    assert alpha["seeds"] == 3 and alpha["ci_method"] == "t" and alpha["seed_values"] == [1, 2, 3]
    assert alpha["win_rates"] == pytest.approx([0.5, 0.6, 0.7]) and alpha["timesteps"] == [1000, 1000, 1000]
    half = T975[2] * 0.1 / math.sqrt(3)
    assert alpha["mean_win_rate"] == pytest.approx(0.6)
    assert (alpha["ci"]["low"], alpha["ci"]["high"]) == pytest.approx((0.6 - half, 0.6 + half))
    # two seeds: a wide interval, clipped to [0, 1]
    half = T975[1] * math.sqrt(0.005) / math.sqrt(2)
    assert beta["mean_win_rate"] == pytest.approx(0.75)
    assert (beta["ci"]["low"], beta["ci"]["high"]) == pytest.approx((0.75 - half, 1.0))
    # run-specific keys (seed, checkpoint_dir, ...) do not split a group; a hyperparameter does
    assert "seed" not in alpha["config"] and "checkpoint_dir" not in alpha["config"]
    assert alpha["config"]["learning_rate"] == 3e-4 and alpha_lr["config"]["learning_rate"] == 1e-4
    assert len({e["group"] for e in vs_random}) == 4
    assert alpha["games"] == 300

    vs_greedy = rankings["greedy"]  # alpha-lr was evaluated against random only
    assert [(e["agent_id"], e["total_timesteps"]) for e in vs_greedy] == [("beta", 1000), ("alpha", 2000),
                                                                         ("alpha", 1000)]
    assert [e["mean_win_rate"] for e in vs_greedy] == pytest.approx([0.45, 0.3, 0.2])


def test_benchmarks_of_an_environment_without_runs(api_server, seeded):
    body = httpx.get(f"{api_server.url}/api/benchmarks", params={"env": "trainyard/Nothing-v0"}, timeout=10).json()
    assert body == {"env_id": "trainyard/Nothing-v0", "runs": 0, "rankings": []}
    classic = httpx.get(f"{api_server.url}/api/benchmarks", params={"env": "trainyard/Blokus-v0"}, timeout=10).json()
    assert classic["runs"] == 1 and classic["rankings"][0]["entries"][0]["run_ids"] == ["alpha-classic"]
