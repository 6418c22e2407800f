"""``make dev``: FerretDB (unless MONGODB_URI is set), the API + web UI, and a smoke training run.

Everything started here is stopped on Ctrl-C (SIGINT), SIGTERM (a supervisor or CI signals the whole
process group) and SIGHUP (the terminal closed). The children run in sessions of their own, so only
this script stops them: each is registered before it starts, and the first signal turns into one orderly
stop (later ones are ignored until it is done). Data lives in ``.dev/`` (git-ignored).
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
    parser.add_argument("--db-port", type=int, default=None, help="FerretDB's port (default 27017 if free)")
    parser.add_argument("--state-dir", type=Path, default=DEV, help="data, checkpoints and logs (default .dev)")
    args = parser.parse_args()
    state = args.state_dir.resolve()
    state.mkdir(parents=True, exist_ok=True)
    started: list = []

    def stop_all() -> None:
        for sig in STOP_SIGNALS:  # one orderly stop: a second signal must not cut it short
            signal.signal(sig, signal.SIG_IGN)
        for thing in reversed(started):
            thing.stop() if hasattr(thing, "stop") else _terminate(thing)
        started.clear()

    def on_signal(signum: int, _frame: object) -> None:
        raise Stop(signal.Signals(signum).name)

    for sig in STOP_SIGNALS:
        signal.signal(sig, on_signal)
    try:
        uri = os.environ.get("MONGODB_URI")
        if uri:
            print(f">> using MongoDB at {uri} (MONGODB_URI)")
        else:
            port = args.db_port or (27017 if port_free(27017) else free_port())
            if not port_free(port):
                print(f"port {port} is taken (FerretDB): stop what uses it or pick another with --db-port")
                return 1
            db = FerretDB(state / "ferretdb", port=port)
            started.append(db)  # registered first: a signal during its start still stops it
            db.start()
            uri = db.uri
            print(f">> FerretDB (SQLite backend) on {uri}, data in .dev/ferretdb")
        db_name = os.environ.get("MONGODB_DB_NAME", "trainyard")
        if not port_free(args.api_port):
            print(f"port {args.api_port} is taken (the API): stop what uses it or run "
                  f"'make dev TRAINYARD_API_PORT={args.api_port + 1}'")
            return 1
        env = child_env(uri, db_name, TRAINYARD_API_PORT=str(args.api_port),
                        TRAINYARD_API_CHECKPOINT_ROOT=str(state / "checkpoints"))
        _start(started, [str(VENV_BIN / "trainyard-api")], env)
        ui = f"http://127.0.0.1:{args.api_port}"
        wait_for_http(f"{ui}/healthz", timeout=60)
        print(f">> API and web UI on {ui}  (history: {ui}/training, API docs: {ui}/docs)")
        if not args.no_train:
            metrics_port = args.metrics_port if port_free(args.metrics_port) else free_port()
            print(f">> smoke training run; watch it at {ui}/training and "
                  f"http://127.0.0.1:{metrics_port}/metrics")
            trainer = _start(started, [str(VENV_BIN / "trainyard-train"), "--mode", "smoke", "--agent-id", "dev_agent",
                                       "--checkpoint-dir", str(state / "checkpoints"), "--metrics-port",
                                       str(metrics_port)], env)
            code = trainer.wait()
            print(f">> smoke run finished with exit code {code}; checkpoints in .dev/checkpoints")
        print(f">> open {ui}/training — Ctrl-C stops FerretDB and the API", flush=True)
        while True:
            time.sleep(3600)
    except (KeyboardInterrupt, Stop) as why:
        print(f"\n>> {why or 'SIGINT'}: stopping everything make dev started", flush=True)
        return 0
    finally:
        stop_all()


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Stop(Exception):
    """A stop signal arrived (SIGTERM or SIGHUP; SIGINT arrives as KeyboardInterrupt)."""


class _Starting:
    """A child being started: registered before ``Popen`` returns, so a signal in between still stops it."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None

    def stop(self) -> None:
        stop_process_group(self.proc)


def _start(started: list, cmd: list[str], env: dict) -> subprocess.Popen:
    slot = _Starting()
    started.append(slot)
    # No signal between the child's birth and its registration; the child itself unblocks them.
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        slot.proc = subprocess.Popen(cmd, env=env, start_new_session=True,
                                     preexec_fn=lambda: signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS))
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    return slot.proc


def _terminate(proc: subprocess.Popen) -> None:
    stop_process_group(proc)


if __name__ == "__main__":
    sys.exit(main())
