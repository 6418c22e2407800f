"""Real processes for tests and dev mode: the API (uvicorn) and the trainer CLI.

Each runs from the project's virtualenv with MongoDB settings in its environment.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.ports import free_port, wait_for_http
from tests.support.stopping import stop_process_group

VENV_BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[2]


def child_env(mongo_uri: str, db_name: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"MONGODB_URI": mongo_uri, "MONGODB_DB_NAME": db_name, "PYTHONUNBUFFERED": "1"})
    # the repository root, so test-only modules (tests.support.faulty_env) import in children
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


class ApiServer:
    """``trainyard-api`` on a free loopback port."""

    def __init__(self, mongo_uri: str, db_name: str, log_path: Path, port: int | None = None, **extra: str):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.env = child_env(mongo_uri, db_name, TRAINYARD_API_PORT=str(self.port),
                             TRAINYARD_API_LOG_LEVEL="warning", **extra)
        self.proc: subprocess.Popen | None = None

    def start(self) -> ApiServer:
        log = open(self.log_path, "ab")  # noqa: SIM115 - lives as long as the child
        self.proc = subprocess.Popen([str(VENV_BIN / "trainyard-api")], env=self.env, stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        wait_for_http(f"{self.url}/healthz", timeout=60)
        return self

    def stop(self) -> None:
        stop_process_group(self.proc, grace=10)
        self.proc = None


def trainer(args: list[str], mongo_uri: str, db_name: str, log_path: Path, **extra: str) -> subprocess.Popen:
    """Start ``trainyard-train`` with ``args``; stdout+stderr go to ``log_path``."""
    log = open(log_path, "wb")  # noqa: SIM115 - lives as long as the child
    return subprocess.Popen([str(VENV_BIN / "trainyard-train"), *args], env=child_env(mongo_uri, db_name, **extra),
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
