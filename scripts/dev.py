"""``make dev``: FerretDB (unless MONGODB_URI is set), the API + web UI, and a smoke training run.

Everything started here is stopped on Ctrl-C. Data lives in ``.dev/`` (git-ignored).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.ferretdb import FerretDB  # noqa: E402
from tests.support.ports import free_port, wait_for_http  # noqa: E402
from tests.support.processes import VENV_BIN, child_env  # noqa: E402
from tests.support.stopping import stop_process_group  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEV = REPO / ".dev"


def port_free(port: int) -> bool:
    import socket

    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--api-port", type=int, default=int(os.environ.get("TRAINYARD_API_PORT", 8000)))
    parser.add_argument("--metrics-port", type=int, default=9400)
    parser.add_argument("--no-train", action="store_true", help="only start the database and the API")
    args = parser.parse_args()
    DEV.mkdir(exist_ok=True)
    started: list = []

    def stop_all(*_: object) -> None:
        for thing in reversed(started):
            thing.stop() if hasattr(thing, "stop") else _terminate(thing)
        started.clear()

    signal.signal(signal.SIGTERM, lambda *_: (stop_all(), sys.exit(0)))
    try:
        uri = os.environ.get("MONGODB_URI")
        if uri:
            print(f">> using MongoDB at {uri} (MONGODB_URI)")
        else:
            port = 27017 if port_free(27017) else free_port()
            db = FerretDB(DEV / "ferretdb", port=port).start()
            started.append(db)
            uri = db.uri
            print(f">> FerretDB (SQLite backend) on {uri}, data in .dev/ferretdb")
        db_name = os.environ.get("MONGODB_DB_NAME", "trainyard")
        if not port_free(args.api_port):
            print(f"port {args.api_port} is taken: stop what uses it or run 'make dev TRAINYARD_API_PORT=8001'")
            return 1
        env = child_env(uri, db_name, TRAINYARD_API_PORT=str(args.api_port),
                        TRAINYARD_API_CHECKPOINT_ROOT=str(DEV / "checkpoints"))
        api = subprocess.Popen([str(VENV_BIN / "trainyard-api")], env=env, start_new_session=True)
        started.append(api)
        ui = f"http://127.0.0.1:{args.api_port}"
        wait_for_http(f"{ui}/healthz", timeout=60)
        print(f">> API and web UI on {ui}  (history: {ui}/training, API docs: {ui}/docs)")
        if not args.no_train:
            metrics_port = args.metrics_port if port_free(args.metrics_port) else free_port()
            print(f">> smoke training run; watch it at {ui}/training and "
                  f"http://127.0.0.1:{metrics_port}/metrics")
            trainer = subprocess.Popen(
                [str(VENV_BIN / "trainyard-train"), "--mode", "smoke", "--agent-id", "dev_agent",
                 "--checkpoint-dir", str(DEV / "checkpoints"), "--metrics-port", str(metrics_port)],
                env=env, start_new_session=True)
            started.append(trainer)
            code = trainer.wait()
            started.remove(trainer)
            print(f">> smoke run finished with exit code {code}; checkpoints in .dev/checkpoints")
        print(f">> open {ui}/training — Ctrl-C stops FerretDB and the API")
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("\n>> stopping")
        return 0
    finally:
        stop_all()


def _terminate(proc: subprocess.Popen) -> None:
    stop_process_group(proc)


if __name__ == "__main__":
    sys.exit(main())
