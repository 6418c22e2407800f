"""The web UI in real headless Chromium against the real API, FerretDB and run logger.

pytest seeds runs through ``TrainingRunLogger`` (one keeps running and growing), then drives
``web/e2e/run.mjs`` (playwright-core); the outage scenario is coordinated over its stdout.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from trainyard_client.run_logger import TrainingRunLogger, error_info
from trainyard_runstore.schema import RunStatus
from trainyard_runstore.settings import MongoSettings
from trainyard_runstore.sync_store import RunStore

from tests.support.e2e import e2e_command, e2e_env, require_browser, run_e2e
from tests.support.ferretdb import FerretDB
from tests.support.processes import ApiServer

pytestmark = [pytest.mark.browser, pytest.mark.mongo]

REPO = Path(__file__).resolve().parents[2]
DB = "browser"


def log_run(settings, tmp, run_id, agent, episodes, *, status, win=True, algorithm="MaskablePPO", lr=3e-4):
    logger = TrainingRunLogger(agent_id=agent, algorithm=algorithm, run_id=run_id, spill_dir=tmp, mongo=settings,
                               config={"mode": "full", "learning_rate": lr, "seed": 1})
    logger.start()
    for i in range(episodes):
        reward = (i % 17) / 4 - 1 + i / 100
        logger.log_episode(reward, 20 + i % 9, win=((i * 7) % 10 < 6) if win else None, timestep=(i + 1) * 30)
    if status is RunStatus.FAILED:
        try:
            raise RuntimeError("CUDA out of memory (simulated for the UI test)")
        except RuntimeError as exc:
            logger.set_status(status, error_info(exc))
    else:
        logger.set_status(status)
    logger.close()


class LiveRun:
    """A run that keeps logging episodes through the real logger until stopped."""

    def __init__(self, settings, tmp):
        self.logger = TrainingRunLogger(agent_id="ppo_agent", run_id="ui-live", spill_dir=tmp, mongo=settings,
                                        config={"mode": "full", "learning_rate": 3e-4, "seed": 2},
                                        flush_interval=0.2)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        i = 0
        while not self.stop.wait(0.3):
            self.logger.log_episode(i / 10, 25, win=i % 2 == 0, timestep=(i + 1) * 25)
            i += 1

    def __enter__(self):
        self.logger.start()
        for i in range(20):
            self.logger.log_episode(0.0, 25, win=False, timestep=i * 25)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        self.logger.set_status(RunStatus.COMPLETED)
        self.logger.close()


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    require_browser()
    tmp = tmp_path_factory.mktemp("browser")
    db = FerretDB(tmp / "db").start()
    settings = MongoSettings(uri=db.uri, db_name=DB)
    runs = [("ui-ppo-a", "ppo_agent", 300, RunStatus.COMPLETED, True, "MaskablePPO", 3e-4),
            ("ui-ppo-b", "ppo_agent", 200, RunStatus.COMPLETED, True, "MaskablePPO", 1e-4),
            ("ui-dqn-c", "dqn_agent", 150, RunStatus.STOPPED, False, "DQN", 3e-4),
            ("ui-ppo-fail", "ppo_agent", 50, RunStatus.FAILED, True, "MaskablePPO", 3e-4)]
    for run_id, agent, n, status, win, algo, lr in runs:
        log_run(settings, tmp, run_id, agent, n, status=status, win=win, algorithm=algo, lr=lr)
    fixture = {
        "runs": [{"run_id": r[0], "agent_id": r[1], "status": r[3].value, "episodes": r[2], "has_win_rate": r[4]}
                 for r in runs] + [{"run_id": "ui-live", "agent_id": "ppo_agent", "status": "running", "episodes": 20}],
        "running_run_id": "ui-live", "failed_run_id": "ui-ppo-fail", "compare_run_ids": ["ui-ppo-a", "ui-ppo-b"],
    }
    (tmp / "fixture.json").write_text(json.dumps(fixture))
    api = ApiServer(db.uri, DB, tmp / "api.log").start()
    with LiveRun(settings, tmp):
        yield {"db": db, "api": api, "settings": settings, "tmp": tmp}
    api.stop()
    db.stop()


def stack_env(stack, artifacts):
    return e2e_env(stack["api"].url, stack["tmp"] / "fixture.json", artifacts / "web")


def test_every_ui_scenario_in_chromium(stack, artifacts):
    shots = artifacts / "web"
    run_e2e("run.mjs", base_url=stack["api"].url, fixture=stack["tmp"] / "fixture.json", shots=shots, timeout=420,
            screenshots=("list.png", "detail.png", "compare.png"))
    # The CSV the browser downloaded is the database's history, row for row.
    rows = list(csv.DictReader((shots / "export.csv").open()))
    stored = RunStore(stack["settings"]).episodes("ui-ppo-a")
    assert len(rows) == len(stored) == 300
    for row, ep in zip(rows, stored, strict=True):
        assert int(row["episode"]) == ep.episode
        assert float(row["total_reward"]) == ep.total_reward
        assert int(row["steps"]) == ep.steps
        assert row["win"] == ("true" if ep.win else "false")
    for name in ("list.png", "detail.png"):
        shutil.copy(shots / name, artifacts / name)


def test_database_outage_shows_an_error_and_recovers(stack, artifacts):
    proc = subprocess.Popen(e2e_command("run.mjs", "outage"), cwd=REPO / "web", env=stack_env(stack, artifacts),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen = []
    try:
        for line in proc.stdout:
            seen.append(line.rstrip())
            if line.strip() == "READY":
                stack["db"].stop()
            elif line.strip() == "BANNER":
                stack["db"].start()
        assert proc.wait(180) == 0, "\n".join(seen[-60:])
    finally:
        if stack["db"].proc is None:
            stack["db"].start()
        if proc.poll() is None:
            proc.kill()
    assert {"READY", "BANNER", "RECOVERED"} <= {s.strip() for s in seen}
