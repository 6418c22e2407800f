"""``make dev`` stops everything it started on Ctrl-C (SIGINT), SIGTERM and SIGHUP sent to its whole
process group (as a terminal, a supervisor or CI does), and names a taken port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.ports import free_port

pytestmark = pytest.mark.mongo  # starts a real FerretDB and the real API

REPO = Path(__file__).resolve().parents[2]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _processes_mentioning(text: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                environ = (entry / "environ").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if text in cmdline or text in environ:
                pids.append(int(entry.name))
    return pids


def _start_dev(tmp_path: Path, api_port: int, db_port: int) -> subprocess.Popen:
    # a shell in front, like make: the signal goes to the group, so both the shell and dev.py get it
    cmd = (f"{sys.executable} scripts/dev.py --no-train --api-port {api_port} --db-port {db_port} "
           f"--state-dir {tmp_path / 'state'}; echo dev exited $?")
    env = {k: v for k, v in os.environ.items() if k not in {"MONGODB_URI", "MONGODB_DB_NAME"}}
    return subprocess.Popen(["sh", "-c", cmd], cwd=REPO, env=env, start_new_session=True,
                            stdout=open(tmp_path / "dev.log", "wb"), stderr=subprocess.STDOUT)  # noqa: SIM115


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_to_the_process_group_stops_every_server(tmp_path, sig):
    api_port, db_port = free_port(), free_port()
    proc = _start_dev(tmp_path, api_port, db_port)
    log = tmp_path / "dev.log"
    try:
        deadline = time.monotonic() + 120
        while "API and web UI on" not in log.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            time.sleep(0.2)
        assert _listening(api_port) and _listening(db_port), log.read_text()
        os.killpg(proc.pid, sig)
        proc.wait(60)
        deadline = time.monotonic() + 30  # stop_process_group's grace, on a loaded machine
        while (_listening(api_port) or _listening(db_port) or _processes_mentioning(str(tmp_path / "state"))) \
                and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _listening(api_port) and not _listening(db_port), log.read_text()
        assert _processes_mentioning(str(tmp_path / "state")) == [], log.read_text()
        assert "stopping everything make dev started" in log.read_text()
    finally:
        for pid in _processes_mentioning(str(tmp_path / "state")):  # never leave strays behind a failure
            os.kill(pid, signal.SIGKILL)


def test_a_taken_api_port_is_named_with_a_way_out(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = _start_dev(tmp_path, port, free_port())
        assert proc.wait(120) == 0  # the shell's status; dev.py's is in the log
        text = (tmp_path / "dev.log").read_text()
    assert f"port {port} is taken (the API)" in text and f"TRAINYARD_API_PORT={port + 1}" in text
    assert "dev exited 1" in text
    assert _processes_mentioning(str(tmp_path / "state")) == []
