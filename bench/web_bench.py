"""Web UI benchmark: first chart paint of a 1,000,000-episode run, first rows of a 10,000-run list
(headless Chromium, cold browser cache each time), and the gzip size of what the list page loads."""

from __future__ import annotations

import gzip
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trainyard_runstore.settings import MongoSettings  # noqa: E402
from trainyard_runstore.sync_store import RunStore  # noqa: E402

from bench.history_bench import LIST_RUNS, LONG_RUN, seed_long_run, seed_many_runs  # noqa: E402
from bench.table import print_table  # noqa: E402
from tests.support.ferretdb import FerretDB  # noqa: E402
from tests.support.processes import ApiServer  # noqa: E402

WEB = Path(__file__).resolve().parents[1] / "web"
ROUNDS = 5


def bundle_rows() -> list[list[str]]:
    """gzip bytes of index.html and every asset it references directly (what the list page loads)."""
    dist = WEB / "dist"
    html = (dist / "index.html").read_text()
    files = [dist / "index.html"] + [dist / p.lstrip("/") for p in re.findall(r'(?:src|href)="(/assets/[^"]+)"', html)]
    rows = [[f.name, f"{len(gzip.compress(f.read_bytes(), 9)) / 1024:.1f}"] for f in files]
    total = sum(len(gzip.compress(f.read_bytes(), 9)) for f in files)
    every = sum(len(gzip.compress(f.read_bytes(), 9)) for f in (dist / "assets").iterdir())
    rows.append(["list page total", f"{total / 1024:.1f}"])
    rows.append(["all assets (every page)", f"{every / 1024:.1f}"])
    return rows


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    if not (WEB / "dist" / "index.html").exists():
        sys.exit("web/dist is not built: run 'make web'")
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        with FerretDB(tmp / "db") as db:
            store = RunStore(MongoSettings(uri=db.uri, db_name="webbench"))
            print(">> seeding 10,000 runs and a 1,000,000-episode run")
            seed_many_runs(store, LIST_RUNS)
            seed_long_run(store, "long-1m", LONG_RUN)
            api = ApiServer(db.uri, "webbench", tmp / "api.log").start()
            try:
                out = subprocess.run(["node", "e2e/paint.mjs", "long-1m", str(ROUNDS)], cwd=WEB, check=True,
                                     capture_output=True, text=True, timeout=900,
                                     env=dict(os.environ, TRAINYARD_E2E_BASE_URL=api.url))
            finally:
                api.stop()
    times = json.loads(out.stdout.strip().splitlines()[-1])
    rows = [[name, f"{statistics.median(v):.0f}", f"{min(v)}", f"{max(v)}", goal] for name, v, goal in
            (("detail of a 1,000,000-episode run: first chart", times["detail_ms"], "≤ 800"),
             ("  of which: its data arrived", times["detail_data_ms"], ""),
             ("list among 10,000 runs: first rows", times["list_ms"], "≤ 1,000"),
             ("  of which: its data arrived", times["list_data_ms"], ""))]
    print_table(f"Web UI first paint, headless Chromium ({ROUNDS} cold loads)",
                ["page", "median ms", "min", "max", "goal ms"], rows)
    print_table("Web bundle (gzip -9)", ["file", "KiB"], bundle_rows())


if __name__ == "__main__":
    main()
