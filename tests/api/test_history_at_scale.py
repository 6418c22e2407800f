"""History at scale over real HTTP and FerretDB: change tokens, compression, columnar history,
custom metrics, exact downsampling and honest paging (issue 13)."""

from __future__ import annotations

import csv
import io

import httpx
import pytest
from trainyard_runstore.schema import Episode, RunRecord, RunStatus

pytestmark = pytest.mark.mongo


@pytest.fixture
def client(api_server):
    with httpx.Client(base_url=api_server.url, timeout=30) as c:
        yield c


def episodes(first, last, **extra):
    return [Episode(episode=i, total_reward=float(i % 11), steps=10, win=i % 2 == 0, timestep=i * 10,
                    win_rate=0.5, **extra) for i in range(first, last + 1)]


def test_list_and_detail_answer_304_until_something_changes(client, store):
    store.create_run(RunRecord(run_id="a", agent_id="x"))
    store.writer("a").write_episodes(episodes(1, 5))
    first = client.get("/api/training-runs")
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "no-cache"
    again = client.get("/api/training-runs", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    other_query = client.get("/api/training-runs", params={"limit": 10}, headers={"If-None-Match": etag})
    assert other_query.status_code == 200  # each query has its own tag
    store.create_run(RunRecord(run_id="b", agent_id="x"))
    changed = client.get("/api/training-runs", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and [r["run_id"] for r in changed.json()] == ["b", "a"]

    detail = client.get("/api/training-runs/a")
    assert client.get("/api/training-runs/a", headers={"If-None-Match": detail.headers["etag"]}).status_code == 304
    store.set_status("a", RunStatus.COMPLETED)
    assert client.get("/api/training-runs/a", headers={"If-None-Match": detail.headers["etag"]}).status_code == 200


def test_large_answers_are_gzip_compressed(client, store):
    store.create_run(RunRecord(run_id="g", agent_id="x"))
    store.writer("g").write_episodes(episodes(1, 3000))
    for path in ("/api/training-runs/g", "/api/training-runs/g/history", "/api/training-runs/g/export"):
        r = client.get(path, headers={"Accept-Encoding": "gzip"})
        assert r.status_code == 200 and r.headers.get("content-encoding") == "gzip", path
        assert int(r.headers.get("content-length", 0) or 0) < len(r.content) or "content-length" not in r.headers


def test_the_history_is_strict_json_even_with_a_diverged_reward(client, store):
    """JSON has no NaN or infinity: a run whose reward diverged still downloads as standard JSON (the
    value comes as null), with every episode and its time."""
    import json
    import math
    from datetime import UTC, datetime

    at = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    store.create_run(RunRecord(run_id="nan", agent_id="x"))
    eps = episodes(1, 5, time=at)
    eps[2] = eps[2].model_copy(update={"total_reward": math.nan})
    eps[3] = eps[3].model_copy(update={"total_reward": math.inf})
    store.writer("nan").write_episodes(eps)

    def strict(token):
        raise AssertionError(f"not JSON: {token}")

    def get(path, **params):
        r = client.get(f"/api/training-runs/nan{path}", params=params)
        assert r.status_code == 200, r.text
        return json.loads(r.text, parse_constant=strict)

    chunk = get("/history")["chunks"][0]
    assert chunk["episode"] == [1, 2, 3, 4, 5] and chunk["total_reward"] == [1.0, 2.0, None, None, 5.0]
    assert {datetime.fromisoformat(t) for t in chunk["time"]} == {at}
    assert [e.get("total_reward") for e in get("/export", format="json")["episodes"]] == [1.0, 2.0, None, None, 5.0]
    detail = get("")
    assert [e["total_reward"] for e in detail["metrics"]["episodes"]] == [1.0, 2.0, None, None, 5.0]
    assert detail["summary"]["mean_reward"] == pytest.approx(8 / 3)  # over the rewards that are numbers


def test_a_custom_metric_is_stored_and_shown_by_detail_history_and_export(client, store):
    store.create_run(RunRecord(run_id="c", agent_id="x"))
    store.writer("c").write_episodes([ep.model_copy(update={"metrics": {"opponent_score": float(ep.episode * 2)}})
                                      for ep in episodes(1, 30)])
    detail = client.get("/api/training-runs/c").json()
    assert detail["metrics"]["episodes"][4]["opponent_score"] == 10.0
    spec = next(m for m in detail["metric_specs"] if m["name"] == "opponent_score")
    assert spec["builtin"] is False and spec["aggregation"] == "mean"

    history = client.get("/api/training-runs/c/history", params={"metrics": "opponent_score,win"}).json()
    assert history["columns"] == ["episode", "opponent_score", "win"]
    chunk = history["chunks"][0]
    assert set(chunk) == {"episode", "opponent_score", "win"}
    assert chunk["episode"][:3] == [1, 2, 3] and chunk["opponent_score"][:3] == [2.0, 4.0, 6.0]
    assert chunk["win"][:2] == [False, True]

    rows = list(csv.DictReader(io.StringIO(client.get("/api/training-runs/c/export").text)))
    assert rows[29]["opponent_score"] == "60.0" and rows[29]["total_reward"] == "8.0"
    only = client.get("/api/training-runs/c/export", params={"metrics": "total_reward"}).text.splitlines()
    assert only[0] == "episode,total_reward" and only[1] == "1,1.0"

    narrowed = client.get("/api/training-runs/c", params={"metrics": "opponent_score"}).json()["metrics"]
    assert set(narrowed["episodes"][0]) == {"episode", "opponent_score"} and narrowed["rolling_win_rate"] == []
    bad = client.get("/api/training-runs/c/history", params={"metrics": "total_reward,nope"})
    assert bad.status_code == 422 and "nope" in bad.json()["detail"] and "opponent_score" in bad.json()["detail"]


def test_downsampled_detail_has_exactly_the_points_asked_and_says_so(client, store):
    store.create_run(RunRecord(run_id="d", agent_id="x"))
    eps = episodes(1, 3001)
    eps[1234] = eps[1234].model_copy(update={"total_reward": 500.0})
    store.writer("d").import_episodes(eps)
    r = client.get("/api/training-runs/d", params={"max_points": 1000})
    m = r.json()["metrics"]
    assert len(m["episodes"]) == 1000 and m["downsampled"] is True
    assert r.headers["x-downsampled"] == "true" and r.headers["x-resolution"] == "4"
    assert sum(p["count"] for p in m["episodes"]) == 3001
    assert max(p["total_reward_max"] for p in m["episodes"]) == 500.0
    raw = client.get("/api/training-runs/d", params={"max_points": 5000})
    assert raw.headers["x-downsampled"] == "false" and len(raw.json()["metrics"]["episodes"]) == 3001


def test_unsampled_reads_are_paged_with_a_cursor(client, store):
    store.create_run(RunRecord(run_id="p", agent_id="x"))
    store.writer("p").import_episodes(episodes(1, 12_500))
    page = client.get("/api/training-runs/p", params={"since_episode": 0}).json()["metrics"]
    assert len(page["episodes"]) == 10_000 and page["next_episode"] == 10_001
    rest = client.get("/api/training-runs/p", params={"since_episode": page["next_episode"] - 1}).json()["metrics"]
    assert [e["episode"] for e in rest["episodes"]] == list(range(10_001, 12_501)) and rest["next_episode"] is None
