"""Start and stop a real FerretDB (SQLite backend) on loopback: the MongoDB of dev mode and tests.

Used by the pytest fixtures in ``tests/conftest.py`` and by ``scripts/dev.py``. ``stop()`` then
``start()`` keeps the data directory, which is how tests simulate a database outage.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.support.ports import free_port, wait_for_port
from tests.support.stopping import stop_process_group

REPO = Path(__file__).resolve().parents[2]


def ferretdb_binary() -> str:
    """Build (once, cached by version) or find the FerretDB binary."""
    explicit = os.environ.get("TRAINYARD_FERRETDB")
    if explicit:
        return explicit
    out = subprocess.run([str(REPO / "scripts" / "build-ferretdb.sh")], check=True,
                         capture_output=True, text=True)
    return out.stdout.strip().splitlines()[-1]


class FerretDB:
    def __init__(self, data_dir: Path, port: int | None = None, binary: str | None = None):
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.binary = binary or ferretdb_binary()
        self.proc: subprocess.Popen | None = None
        self.log_path = self.data_dir / "ferretdb.log"

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/"

    def start(self) -> FerretDB:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        cmd = [
            self.binary,
            "--handler=sqlite",
            # WAL with synchronous=NORMAL: a commit survives FerretDB, the trainer or the pod being killed;
            # only a power loss or kernel crash can take back the last ones, as MongoDB's default write
            # concern (journal flushed every 100 ms) allows. FULL (FerretDB's default) adds an fsync to
            # every statement: about 0.6 ms of a 1.8 ms update here.
            f"--sqlite-url=file:{self.data_dir}/?_pragma=synchronous(normal)",
            f"--listen-addr=127.0.0.1:{self.port}",
            f"--state-dir={self.data_dir}",
            "--telemetry=disable",
            "--debug-addr=-",
            "--log-level=warn",
        ]
        log = open(self.log_path, "ab")  # noqa: SIM115 - owned by the child's lifetime
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_for_port(self.port)
        except TimeoutError:
            self.stop()
            raise RuntimeError(f"FerretDB did not start; see {self.log_path}") from None
        return self

    def stop(self) -> None:
        if self.proc is None:
            return
        stop_process_group(self.proc, grace=10)
        self.proc = None

    def __enter__(self) -> FerretDB:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
