"""Fault injection against real processes and a real FerretDB: SIGKILLs at random moments with and
without a database outage, a 60 s outage, a killed trainer, a full checkpoint volume, and a fuzz of the
API. Each test appends its figures to ``.artifacts/faults.json`` (kills, outages, episodes checked, lost,
duplicated, 5xx answers); ``TRAINYARD_FAULT_SEED`` replays a run of the random kills.

"Completed" means acknowledged: ``log_episode`` returned (the stand-in producer then writes the episode's
unique reward to its ack file). Every acknowledged episode must be stored exactly once, and the stored
numbers must run 1..N without a gap.
"""

from __future__ import annotations

import json
import os
import random
import resource
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from trainyard_runstore.settings import MongoSettings
from trainyard_runstore.sync_store import RunStore
from trainyard_trainer.cli import main as cli_main

from tests.support.processes import ApiServer, child_env, trainer

pytestmark = [pytest.mark.mongo, pytest.mark.faults]

REPO = Path(__file__).resolve().parents[2]
KILLS = 24
SEED = int(os.environ.get("TRAINYARD_FAULT_SEED", "1010"))


def _figures(artifacts: Path, name: str, **values) -> None:
    path = artifacts / "faults.json"
    try:
        data = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):  # first test of the session, or a torn earlier write
        data = {}
    data[name] = values
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
    os.replace(tmp, path)


def _wait(cond, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def _acked(path: Path) -> list[int]:
    if not path.exists():
        return []
    # a kill can cut the last ack line short: that episode was logged but the ack never finished
    return [int(x) for x in path.read_text().split("\n")[:-1] if x]


def _producer(ck: Path, run_id: str, tag: int, episodes: int, ack: Path, env: dict, log: Path,
              sleep: float = 0.002) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.support.episode_producer_standin", str(ck), run_id, str(tag), str(episodes),
         str(ack), str(sleep)],
        env=env, cwd=REPO, stdout=open(log, "ab"), stderr=subprocess.STDOUT, start_new_session=True)  # noqa: SIM115


def _kill(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)


def _check(store: RunStore, run_id: str, acked: list[int]) -> dict:
    stored = store.episodes(run_id)
    numbers = [e.episode for e in stored]
    rewards = Counter(int(e.total_reward) for e in stored)
    lost = sorted(set(acked) - set(rewards))
    duplicated = sorted(r for r, n in rewards.items() if n > 1)
    assert numbers == list(range(1, len(numbers) + 1)), "a gap or a repeat in the episode numbers"
    assert not lost, f"{len(lost)} acknowledged episodes were lost, e.g. {lost[:5]}"
    assert not duplicated, f"{len(duplicated)} episodes stored twice, e.g. {duplicated[:5]}"
    return {"acked": len(acked), "stored": len(numbers), "lost": len(lost), "duplicated": len(duplicated)}


def test_random_sigkills_with_and_without_an_outage_lose_and_double_nothing(own_ferretdb, tmp_path, artifacts,
                                                                           monkeypatch):
    rng = random.Random(SEED)
    settings = MongoSettings(uri=own_ferretdb.uri, db_name="kills")
    env = child_env(settings.uri, settings.db_name, MONGODB_TIMEOUT_MS="300")
    ck = tmp_path / "ck"
    runs = {"restarted": tmp_path / "ack-restarted", "swept": tmp_path / "ack-swept"}
    db_up, outages, kills_in_outage = True, 0, 0
    for k in range(KILLS):
        outage = rng.random() < 0.5
        if outage and db_up:
            own_ferretdb.stop()
            db_up, outages = False, outages + 1
        elif not outage and not db_up:
            own_ferretdb.start()
            db_up = True
        kills_in_outage += outage
        run_id = "restarted" if k % 2 == 0 else "swept"
        ack = runs[run_id]
        before = len(_acked(ack))
        proc = _producer(ck, run_id, k + 1, 1_000_000, ack, env, tmp_path / f"producer-{k}.log")
        _wait(lambda ack=ack, before=before, proc=proc: len(_acked(ack)) > before or proc.poll() is not None, 90,
              "the producer's first episodes")
        assert proc.poll() is None, (tmp_path / f"producer-{k}.log").read_text()[-2000:]
        time.sleep(rng.uniform(0.0, 0.8))  # a random moment: mid-batch, mid-flush, mid-commit...
        _kill(proc)
    if not db_up:
        own_ferretdb.start()
    # "restarted": the next attempt writes what the killed ones left, then completes
    last = _producer(ck, "restarted", 99, 300, runs["restarted"], env, tmp_path / "producer-final.log")
    assert last.wait(180) == 0, (tmp_path / "producer-final.log").read_text()[-3000:]
    # "swept": nobody restarts it; the sweep writes its log and gives it the Lost verdict
    monkeypatch.setenv("MONGODB_URI", settings.uri)
    monkeypatch.setenv("MONGODB_DB_NAME", settings.db_name)
    assert cli_main(["sweep", "--checkpoint-dir", str(ck), "--timeout", "0"]) == 0
    store = RunStore(settings)
    restarted = _check(store, "restarted", _acked(runs["restarted"]))
    swept = _check(store, "swept", _acked(runs["swept"]))
    assert store.get_run("restarted").status == "completed"
    swept_run = store.get_run("swept")
    assert swept_run.status == "failed" and swept_run.metadata.error.type == "Lost"
    assert len(swept_run.metadata.attempts) >= 1
    _figures(artifacts, "random_sigkills", seed=SEED, kills=KILLS, kills_during_outage=kills_in_outage,
             outages=outages, episodes_checked=restarted["stored"] + swept["stored"],
             episodes_acknowledged=restarted["acked"] + swept["acked"],
             lost=restarted["lost"] + swept["lost"], duplicated=restarted["duplicated"] + swept["duplicated"])


def test_a_60_second_outage_mid_run_loses_nothing_and_does_not_end_the_run(own_ferretdb, tmp_path, artifacts):
    settings = MongoSettings(uri=own_ferretdb.uri, db_name="outage60")
    env = child_env(settings.uri, settings.db_name, MONGODB_TIMEOUT_MS="300")
    api = ApiServer(settings.uri, settings.db_name, tmp_path / "api.log", TRAINYARD_API_LOST_TIMEOUT_SECONDS="5",
                    TRAINYARD_API_WATCH_INTERVAL_SECONDS="0.5").start()
    ack = tmp_path / "ack"
    try:
        proc = _producer(tmp_path / "ck", "long", 1, 13_000, ack, env, tmp_path / "producer.log", sleep=0.005)
        _wait(lambda: len(_acked(ack)) > 200, 120, "the first episodes")
        own_ferretdb.stop()
        time.sleep(60)
        assert proc.poll() is None, "the producer ended during the outage"
        own_ferretdb.start()
        assert proc.wait(300) == 0, (tmp_path / "producer.log").read_text()[-3000:]
    finally:
        api.stop()
    store = RunStore(settings)
    figures = _check(store, "long", _acked(ack))
    assert figures["acked"] == figures["stored"] == 13_000
    run = store.get_run("long")
    assert run.status == "completed" and run.metadata.error is None
    _figures(artifacts, "outage_60s", outage_seconds=60, episodes_checked=figures["stored"], lost=figures["lost"],
             duplicated=figures["duplicated"], revived_after_lost_verdict=run.metadata.revived_at is not None)


def test_a_trainer_killed_outside_the_operator_is_lost_then_resumes_exactly_once(mongo_settings, tmp_path,
                                                                                 artifacts):
    api = ApiServer(mongo_settings.uri, mongo_settings.db_name, tmp_path / "api.log",
                    TRAINYARD_API_LOST_TIMEOUT_SECONDS="5", TRAINYARD_API_WATCH_INTERVAL_SECONDS="0.5").start()
    store = RunStore(mongo_settings)
    args = ["--mode", "smoke", "--total-timesteps", "1536", "--run-id", "killed", "--checkpoint-dir",
            str(tmp_path / "ck"), "--checkpoint-every", "512", "--eval-games", "0"]
    try:
        proc = trainer(args, mongo_settings.uri, mongo_settings.db_name, tmp_path / "train-1.log",
                       TRAINER_HEARTBEAT_INTERVAL="1")
        _wait(lambda: (run := store.get_run("killed")) is not None and run.summary.episodes >= 3, 240,
              "the first episodes")
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)
        killed_at = time.monotonic()
        # the timeout (5 s) plus two watch intervals, with room for a loaded machine
        _wait(lambda: store.get_run("killed").status == "failed", 5 + 30, "the Lost verdict")
        lost_after = time.monotonic() - killed_at
        err = store.get_run("killed").metadata.error
        assert err.type == "Lost" and err.source == "api" and err.last_episode >= 3
        body = httpx.get(f"{api.url}/api/training-runs/killed", timeout=20).json()
        assert body["status"] == "failed" and body["metadata"]["error"]["type"] == "Lost"
        proc = trainer(args, mongo_settings.uri, mongo_settings.db_name, tmp_path / "train-2.log")
        assert proc.wait(300) == 0, (tmp_path / "train-2.log").read_text()[-3000:]
    finally:
        api.stop()
    run = store.get_run("killed")
    assert run.status == "completed" and run.metadata.error is None
    numbers = [e.episode for e in store.episodes("killed")]
    assert numbers == list(range(1, len(numbers) + 1))
    assert [a.attempt for a in run.metadata.attempts] == [1, 2]
    _figures(artifacts, "killed_trainer", lost_verdict_seconds_after_kill=round(lost_after, 1),
             lost_timeout_seconds=5, episodes_checked=len(numbers))


def _small_files_only():
    # A "full volume" without mounting anything: files this process writes may not pass 300 kB. SIGXFSZ
    # would kill the process; ignored, the write fails with EFBIG like a write to a full disk fails.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (300_000, 300_000))
    os.setsid()


def test_a_full_checkpoint_volume_ends_the_run_with_a_clear_reason(mongo_settings, tmp_path, artifacts):
    from tests.support.processes import VENV_BIN

    log = tmp_path / "train.log"
    proc = subprocess.Popen(
        [str(VENV_BIN / "trainyard-train"), "--mode", "smoke", "--run-id", "full", "--checkpoint-dir",
         str(tmp_path / "ck"), "--checkpoint-every", "512", "--eval-games", "0"],
        env=child_env(mongo_settings.uri, mongo_settings.db_name), stdout=open(log, "wb"),  # noqa: SIM115
        stderr=subprocess.STDOUT, preexec_fn=_small_files_only)
    assert proc.wait(300) == 1, log.read_text()[-3000:]
    run = RunStore(mongo_settings).get_run("full")
    err = run.metadata.error
    assert run.status == "failed" and err.reason == "VolumeFull", err
    assert err.message.startswith("the checkpoint volume is full")
    _figures(artifacts, "full_volume", reason=err.reason, message=err.message[:200])


FUZZ_EXAMPLES = 25  # per operation: bounded so the suite stays fast


def test_fuzzing_the_openapi_document_never_gets_a_5xx(api_server, store, artifacts):
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode
    from trainyard_runstore.schema import Episode, RunRecord, RunStatus, utcnow

    store.create_run(RunRecord(run_id="fuzz", agent_id="a"))
    store.writer("fuzz").write_episodes([Episode(episode=i, total_reward=float(i), steps=1) for i in range(1, 50)])
    store.set_status_at("fuzz", RunStatus.COMPLETED, at=utcnow(), attempt=None)
    schema = schemathesis.openapi.from_path(REPO / "api" / "openapi.json")
    calls, server_errors, skipped = 0, [], []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path.endswith("/stream"):
            continue  # an endless event stream; its parameters are covered by the detail endpoint's
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None, derandomize=True,
                      suppress_health_check=list(HealthCheck))
            def probe(case):
                nonlocal calls
                response = case.call(base_url=api_server.url, timeout=30)
                calls += 1
                if response.status_code >= 500:
                    server_errors.append((case.method, case.formatted_path, case.query, response.status_code,
                                          response.text[:200]))

            try:
                probe()
            except Unsatisfiable:
                skipped.append((operation.label, mode.value))  # nothing to make invalid (no parameters)
    _figures(artifacts, "fuzz", calls=calls, server_errors=len(server_errors), examples_per_operation=FUZZ_EXAMPLES)
    assert calls > 100
    assert not server_errors, server_errors[:5]
