"""The API under bad input and a failing database: 422 for every out-of-range parameter, 503 only when
MongoDB cannot be reached, 500 with a request id otherwise, the up gauge from real round trips, and the
Lost verdict for runs that stopped sending heartbeats."""

from __future__ import annotations

import re
import time
import urllib.parse
from datetime import timedelta

import httpx
import pytest
from trainyard_runstore import layout
from trainyard_runstore.schema import RunRecord, utcnow
from trainyard_runstore.settings import MongoSettings
from trainyard_runstore.sync_store import RunStore

from tests.support.processes import ApiServer

pytestmark = pytest.mark.mongo

# Shapes that try to smuggle a query operator, a regex or a JS expression through a parameter, and sizes
# past anything reasonable. Each must be refused (4xx) or answered as plain data (200/404), never 5xx.
HOSTILE = ['{"$ne": null}', '{"$gt": ""}', "$where", "this.status == 'running'", ".*", "^(a+)+$", "[", "\\",
           "a\x00b", "%00", "../../etc/passwd", "' || '1'=='1", "{$regex: /.*/}", "😀" * 50]
HUGE_NUMBERS = [str(2**63), str(2**63 + 1), str(2**64), "1e309", "-1", "9" * 400, "NaN", "Infinity"]


def _metric(url: str, name: str) -> float | None:
    text = httpx.get(f"{url}/metrics", timeout=10).text
    m = re.search(rf"^{name} ([0-9.e+-]+)$", text, re.M)
    return float(m.group(1)) if m else None


@pytest.fixture
def seeded(store):
    store.create_run(RunRecord(run_id="r1", agent_id="a"))
    return store


def test_out_of_range_numbers_answer_422(api_server, seeded):
    with httpx.Client(base_url=api_server.url, timeout=20) as c:
        for value in HUGE_NUMBERS:
            for path, name in [("/api/training-runs", "offset"), ("/api/training-runs", "limit"),
                               ("/api/training-runs/r1", "since_episode"), ("/api/training-runs/r1", "from_episode"),
                               ("/api/training-runs/r1", "max_points"),
                               ("/api/training-runs/r1/rollouts", "from_rollout")]:
                r = c.get(path, params={name: value})
                assert r.status_code == 422, (path, name, value, r.status_code, r.text[:300])
                assert name in r.json()["detail"]
        r = c.get("/api/training-runs/r1/games/" + str(2**63))
        assert r.status_code == 422


def test_hostile_and_huge_parameters_never_answer_5xx(api_server, seeded):
    with httpx.Client(base_url=api_server.url, timeout=20) as c:
        answers = []
        for value in HOSTILE:
            for params in ({"agent_id": value}, {"algorithm": value}, {"q": value}, {"status": value},
                           {"sort": value}, {"started_after": value}):
                answers.append(c.get("/api/training-runs", params=params).status_code)
            answers.append(c.get("/api/training-runs/" + urllib.parse.quote(value, safe="")).status_code)
        for params in ({"q": "x" * 60_000}, {"agent_id": "y" * 5000}):
            answers.append(c.get("/api/training-runs", params=params).status_code)
        assert answers and all(code < 500 for code in answers), answers
        # an operator-shaped agent id is a plain string: it matches no run instead of every run
        assert c.get("/api/training-runs", params={"agent_id": '{"$ne": null}'}).json() == []


def test_a_refused_query_is_500_with_a_request_id_not_503(ferretdb, tmp_path):
    # FerretDB refuses database names past 63 characters: every query fails, the server is reachable.
    api = ApiServer(ferretdb.uri, "d" * 80, tmp_path / "api.log").start()
    try:
        r = httpx.get(f"{api.url}/api/training-runs", timeout=20)
        assert r.status_code == 500, r.text
        request_id = r.json()["request_id"]
        assert r.headers["X-Request-Id"] == request_id
        deadline = time.monotonic() + 10
        while request_id not in (tmp_path / "api.log").read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert request_id in (tmp_path / "api.log").read_text()  # the log line a person looks for
    finally:
        api.stop()


def test_up_gauge_follows_real_round_trips_only(own_ferretdb, tmp_path):
    api = ApiServer(own_ferretdb.uri, "up", tmp_path / "api.log", TRAINYARD_API_WATCH_INTERVAL_SECONDS="0.3").start()
    try:
        assert _metric(api.url, "trainyard_api_mongodb_up") == 1.0
        own_ferretdb.stop()
        deadline = time.monotonic() + 30
        while _metric(api.url, "trainyard_api_mongodb_up") != 0.0 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _metric(api.url, "trainyard_api_mongodb_up") == 0.0
        for _ in range(3):  # answers that never reach the database do not claim it is up
            assert httpx.get(f"{api.url}/api/training-runs", params={"limit": 0}, timeout=10).status_code == 422
        assert _metric(api.url, "trainyard_api_mongodb_up") == 0.0
        assert httpx.get(f"{api.url}/api/training-runs", timeout=30).status_code == 503
        own_ferretdb.start()
        deadline = time.monotonic() + 30
        while _metric(api.url, "trainyard_api_mongodb_up") != 1.0 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _metric(api.url, "trainyard_api_mongodb_up") == 1.0
    finally:
        api.stop()


def test_api_gives_a_silent_run_the_lost_verdict(mongo_settings: MongoSettings, tmp_path):
    store = RunStore(mongo_settings)
    old = utcnow() - timedelta(minutes=10)
    store.create_run(RunRecord(run_id="silent", agent_id="a", start_time=old))
    store.claim_run("silent")
    store.heartbeat("silent", 1, episode=7)
    store.home("silent").update_one(layout.HOME_KEY, {"$set": {"heartbeat.time": old}})  # 10 min ago
    store.create_run(RunRecord(run_id="alive", agent_id="a", start_time=old))
    store.claim_run("alive")
    store.heartbeat("alive", 1, episode=3)
    api = ApiServer(mongo_settings.uri, mongo_settings.db_name, tmp_path / "api.log",
                    TRAINYARD_API_WATCH_INTERVAL_SECONDS="0.3", TRAINYARD_API_LOST_TIMEOUT_SECONDS="60").start()
    try:
        deadline = time.monotonic() + 30
        while store.get_run("silent").status == "running" and time.monotonic() < deadline:
            time.sleep(0.2)
        body = httpx.get(f"{api.url}/api/training-runs/silent", timeout=20).json()
        assert body["status"] == "failed"
        err = body["metadata"]["error"]
        assert err["type"] == "Lost" and err["source"] == "api" and err["last_episode"] == 7
        assert httpx.get(f"{api.url}/api/training-runs/alive", timeout=20).json()["status"] == "running"
    finally:
        api.stop()
