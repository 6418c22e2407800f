"""Run-history benchmarks: logger ingest into FerretDB and API latency on large histories.

Prints two tables. Seeds its own FerretDB in a temporary directory (nothing is reused).
"""

from __future__ import annotations

import signal
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.table import print_table  # noqa: E402
from tests.support.ferretdb import FerretDB  # noqa: E402
from tests.support.processes import ApiServer  # noqa: E402
from trainyard_runstore import layout  # noqa: E402
from trainyard_runstore.schema import Episode, RunRecord, RunStats  # noqa: E402
from trainyard_runstore.settings import MongoSettings  # noqa: E402
from trainyard_runstore.sync_store import RunStore  # noqa: E402
from trainyard_client.run_logger import TrainingRunLogger  # noqa: E402

INGEST_EPISODES = 20_000
LIST_RUNS = 10_000
LONG_RUN = 1_000_000
MEDIUM_RUN = 10_000
SAMPLES = 30


def ingest(settings: MongoSettings, tmp: Path) -> list[list[str]]:
    logger = TrainingRunLogger(agent_id="bench", spill_dir=tmp, mongo=settings, flush_interval=0.2)
    logger.start()
    t0 = time.perf_counter()
    for i in range(INGEST_EPISODES):
        logger.log_episode(float(i % 50), 40, win=i % 3 == 0, timestep=i * 40)
    enqueue = time.perf_counter() - t0
    logger.close()
    total = time.perf_counter() - t0
    return [
        ["episodes logged", f"{INGEST_EPISODES:,}"],
        ["log_episode incl. the write-ahead log (training thread)",
         f"{INGEST_EPISODES / enqueue:,.0f} episodes/s ({enqueue * 1e6 / INGEST_EPISODES:.1f} µs each)"],
        ["written to FerretDB", f"{INGEST_EPISODES / total:,.0f} episodes/s"],
    ]


def seed_long_run(store: RunStore, run_id: str, episodes: int) -> None:
    store.create_run(RunRecord(run_id=run_id, agent_id="bench_long"))
    store.writer(run_id).import_episodes([
        Episode(episode=i, total_reward=float((i * 7919) % 101) - 50, steps=40, win=i % 2 == 0,
                timestep=i * 40, win_rate=0.5)
        for i in range(1, episodes + 1)
    ])


def seed_many_runs(store: RunStore, n: int) -> None:
    now = datetime.now(UTC)
    docs = []
    for i in range(n):
        rec = RunRecord(run_id=f"bench-{i:05d}", agent_id=f"agent_{i % 20}", status="completed",
                        start_time=now - timedelta(minutes=i), summary=RunStats(episodes=100, mean_reward=1.0))
        doc = {**rec.model_dump(mode="python"), **layout.run_key(rec.run_id), "status": "completed"}
        docs.append(doc)
    store.ensure_indexes()
    store.db[layout.AGENTS].insert_many([{"_id": a} for a in sorted({d["agent_id"] for d in docs})])
    for i in range(0, n, 1000):
        store.db[layout.RUNS].insert_many(docs[i:i + 1000])


def latency(client: httpx.Client, path: str, params: dict) -> tuple[float, float, int, int]:
    """(p50 ms, p95 ms, response bytes, non-200 answers) over SAMPLES sequential requests."""
    client.get(path, params=params)  # warm
    times = []
    size = errors = 0
    for _ in range(SAMPLES):
        t0 = time.perf_counter()
        r = client.get(path, params=params)
        times.append((time.perf_counter() - t0) * 1000)
        if r.status_code != 200:
            errors += 1
            print(f"   {path} answered {r.status_code}: {r.text[:200]}")
        size = len(r.content)
    q = statistics.quantiles(times, n=20)
    return statistics.median(times), q[18], size, errors


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # unwind: the FerretDB and API are stopped
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        with FerretDB(tmp / "db") as db:
            settings = MongoSettings(uri=db.uri, db_name="bench")
            print(">> logger ingest")
            ingest_rows = ingest(settings, tmp)
            store = RunStore(settings)
            print(">> seeding (10,000 runs, a 1,000,000-episode run, a 10,000-episode run)")
            seed_many_runs(store, LIST_RUNS)
            t0 = time.perf_counter()
            seed_long_run(store, "long-1m", LONG_RUN)
            seed_seconds = time.perf_counter() - t0
            seed_long_run(store, "medium-10k", MEDIUM_RUN)
            api = ApiServer(db.uri, "bench", tmp / "api.log").start()
            try:
                with httpx.Client(base_url=api.url, timeout=60) as c:
                    cases = [
                        ("list: 50 of 10,000 runs", "/api/training-runs", {"limit": 50}),
                        ("list: filtered by agent", "/api/training-runs", {"agent_id": "agent_3", "limit": 50}),
                        ("detail: 1,000,000 episodes, max_points=2000", "/api/training-runs/long-1m",
                         {"max_points": 2000}),
                        ("detail: 1,000,000 episodes, zoom 10k", "/api/training-runs/long-1m",
                         {"max_points": 2000, "from_episode": 500_000, "to_episode": 510_000}),
                        ("detail: 10,000 episodes, full", "/api/training-runs/medium-10k", {"max_points": 10_000}),
                        ("live: since_episode (last 10)", "/api/training-runs/long-1m", {"since_episode": 999_990}),
                    ]
                    rows = []
                    for name, path, params in cases:
                        p50, p95, size, errors = latency(c, path, params)
                        rows.append([name, f"{p50:.1f}", f"{p95:.1f}", f"{size / 1024:.0f}", str(errors)])
                    t0 = time.perf_counter()
                    n = 0
                    with c.stream("GET", "/api/training-runs/long-1m/export", params={"format": "csv"}) as r:
                        for chunk in r.iter_bytes():
                            n += len(chunk)
                    export_s = time.perf_counter() - t0
            finally:
                api.stop()
            ingest_rows.append(["bulk import of 1,000,000 episodes", f"{LONG_RUN / seed_seconds:,.0f} episodes/s"])
            print_table("Run logger ingest (in-process, into FerretDB)", ["measure", "value"], ingest_rows)
            rows.append(["export CSV of 1,000,000 episodes", f"{export_s * 1000:.0f} (once)", "", f"{n / 1024:.0f}", ""])
            print_table(f"API latency ({SAMPLES} requests each, sequential)",
                        ["request", "p50 ms", "p95 ms", "KiB", "errors"], rows)


if __name__ == "__main__":
    main()
