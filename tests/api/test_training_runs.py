"""The history API over real HTTP (uvicorn) and a real FerretDB: the spec's shapes and errors."""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from trainyard_runstore.schema import Checkpoint, Episode, ErrorInfo, RunRecord, RunStatus

pytestmark = pytest.mark.mongo

SPEC_LIST_KEYS = {"id", "run_id", "agent_id", "algorithm", "status", "start_time", "end_time", "metrics"}
SPEC_DETAIL_KEYS = SPEC_LIST_KEYS | {"config", "checkpoint_paths"}


def seed(store, run_id, agent, status=RunStatus.COMPLETED, episodes=10, start=None, algorithm="MaskablePPO",
         win=True):
    store.create_run(RunRecord(run_id=run_id, agent_id=agent, algorithm=algorithm, config={"lr": 3e-4, "seed": 1},
                               start_time=start or datetime.now(UTC)))
    w = store.writer(run_id)
    eps = [Episode(episode=i, total_reward=float(i) / 2, steps=50, win=(i % 2 == 0) if win else None,
                   timestep=i * 50, win_rate=0.5 if win else None) for i in range(1, episodes + 1)]
    if eps:
        w.write_episodes(eps)
        w.add_checkpoint(Checkpoint(episode=episodes, timestep=episodes * 50, path=f"checkpoints/{run_id}/final.zip"))
    if status is not RunStatus.RUNNING:
        store.set_status(run_id, status)


@pytest.fixture
def client(api_server):
    with httpx.Client(base_url=api_server.url, timeout=10) as c:
        yield c


@pytest.fixture
def seeded(store):
    now = datetime.now(UTC)
    seed(store, "run-a1", "ppo_agent", start=now - timedelta(hours=3))
    seed(store, "run-a2", "ppo_agent", RunStatus.FAILED, start=now - timedelta(hours=2))
    seed(store, "run-b1", "dqn_agent", RunStatus.RUNNING, episodes=4, start=now - timedelta(hours=1),
         algorithm="DQN", win=False)
    store.set_status("run-a2", RunStatus.FAILED, error=ErrorInfo(type="RuntimeError", message="boom",
                                                                   traceback=["line 1", "line 2"]))
    return now


def test_list_shape_order_and_total(client, seeded):
    r = client.get("/api/training-runs")
    assert r.status_code == 200
    runs = r.json()
    assert [x["run_id"] for x in runs] == ["run-b1", "run-a2", "run-a1"]  # newest first
    assert r.headers["x-total-count"] == "3"
    for run in runs:
        assert run.keys() >= SPEC_LIST_KEYS
        assert set(run["metrics"]) == {"episodes", "rolling_win_rate"}
        datetime.fromisoformat(run["start_time"])
    a1 = runs[2]
    assert a1["status"] == "completed" and a1["end_time"] is not None and a1["duration_seconds"] >= 0
    assert a1["metrics"]["episodes"][0] | {"episode": 10, "total_reward": 5.0, "steps": 50, "win": True} == \
        a1["metrics"]["episodes"][0]
    assert a1["summary"]["episodes"] == 10 and a1["summary"]["max_reward"] == 5.0
    assert runs[0]["end_time"] is None and runs[0]["duration_seconds"] is None


@pytest.mark.parametrize(("params", "expected"), [
    ({"agent_id": "ppo_agent"}, ["run-a2", "run-a1"]),
    ({"status": "failed"}, ["run-a2"]),
    ({"agent_id": "ppo_agent", "status": "completed"}, ["run-a1"]),
    ({"algorithm": "DQN"}, ["run-b1"]),
    ({"q": "A1"}, ["run-a1"]),
    ({"q": "dqn"}, ["run-b1"]),
    ({"limit": 1}, ["run-b1"]),
    ({"limit": 2, "offset": 1}, ["run-a2", "run-a1"]),
    ({"sort": "start_time"}, ["run-a1", "run-a2", "run-b1"]),
    ({"sort": "-episodes"}, ["run-a2", "run-a1", "run-b1"]),
])
def test_list_filters_and_sorting(client, seeded, params, expected):
    assert [x["run_id"] for x in client.get("/api/training-runs", params=params).json()] == expected


def test_list_date_range(client, seeded):
    after = (seeded - timedelta(hours=2, minutes=30)).isoformat()
    before = (seeded - timedelta(minutes=30)).isoformat()
    runs = client.get("/api/training-runs", params={"started_after": after, "started_before": before}).json()
    assert [x["run_id"] for x in runs] == ["run-b1", "run-a2"]


@pytest.mark.parametrize(("params", "field"), [
    ({"limit": 0}, "limit"), ({"limit": 10**9}, "limit"), ({"status": "paused"}, "status"),
    ({"sort": "nope"}, "sort"), ({"started_after": "yesterday"}, "started_after"),
])
def test_bad_parameters_are_422_with_a_readable_message(client, seeded, params, field):
    r = client.get("/api/training-runs", params=params)
    assert r.status_code == 422
    assert r.json()["detail"].startswith(f"{field}:")


def test_agents_list(client, seeded):
    assert client.get("/api/training-runs/agents/list").json() == {"agent_ids": ["dqn_agent", "ppo_agent"]}


def test_detail_shape_matches_the_spec(client, seeded):
    r = client.get("/api/training-runs/run-a2")
    assert r.status_code == 200
    d = r.json()
    assert d.keys() >= SPEC_DETAIL_KEYS
    assert d["config"] == {"lr": 3e-4, "seed": 1}
    assert d["metrics"]["episodes"][0] == {"episode": 1, "total_reward": 0.5, "steps": 50, "win": False,
                                           "epsilon": None, "timestep": 50, "time": None,
                                           "total_reward_min": None, "total_reward_max": None, "count": None}
    first = d["metrics"]["rolling_win_rate"][0]
    assert first["episode"] == 1 and first["win_rate"] == 0.5
    assert len(d["metrics"]["episodes"]) == 10 and d["metrics"]["downsampled"] is False
    assert d["checkpoint_paths"] == [{"episode": 10, "timestep": 500, "path": "checkpoints/run-a2/final.zip",
                                      "time": None, "win_rate": None, "pruned": False, "pruned_at": None}]
    assert d["metadata"]["error"]["message"] == "boom" and d["status"] == "failed"
    assert d["summary"]["episodes"] == 10 and d["summary"]["final_win_rate"] == 0.5


def test_detail_since_episode_and_zoom(client, seeded):
    d = client.get("/api/training-runs/run-a1", params={"since_episode": 7}).json()
    assert [e["episode"] for e in d["metrics"]["episodes"]] == [8, 9, 10]
    d = client.get("/api/training-runs/run-a1", params={"from_episode": 3, "to_episode": 5}).json()
    assert [e["episode"] for e in d["metrics"]["episodes"]] == [3, 4, 5]
    assert client.get("/api/training-runs/run-a1", params={"from_episode": 5, "to_episode": 3}).status_code == 422


def test_detail_downsampling_keeps_spikes(client, store):
    store.create_run(RunRecord(run_id="long", agent_id="a"))
    eps = [Episode(episode=i, total_reward=1.0, steps=1, win_rate=0.25) for i in range(1, 12_001)]
    eps[7776] = Episode(episode=7777, total_reward=-500.0, steps=1, win_rate=0.25)
    store.writer("long").write_episodes(eps)
    d = client.get("/api/training-runs/long", params={"max_points": 100}).json()
    m = d["metrics"]
    assert m["downsampled"] is True and len(m["episodes"]) <= 100 and m["resolution"] >= 120
    assert min(p["total_reward_min"] for p in m["episodes"]) == -500.0
    assert sum(p["count"] for p in m["episodes"]) == 12_000
    default = client.get("/api/training-runs/long").json()["metrics"]
    assert default["downsampled"] is True and len(default["episodes"]) <= 2000


def test_unknown_run_is_404(client, seeded):
    for path in ("/api/training-runs/nope", "/api/training-runs/nope/export", "/api/training-runs/nope/stream"):
        r = client.get(path)
        assert r.status_code == 404 and "nope" in r.json()["detail"]


def test_export_csv_and_json_are_lossless(client, store):
    store.create_run(RunRecord(run_id="exp", agent_id="a"))
    eps = [Episode(episode=i, total_reward=i / 3, steps=i, win=i % 3 == 0, timestep=i * 7, win_rate=0.1 * (i % 10))
           for i in range(1, 2501)]
    store.writer("exp").write_episodes(eps)
    r = client.get("/api/training-runs/exp/export", params={"format": "csv"})
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 2500
    assert [float(x["total_reward"]) for x in rows] == [e.total_reward for e in eps]  # exact floats
    assert rows[2]["win"] == "true" and rows[0]["win"] == "false"
    body = json.loads(client.get("/api/training-runs/exp/export", params={"format": "json"}).text)
    assert body["run_id"] == "exp" and len(body["episodes"]) == 2500
    assert body["episodes"][-1]["total_reward"] == eps[-1].total_reward


def test_stream_sends_new_episodes_then_ends(client, api_server, store):
    seed(store, "live", "a", RunStatus.RUNNING, episodes=3)
    events: list[tuple[str, dict]] = []
    with httpx.stream("GET", f"{api_server.url}/api/training-runs/live/stream", params={"since_episode": 3},
                      timeout=30) as r:
        event = None
        pushed = False
        for line in r.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event:
                events.append((event, json.loads(line.split(":", 1)[1])))
                if event == "status" and not pushed:
                    store.writer("live").write_episodes([Episode(episode=4, total_reward=9.0, steps=1)])
                    store.set_status("live", RunStatus.COMPLETED)
                    pushed = True
                if event == "end":
                    break
    kinds = [k for k, _ in events]
    assert kinds[0] == "status" and kinds[-1] == "end"
    new = [e for k, d in events if k == "episodes" for e in d["episodes"]]
    assert [e["episode"] for e in new] == [4]  # only what is new, never the history
    assert any(k == "status" and d["status"] == "completed" for k, d in events)


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/docs", "/openapi.json", "/metrics"])
def test_service_endpoints(client, seeded, path):
    assert client.get(path).status_code == 200


def test_database_outage_answers_503_quickly_and_recovers(own_ferretdb, tmp_path):
    from tests.support.processes import ApiServer

    api = ApiServer(own_ferretdb.uri, "outage", tmp_path / "api.log").start()
    try:
        with httpx.Client(base_url=api.url, timeout=10) as c:
            assert c.get("/api/training-runs").status_code == 200
            own_ferretdb.stop()
            for path in ("/api/training-runs", "/api/training-runs/x", "/api/training-runs/agents/list", "/readyz"):
                t0 = time.monotonic()
                r = c.get(path)
                assert r.status_code == 503, path
                assert "MongoDB is unreachable" in r.json()["detail"]
                assert time.monotonic() - t0 < 3.0, f"{path} hung while the database was down"
            own_ferretdb.start()
            deadline = time.monotonic() + 15
            while c.get("/api/training-runs").status_code != 200:
                assert time.monotonic() < deadline, "the API did not recover without a restart"
                time.sleep(0.3)
            assert "trainyard_api_mongodb_errors_total" in c.get("/metrics").text
    finally:
        api.stop()


def test_a_scripts_own_config_and_metadata_come_back_exactly_as_stored(client, store):
    # A script's configuration (an SB3 schedule name where the trainer keeps a number) and metadata keys
    # of its own: typed in the store, yet the API sends exactly what was stored, no key added or dropped.
    config = {"env_id": "CartPole-v1", "seed": 7, "learning_rate": "linear_0.001", "exploration_fraction": 0.2,
              "policy_kwargs": {"net_arch": [64, 64]}}
    store.create_run(RunRecord(run_id="script-1", agent_id="dqn_agent", algorithm="DQN", config=config))
    store.set_metadata("script-1", host="lab-3", evaluation_status="completed", tensorboard_dir=None)
    store.set_status("script-1", RunStatus.FAILED, error=ErrorInfo(type="ValueError", message="diverged"))
    detail = client.get("/api/training-runs/script-1").json()
    assert detail["config"] == config
    assert detail["metadata"] == {"host": "lab-3", "evaluation_status": "completed", "tensorboard_dir": None,
                                  "error": {"type": "ValueError", "message": "diverged", "traceback": [],
                                            "log_lines": [], "source": "trainer"}}
    listed = client.get("/api/training-runs", params={"q": "script-1"}).json()
    assert [r["metadata"] for r in listed] == [detail["metadata"]]
    run = store.get_run("script-1")  # and typed where the store declares the field
    assert run.config.seed == 7 and run.config.learning_rate is None and run.config.model_extra["learning_rate"]
    assert run.metadata.error is not None and run.metadata.error.type == "ValueError"
    assert run.metadata.evaluation_status == "completed" and run.metadata.model_extra == {"host": "lab-3"}
