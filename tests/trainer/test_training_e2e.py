"""The real trainer CLI end to end: smoke run, SIGTERM, crash, bad config, database outage."""

from __future__ import annotations

import contextlib
import re
import signal
import time
import urllib.request

import httpx
import pytest
from trainyard_runstore.settings import MongoSettings
from trainyard_runstore.sync_store import RunStore

from tests.support.ports import free_port
from tests.support.processes import ApiServer, trainer

pytestmark = [pytest.mark.training, pytest.mark.mongo]


def scrape(port: int) -> dict[str, float]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
    out = {}
    for line in text.splitlines():
        m = re.match(r'^(trainyard_trainer_\w+)\{[^}]*\} ([0-9.e+-]+)$', line)
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


def wait_for(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def logged_episodes(log_text: str) -> int:
    return int(re.search(r"episodes logged (\d+)", log_text).group(1))


def test_smoke_run_completes_with_episodes_checkpoints_and_metrics(mongo_settings, tmp_path):
    port = free_port()
    log = tmp_path / "train.log"
    (tmp_path / "run.yaml").write_text("retention: {keep_last: 1, keep_best: false}\n")
    proc = trainer(["--mode", "smoke", "--run-id", "smoke-1", "--agent-id", "smoke_agent", "--checkpoint-dir",
                    str(tmp_path / "ck"), "--metrics-port", str(port), "--checkpoint-every", "512",
                    "--config", str(tmp_path / "run.yaml")], mongo_settings.uri, mongo_settings.db_name, log)
    samples = []
    while proc.poll() is None:
        with contextlib.suppress(OSError):
            samples.append(scrape(port))
        time.sleep(0.5)
    text = log.read_text()
    assert proc.returncode == 0, text[-3000:]
    timesteps = [s["trainyard_trainer_timesteps_total"] for s in samples if "trainyard_trainer_timesteps_total" in s]
    episodes = [s["trainyard_trainer_episodes_total"] for s in samples if "trainyard_trainer_episodes_total" in s]
    assert len(set(timesteps)) >= 3 and timesteps == sorted(timesteps), "timesteps counter did not rise"
    assert episodes[-1] > episodes[0]
    # the loss gauge appears once the first PPO update ran (a word in the log proves nothing)
    assert any("trainyard_trainer_ppo_loss" in s for s in samples), samples[-1:]
    # per-episode gauges come from the metric declarations (trainyard_runstore.metrics)
    assert any(s.get("trainyard_trainer_episode_steps", 0) > 0 for s in samples), samples[-1:]

    store = RunStore(mongo_settings)
    run = store.get_run("smoke-1")
    assert run.status == "completed" and run.agent_id == "smoke_agent" and run.algorithm == "MaskablePPO"
    assert run.config.mode == "smoke" and run.config.total_timesteps == 2048
    stored = store.episodes("smoke-1")
    assert len(stored) == logged_episodes(text) > 0  # what the callback saw is what the database holds
    assert [e.episode for e in stored] == list(range(1, len(stored) + 1))
    assert all(e.win is not None and e.steps > 0 for e in stored)
    assert len(run.checkpoint_paths) == 4  # every 512 of 2048 timesteps; the last one is the final one
    for c in run.checkpoint_paths:  # retention deletes only what it marks pruned, and keeps the record
        assert (tmp_path / "ck" / "smoke-1").joinpath(c.path.rsplit("/", 1)[-1]).is_file() is not c.pruned
    assert [c.pruned for c in run.checkpoint_paths] == [True, True, True, False]  # keep_last 1 + the final
    assert run.config.model_extra["retention"] == {"keep_last": 1, "keep_best": False, "keep_final": True}
    assert (tmp_path / "ck" / "smoke-1" / "tensorboard").is_dir()
    assert run.metadata.tensorboard_dir.endswith("smoke-1/tensorboard")


def test_sigterm_saves_a_checkpoint_and_ends_stopped(mongo_settings, tmp_path):
    log = tmp_path / "train.log"
    proc = trainer(["--mode", "full", "--total-timesteps", "100000", "--run-id", "sig-1", "--checkpoint-dir",
                    str(tmp_path / "ck"), "--checkpoint-every", "100000"], mongo_settings.uri,
                   mongo_settings.db_name, log)
    store = RunStore(mongo_settings)
    wait_for(lambda: (run := store.get_run("sig-1")) is not None and run.summary.episodes >= 3, 120,
             "the first episodes")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 0, log.read_text()[-3000:]
    run = store.get_run("sig-1")
    assert run.status == "stopped" and run.end_time is not None
    assert len(run.checkpoint_paths) == 1
    saved = tmp_path / "ck" / "sig-1" / run.checkpoint_paths[0].path.rsplit("/", 1)[-1]
    assert saved.is_file() and run.checkpoint_paths[0].timestep < 100000
    assert len(store.episodes("sig-1")) == logged_episodes(log.read_text())


def test_an_exception_marks_the_run_failed_with_its_reason(mongo_settings, tmp_path):
    log = tmp_path / "train.log"
    proc = trainer(["--mode", "smoke", "--run-id", "crash-1", "--checkpoint-dir", str(tmp_path / "ck"),
                    "--env-id", "tests.support.faulty_env:CrashingBlokusDuo-v0"], mongo_settings.uri,
                   mongo_settings.db_name, log)
    assert proc.wait(180) == 1, log.read_text()[-3000:]
    run = RunStore(mongo_settings).get_run("crash-1")
    assert run.status == "failed"
    err = run.metadata.error
    assert err.type == "RuntimeError" and "injected failure after 300 steps" in err.message
    assert any("faulty_env.py" in line for line in err.traceback)
    assert run.summary.episodes > 0  # what was logged before the crash survives


@pytest.mark.parametrize(("args", "field"), [
    (["--total-timesteps", "-5"], "total_timesteps"),
    (["--n-envs", "0"], "n_envs"),
    (["--env-id", "trainyard/Chess-v0"], "env_id"),
    (["--opponent", "selfplay"], "opponent"),
    (["--eval-games", "-1"], "evaluation.games"),
    (["--config", "{config}"], "learnin_rate"),
    (["--config", "{config_type}"], "seed"),
])
def test_bad_configuration_exits_2_and_writes_nothing(mongo_settings, tmp_path, args, field):
    (tmp_path / "bad.yaml").write_text("learnin_rate: 0.1\n")
    (tmp_path / "badtype.yaml").write_text("seed: many\n")
    args = [a.format(config=tmp_path / "bad.yaml", config_type=tmp_path / "badtype.yaml") for a in args]
    log = tmp_path / "train.log"
    proc = trainer(["--run-id", "bad-1", "--checkpoint-dir", str(tmp_path / "ck"), *args], mongo_settings.uri,
                   mongo_settings.db_name, log)
    assert proc.wait(60) == 2
    assert field in log.read_text()
    assert RunStore(mongo_settings).get_run("bad-1") is None
    assert not (tmp_path / "ck").exists()


def test_database_outage_mid_training_loses_nothing(own_ferretdb, tmp_path):
    settings = MongoSettings(uri=own_ferretdb.uri, db_name="outage")
    api = ApiServer(settings.uri, settings.db_name, tmp_path / "api.log").start()
    log = tmp_path / "train.log"
    proc = trainer(["--mode", "smoke", "--total-timesteps", "12288", "--run-id", "out-1", "--checkpoint-dir",
                    str(tmp_path / "ck")], settings.uri, settings.db_name, log,
                   TRAINER_LOG_FLUSH_INTERVAL="0.2", TRAINER_LOG_BUFFER_SIZE="20")
    try:
        with httpx.Client(base_url=api.url, timeout=10) as c:
            wait_for(lambda: c.get("/api/training-runs/out-1").status_code == 200
                     and c.get("/api/training-runs/out-1").json()["summary"]["episodes"] >= 3, 120, "first episodes")
            own_ferretdb.stop()
            assert c.get("/api/training-runs/out-1").status_code == 503
            time.sleep(8)  # training goes on (12,288 timesteps outlast this at ~340 steps/s), logging to the WAL
            assert proc.poll() is None, log.read_text()[-3000:]
            own_ferretdb.start()
            assert proc.wait(240) == 0, log.read_text()[-3000:]
            assert c.get("/api/training-runs/out-1").status_code == 200
    finally:
        api.stop()
    text = log.read_text()
    store = RunStore(settings)
    stored = [e.episode for e in store.episodes("out-1")]
    assert stored == list(range(1, logged_episodes(text) + 1))  # every episode exactly once
    assert store.get_run("out-1").status == "completed"
    # the outage was noticed (and so really exercised the log) and ended
    assert "records wait in the write-ahead log" in text and "logged records written" in text


def test_failures_before_training_starts_are_recorded(mongo_settings, tmp_path):
    import socket

    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    try:
        log = tmp_path / "port.log"
        proc = trainer(["--mode", "smoke", "--run-id", "early-port", "--checkpoint-dir", str(tmp_path / "ck"),
                        "--metrics-port", str(port)], mongo_settings.uri, mongo_settings.db_name, log)
        assert proc.wait(120) == 1, log.read_text()[-3000:]
    finally:
        busy.close()
    (tmp_path / "ck" / "early-json").mkdir(parents=True)
    (tmp_path / "ck" / "early-json" / "latest.json").write_text("{not json")
    log2 = tmp_path / "json.log"
    proc = trainer(["--mode", "smoke", "--run-id", "early-json", "--checkpoint-dir", str(tmp_path / "ck")],
                   mongo_settings.uri, mongo_settings.db_name, log2)
    assert proc.wait(120) == 1, log2.read_text()[-3000:]
    store = RunStore(mongo_settings)
    port_run, json_run = store.get_run("early-port"), store.get_run("early-json")
    assert port_run.status == "failed"
    assert f"metrics port 127.0.0.1:{port}" in port_run.metadata.error.message
    assert json_run.status == "failed" and "latest.json is corrupt" in json_run.metadata.error.message
    assert f"metrics port 127.0.0.1:{port} cannot be used" in log.read_text()
