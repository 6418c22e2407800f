"""A metric declared once shows everywhere: a run logged through the real trainyard_client with a custom
metric (``opponent_score``, declared with a unit) and a custom per-rollout metric (``grad_norm``) and a
run of ``examples/cartpole_dqn.py`` (epsilon) are read back from the real API (``?metrics=``, CSV and JSON
export), then ``web/e2e/metrics.mjs`` checks in headless Chromium that the run page has a chart per metric,
with its unit and description (the per-rollout one in Training diagnostics), and that Compare offers them.
The issue's "visible in the API, in export and as a UI chart" check.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import random
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from trainyard_client import custom, custom_rollout, start_run
from trainyard_runstore.schema import Rollout
from trainyard_runstore.settings import MongoSettings

from tests.support.e2e import require_browser, run_e2e
from tests.support.processes import ApiServer

pytestmark = [pytest.mark.browser, pytest.mark.mongo, pytest.mark.training]

REPO = Path(__file__).resolve().parents[2]
METRIC = custom("opponent_score", unit="points", description="the opponent's final score")
EPISODES = 120
ROLLOUT_METRIC = custom_rollout("grad_norm", unit="norm", description="gradient norm before clipping",
                                title="Gradient norm")
ROLLOUTS = 12  # one per 10 episodes


def learning_curve(rng: random.Random, i: int, start: float, end: float, noise: float) -> float:
    return round(end + (start - end) * math.exp(-i / 40) + rng.gauss(0, noise), 2)


def log_custom_run(mongo_settings, tmp: Path) -> tuple[str, list[float]]:
    """An agent that learns: reward and wins rise, the opponent's score falls (seeded noise)."""
    rng = random.Random(7)
    scores = []
    with start_run("scored_agent", algorithm="PPO", metrics=[METRIC], rollout_metrics=[ROLLOUT_METRIC],
                   mongo=mongo_settings, spill_dir=tmp, flush_interval=0.05) as run:
        timestep = 0
        for i in range(EPISODES):
            steps = round(learning_curve(rng, i, 18, 30, 2))
            timestep += steps
            scores.append(learning_curve(rng, i, 62, 38, 3))
            won = rng.random() < 0.8 - 0.5 * math.exp(-i / 40)
            run.log_episode(learning_curve(rng, i, -1.5, 2.5, 0.6), steps, win=won, timestep=timestep,
                            metrics={"opponent_score": scores[-1]})
            if (i + 1) % (EPISODES // ROLLOUTS) == 0:
                run.log_rollout(Rollout(rollout=1, timestep=timestep, entropy=learning_curve(rng, i, 2, 1, 0.05)),
                                metrics={ROLLOUT_METRIC.name: learning_curve(rng, i, 3, 0.5, 0.1)})
    return run.run_id, scores


@pytest.fixture(scope="module")
def runs(tmp_path_factory, ferretdb):
    require_browser()
    tmp = tmp_path_factory.mktemp("custom-metric")
    # A database of this process's own: the example's fixed run ID would otherwise continue an older run.
    settings = MongoSettings(uri=ferretdb.uri, db_name=f"custom_metric_{os.getpid()}")
    custom_id, scores = log_custom_run(settings, tmp)
    # TMPDIR: the example's write-ahead log (default: the temp folder) would number a repeated run's
    # episodes on from an earlier one of the same run ID.
    env = {**os.environ, "MONGODB_URI": settings.uri, "MONGODB_DB_NAME": settings.db_name, "TMPDIR": str(tmp)}
    out = subprocess.run([sys.executable, str(REPO / "examples" / "cartpole_dqn.py"), "--timesteps", "1500",
                          "--run-id", "cartpole-epsilon"], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    api = ApiServer(settings.uri, settings.db_name, tmp / "api.log").start()
    try:
        yield {"api": api, "tmp": tmp, "custom": custom_id, "scores": scores, "cartpole": "cartpole-epsilon"}
    finally:
        api.stop()


def test_the_custom_metric_is_in_the_api_with_its_unit_and_in_both_exports(runs):
    scores = runs["scores"]
    base = f"{runs['api'].url}/api/training-runs/{runs['custom']}"
    detail = httpx.get(base, params={"metrics": "opponent_score"}).json()
    spec = next(m for m in detail["metric_specs"] if m["name"] == "opponent_score")
    assert (spec["unit"], spec["description"], spec["builtin"]) == ("points", "the opponent's final score", False)
    points = detail["metrics"]["episodes"]
    assert len(points) == EPISODES and set(points[0]) <= {"episode", "count", "opponent_score"}
    assert [p["opponent_score"] for p in points] == pytest.approx(scores)

    rows = list(csv.DictReader(io.StringIO(httpx.get(f"{base}/export").text)))
    assert len(rows) == EPISODES and float(rows[3]["opponent_score"]) == pytest.approx(scores[3])
    exported = httpx.get(f"{base}/export", params={"format": "json"}).json()
    assert [m["unit"] for m in exported["metric_specs"] if m["name"] == "opponent_score"] == ["points"]
    assert exported["episodes"][3]["opponent_score"] == pytest.approx(scores[3])

    cartpole = httpx.get(f"{runs['api'].url}/api/training-runs/{runs['cartpole']}", params={"metrics": "epsilon"})
    epsilons = [p["epsilon"] for p in cartpole.json()["metrics"]["episodes"]]
    assert epsilons and epsilons[0] > epsilons[-1]


def test_each_metric_has_a_chart_with_its_unit_in_chromium(runs, artifacts):
    cartpole = httpx.get(f"{runs['api'].url}/api/training-runs/{runs['cartpole']}").json()
    fixture = {"custom": {"run_id": runs["custom"], "metric": METRIC.name, "unit": METRIC.unit,
                          "description": METRIC.description, "episodes": EPISODES,
                          "rollout_metric": {"name": ROLLOUT_METRIC.name, "unit": ROLLOUT_METRIC.unit,
                                             "title": ROLLOUT_METRIC.title,
                                             "description": ROLLOUT_METRIC.description, "rollouts": ROLLOUTS}},
               "cartpole": {"run_id": runs["cartpole"], "episodes": cartpole["summary"]["episodes"]}}
    (runs["tmp"] / "fixture.json").write_text(json.dumps(fixture))
    run_e2e("metrics.mjs", base_url=runs["api"].url, fixture=runs["tmp"] / "fixture.json",
            shots=artifacts / "web-metrics", timeout=300,
            screenshots=("custom-metric.png", "custom-rollout-metric.png", "cartpole-epsilon.png"), artifacts=artifacts)
