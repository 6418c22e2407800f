"""Run-history benchmarks: the same operations in an empty and in a crowded database, as ratios,
then the figures of issue 13 (lists, full histories, one metric, downsampling, logger throughput).

Seeds its own FerretDB in a temporary directory (nothing is reused); every database lives on that
one server. ``crowded``: 1,000 runs of 1,000 episodes (1,000,000 episodes, 3,000 per-run collections) beside
the measured run;
``empty``: the measured run alone. Lists among 200 and 10,000 runs read the run index only, so those
runs are seeded as index entries (``seed_many_runs``). Prints tables; asserts nothing.
"""

from __future__ import annotations

import random
import signal
import statistics
import sys
import tempfile
import time
from collections import deque
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from pymongo import MongoClient, monitoring

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trainyard_client.run_logger import TrainingRunLogger  # noqa: E402
from trainyard_runstore import layout, rows  # noqa: E402
from trainyard_runstore.schema import Episode, RunRecord, RunStats  # noqa: E402
from trainyard_runstore.settings import MongoSettings  # noqa: E402
from trainyard_runstore.sync_store import RunStore  # noqa: E402

from bench.table import print_table  # noqa: E402
from tests.support.ferretdb import FerretDB  # noqa: E402
from tests.support.processes import ApiServer  # noqa: E402

INGEST_EPISODES = 200_000  # the workload of the measurement (11,900 episodes/s then)
INGEST_ROUNDS = 3
RATIO_ROUNDS = 5
LIST_RUNS = 10_000
LONG_RUN = 1_000_000
FULL_RUN = 200_000
CROWD_RUNS = 1_000
CROWD_EPISODES = 1_000
TARGET_EPISODES = 10_000
FLUSHES = 300
T0 = datetime(2026, 12, 1, tzinfo=UTC)
SAMPLES = 20


def trajectory(n: int, first: int = 1) -> list[tuple[float, int, bool, int, float, datetime]]:
    """(reward, steps, win, timestep, win rate, time) of episodes ``first``.. as a real run has them: noisy
    rewards, lengths from 20 to 200 steps, wins at about 40 %, the rolling win rate over 100, cumulative
    timesteps, times some 25 ms apart. Patterned values compress far better than real ones and would
    flatter every size and speed figure. Seeded by ``first``: the same episodes on every run."""
    rnd = random.Random(first)
    recent: deque[bool] = deque(maxlen=100)
    timestep = (first - 1) * 110
    out = []
    for i in range(first, first + n):
        steps = rnd.randint(20, 200)
        win = rnd.random() < 0.4
        recent.append(win)
        timestep += steps
        out.append((rnd.gauss(0.4, 2.5), steps, win, timestep, sum(recent) / len(recent),
                    T0 + timedelta(milliseconds=25 * i + rnd.randint(0, 9))))
    return out


def episodes(n: int, first: int = 1) -> list[Episode]:
    return [Episode(episode=i, total_reward=r, steps=s, win=w, timestep=ts, win_rate=wr, time=t)
            for i, (r, s, w, ts, wr, t) in enumerate(trajectory(n, first), start=first)]


def seed_long_run(store: RunStore, run_id: str, n: int) -> None:
    store.create_run(RunRecord(run_id=run_id, agent_id="bench_long", config={"env_id": "bench"}))
    writer = store.writer(run_id)
    batch = 100_000
    eps = []
    for first in range(1, n + 1, batch):  # built in slices: a million models at once is memory-hungry
        eps.extend(episodes(min(batch, n - first + 1), first))
    writer.import_episodes(eps)


def seed_many_runs(store: RunStore, n: int, prefix: str = "bench") -> None:
    """``n`` finished runs as run-index entries (all a list reads), inserted in bulk."""
    now = datetime.now(UTC)
    docs = []
    for i in range(n):
        rec = RunRecord(run_id=f"{prefix}-{i:05d}", agent_id=f"agent_{i % 20}", status="completed",
                        start_time=now - timedelta(minutes=i), summary=RunStats(episodes=100, mean_reward=1.0))
        home = {**rec.model_dump(mode="python"), "status": "completed"}
        docs.append({**layout.index_doc(home), **layout.run_key(rec.run_id)})
    store.ensure_indexes()
    store.db[layout.AGENTS].insert_many([{"_id": a} for a in sorted({d["agent_id"] for d in docs})])
    for i in range(0, n, 1000):
        store.db[layout.RUNS].insert_many(docs[i:i + 1000])
    store.bump_index_version()


def seed_crowd(store: RunStore) -> None:
    """CROWD_RUNS complete runs of CROWD_EPISODES episodes each, written as the store lays them out
    (home document and statistics page, episode bucket, index entry) but in bulk, to seed quickly."""
    eps = episodes(CROWD_EPISODES)
    as_rows = [rows.of(ep) for ep in eps]
    subs = {b: layout.sub_stats(as_rows[b * layout.BUCKET_SIZE:(b + 1) * layout.BUCKET_SIZE])
            for b in range(layout.bucket_of(CROWD_EPISODES) + 1)}
    buckets = [layout.bucket_doc(b, as_rows[b * layout.BUCKET_SIZE:(b + 1) * layout.BUCKET_SIZE]) for b in subs]
    page = layout.page_doc(0, subs)
    summary = layout.summarize((s for v in subs.values() for s in v), eps[-1]).model_dump()
    store.ensure_indexes()
    index = []
    for i in range(CROWD_RUNS):
        rec = RunRecord(run_id=f"crowd-{i:04d}", agent_id=f"agent_{i % 20}", config={"env_id": "bench"})
        home = {**rec.model_dump(mode="python"), "_id": layout.RUN_DOC_ID, "status": "completed", "version": 1,
                "summary": summary, "last_episode": layout.episode_to_doc(eps[-1])}
        store.home(rec.run_id).insert_many([home, page])
        store.db[layout.episodes_collection(rec.run_id)].insert_many(buckets)
        index.append({**layout.index_doc(home), **layout.run_key(rec.run_id)})
    store.db[layout.AGENTS].insert_many([{"_id": f"agent_{i}"} for i in range(20)])
    store.db[layout.RUNS].insert_many(index)
    store.bump_index_version()


class _Counter(monitoring.CommandListener):
    """Counts the commands a client sends (the operations of a flush)."""

    def __init__(self) -> None:
        self.commands = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.commands += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def flush_rate(settings: MongoSettings, tmp: Path, flushes: int = FLUSHES) -> dict[str, float]:
    """``log_episode`` + ``flush()`` of a fresh run, ``flushes`` times: per second, p50 ms of one, and the
    operations (commands) one flush sends, counted by PyMongo's command monitoring."""
    counter = _Counter()
    store = RunStore(settings, MongoClient(settings.uri, event_listeners=[counter], **settings.client_kwargs()))
    logger = TrainingRunLogger(agent_id="bench_flush", spill_dir=tmp, mongo=settings, flush_interval=1.0, store=store)
    logger.start()
    times = []
    start = counter.commands
    t0 = time.perf_counter()
    for i in range(flushes):
        t = time.perf_counter()
        logger.log_episode(float(i), 40, win=i % 2 == 0, timestep=i * 40)
        if not logger.flush():
            raise RuntimeError("flush failed")
        times.append((time.perf_counter() - t) * 1000)
    total = time.perf_counter() - t0
    ops = (counter.commands - start) / flushes
    logger.close()
    return {"rate": flushes / total, "p50": statistics.median(times), "ops": ops}


def ingest(settings: MongoSettings, tmp: Path, episodes: int = INGEST_EPISODES) -> dict[str, float]:
    """``episodes`` log_episode calls through ``close()`` (everything in the database): episodes per second,
    and the process's CPU µs per episode (both threads; what a loaded machine does not distort)."""
    played = trajectory(episodes)  # made before the clock starts: a trainer has its values at hand
    logger = TrainingRunLogger(agent_id="bench", spill_dir=tmp, mongo=settings, flush_interval=0.2)
    logger.start()
    c0, t0 = time.process_time(), time.perf_counter()
    for reward, steps, win, timestep, _, _ in played:
        logger.log_episode(reward, steps, win=win, timestep=timestep)
    logger.close()
    if logger.episodes_written != episodes:
        raise RuntimeError(f"ingest: {logger.episodes_written} of {episodes} episodes written")
    return {"rate": episodes / (time.perf_counter() - t0), "cpu_us": (time.process_time() - c0) / episodes * 1e6}


def latency(client: httpx.Client, path: str, params: dict | None = None, samples: int = SAMPLES) -> float:
    """p50 ms over ``samples`` sequential requests (after one warm-up); fails loudly on non-200."""
    times = []
    for i in range(samples + 1):
        t0 = time.perf_counter()
        r = client.get(path, params=params)
        if r.status_code != 200:
            raise RuntimeError(f"{path} answered {r.status_code}: {r.text[:200]}")
        if i:
            times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def download(client: httpx.Client, path: str, params: dict | None = None, rounds: int = 3) -> tuple[float, int]:
    """(best seconds, bytes on the wire) of a streamed, gzip-accepting download."""
    best, wire = float("inf"), 0
    for _ in range(rounds):
        t0 = time.perf_counter()
        with client.stream("GET", path, params=params, headers={"Accept-Encoding": "gzip"}) as r:
            if r.status_code != 200:
                raise RuntimeError(f"{path} answered {r.status_code}")
            n = 0
            for chunk in r.iter_raw():
                n += len(chunk)
        best = min(best, time.perf_counter() - t0)
        wire = n
    return best, wire


def other_counts(client: httpx.Client, path: str) -> float:
    """p50 ms of downsampled reads the API has not answered before (its series cache misses; its cache of
    statistics pages holds): max_points 1,000, 1,001, ... so each is a new question."""
    times = []
    for i in range(SAMPLES):
        t0 = time.perf_counter()
        r = client.get(path, params={"max_points": 1000 + i})
        if r.status_code != 200:
            raise RuntimeError(f"{path} answered {r.status_code}")
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def list_after_changes(client: httpx.Client, settings: MongoSettings) -> float:
    """p50 ms of the list right after one run's index entry changed (the API follows the index log)."""
    store = RunStore(settings)
    run_id = store.db[layout.RUNS].find_one({}, {"run_id": 1})["run_id"]
    store.create_run(RunRecord(run_id=run_id, agent_id="bench_changed"))  # a resumed run: index rewritten
    times = []
    try:
        for i in range(SAMPLES):
            store.set_metadata(run_id, round=i)
            t0 = time.perf_counter()
            r = client.get("/api/training-runs", params={"limit": 50})
            if r.status_code != 200:
                raise RuntimeError(f"list answered {r.status_code}")
            times.append((time.perf_counter() - t0) * 1000)
    finally:
        store.close()
    return statistics.median(times)


def cold_reads(uri: str, db_name: str, tmp: Path, run_ids: tuple[str, ...], rounds: int = 5) -> dict[str, float]:
    """p50 ms of a fresh API process's first downsampled read (1,000 points) of each run: nothing cached."""
    times: dict[str, list[float]] = {run_id: [] for run_id in run_ids}
    for _ in range(rounds):
        api = ApiServer(uri, db_name, tmp / "api-cold.log").start()
        try:
            with httpx.Client(base_url=api.url, timeout=60) as c:
                c.get("/api/training-runs", params={"limit": 1}).raise_for_status()  # connections, not the run
                for run_id in run_ids:
                    t0 = time.perf_counter()
                    c.get(f"/api/training-runs/{run_id}", params={"max_points": 1000}).raise_for_status()
                    times[run_id].append((time.perf_counter() - t0) * 1000)
        finally:
            api.stop()
    return {run_id: statistics.median(t) for run_id, t in times.items()}


def ratio_rows(empty: list[dict[str, float]], crowded: list[dict[str, float]]) -> list[list[str]]:
    """Per operation: the median of each database's rounds, and the median of the paired rounds' ratios
    (each pair measured back to back, so a slow spell of this VM lands on both sides of a ratio)."""
    rows = []
    for name, unit in (("detail, 10,000-episode run (default 2,000 points)", "ms"),
                       ("detail, 1,000 points", "ms"), ("detail, raw page since_episode", "ms"),
                       ("full history, 10,000 episodes (/history)", "ms"),
                       ("log_episode + flush(), p50", "ms")):
        e = statistics.median(r[name] for r in empty)
        c = statistics.median(r[name] for r in crowded)
        ratios = sorted(b[name] / a[name] for a, b in zip(empty, crowded, strict=True))
        rows.append([name, f"{e:.1f} {unit}", f"{c:.1f} {unit}",
                     f"{statistics.median(ratios):.2f} ({ratios[0]:.2f}–{ratios[-1]:.2f})"])
    return rows


def measure_db(settings: MongoSettings, api_url: str, tmp: Path) -> dict[str, float]:
    out: dict[str, float] = {}
    with httpx.Client(base_url=api_url, timeout=120) as c:
        out["detail, 10,000-episode run (default 2,000 points)"] = latency(c, "/api/training-runs/target")
        out["detail, 1,000 points"] = latency(c, "/api/training-runs/target", {"max_points": 1000})
        out["detail, raw page since_episode"] = latency(c, "/api/training-runs/target",
                                                        {"since_episode": TARGET_EPISODES - 100})
        out["full history, 10,000 episodes (/history)"] = latency(c, "/api/training-runs/target/history", samples=5)
    flush = flush_rate(settings, tmp)
    out["log_episode + flush(), p50"] = flush["p50"]
    out["flush rate"] = flush["rate"]
    out["flush ops"] = flush["ops"]
    return out


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # unwind: the FerretDB and API are stopped
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        with FerretDB(tmp / "db") as db:
            def settings(name: str) -> MongoSettings:
                return MongoSettings(uri=db.uri, db_name=name)

            dbs = () if "--figures-only" in sys.argv else ("empty", "crowded")
            results: dict[str, list[dict[str, float]]] = {name: [] for name in dbs}
            apis: dict[str, ApiServer] = {}
            try:
                for name in dbs:
                    store = RunStore(settings(name))
                    if name == "crowded":
                        print(f">> seeding the crowd: {CROWD_RUNS:,} runs x {CROWD_EPISODES:,} episodes", flush=True)
                        t0 = time.perf_counter()
                        seed_crowd(store)
                        print(f"   ({time.perf_counter() - t0:.0f} s)", flush=True)
                    store.create_run(RunRecord(run_id="target", agent_id="bench"))
                    store.writer("target").import_episodes(episodes(TARGET_EPISODES))
                    store.close()
                    apis[name] = ApiServer(db.uri, name, tmp / f"api-{name}.log").start()
                for i in range(RATIO_ROUNDS if dbs else 0):  # paired rounds, the order alternating
                    print(f">> measuring both databases, round {i + 1} of {RATIO_ROUNDS}", flush=True)
                    for name in dbs if i % 2 == 0 else dbs[::-1]:
                        results[name].append(measure_db(settings(name), apis[name].url, tmp))
            finally:
                for api in apis.values():
                    api.stop()
            if dbs:
                print_table("One run's operations: empty vs crowded database (1,000 other runs, 1,000,000 episodes; "
                            f"medians of {RATIO_ROUNDS} paired rounds)",
                            ["operation", "empty", "crowded", "crowded / empty (range)"],
                            ratio_rows(results["empty"], results["crowded"]))

            print(">> seeding lists (200 and 10,000 runs), a 200,000- and a 1,000,000-episode run", flush=True)
            for name, n in (("list200", 200), ("list10k", LIST_RUNS)):
                s = RunStore(settings(name))
                seed_many_runs(s, n)
                s.close()
            big = RunStore(settings("big"))
            seed_long_run(big, "run-200k", FULL_RUN)
            t0 = time.perf_counter()
            seed_long_run(big, "run-1m", LONG_RUN)
            import_rate = LONG_RUN / (time.perf_counter() - t0)
            big.close()
            figures = []
            for name, db_name in (("list 50 among 200 runs", "list200"), ("list 50 among 10,000 runs", "list10k")):
                api = ApiServer(db.uri, db_name, tmp / f"api-{db_name}.log", MONGODB_TIMEOUT_MS="10000").start()
                try:
                    with httpx.Client(base_url=api.url, timeout=60) as c:
                        t0 = time.perf_counter()
                        c.get("/api/training-runs", params={"limit": 50}).raise_for_status()
                        loading = (time.perf_counter() - t0) * 1000  # this API's first list reads the index
                        ms = latency(c, "/api/training-runs", {"limit": 50})
                        etag = c.get("/api/training-runs", params={"limit": 50}).headers["etag"]
                        t0 = time.perf_counter()
                        for _ in range(SAMPLES):
                            assert c.get("/api/training-runs", params={"limit": 50},
                                         headers={"If-None-Match": etag}).status_code == 304
                        revalidate = (time.perf_counter() - t0) * 1000 / SAMPLES
                        changed = list_after_changes(c, settings(db_name))
                finally:
                    api.stop()
                goal = "≤ 9 ms" if "200" in name else "≤ 100 ms"
                figures.append([name, f"{ms:.1f} ms (unchanged, 304: {revalidate:.1f} ms)", goal])
                figures.append(["  same, right after a run's entry changed", f"{changed:.1f} ms", goal])
                figures.append(["  same, an API process's first list (loads the index)", f"{loading:.0f} ms", ""])
            cold = cold_reads(db.uri, "big", tmp, ("run-200k", "run-1m"))
            api = ApiServer(db.uri, "big", tmp / "api-big.log").start()
            try:
                with httpx.Client(base_url=api.url, timeout=300) as c:
                    secs, wire = download(c, "/api/training-runs/run-200k/history")
                    figures.append(["full history of 200,000 episodes, one request (columnar JSON, gzip)",
                                    f"{secs * 1000:.0f} ms, {wire / 1e6:.1f} MB", "≤ 1,300 ms and ≤ 14 MB"])
                    secs, wire = download(c, "/api/training-runs/run-200k/export", {"format": "csv"})
                    figures.append(["  same as CSV export (gzip)", f"{secs * 1000:.0f} ms, {wire / 1e6:.1f} MB", ""])
                    secs, wire = download(c, "/api/training-runs/run-200k/history", {"metrics": "total_reward"})
                    figures.append(["one metric, 200,000 points (?metrics=total_reward)",
                                    f"{secs * 1000:.0f} ms, {wire / 1e6:.1f} MB", "≤ 450 ms"])
                    for run_id, label in (("run-200k", "200,000"), ("run-1m", "1,000,000")):
                        ms = latency(c, f"/api/training-runs/{run_id}", {"max_points": 1000})
                        figures.append([f"downsampled to 1,000 points, {label}-episode run", f"{ms:.1f} ms", "≤ 25 ms"])
                        ms = other_counts(c, f"/api/training-runs/{run_id}")
                        figures.append(["  same, another count each time (~1,000; statistics pages cached)",
                                        f"{ms:.1f} ms", ""])
                        figures.append(["  same, an API process's first read of the run (nothing cached)",
                                        f"{cold[run_id]:.1f} ms", ""])
            finally:
                api.stop()
            # Rounds of a fraction of a second each vary with this VM's scheduling: the median and the range.
            rounds = [ingest(settings("ingest"), tmp / f"ingest-{i}") for i in range(INGEST_ROUNDS)]
            rates = sorted(r["rate"] for r in rounds)
            cpu = statistics.median(r["cpu_us"] for r in rounds)
            figures.append([f"logger ingest through close() (log_episode, batched writes), median of {INGEST_ROUNDS}",
                            f"{statistics.median(rates):,.0f} episodes/s ({rates[0]:,.0f}–{rates[-1]:,.0f}; "
                            f"{cpu:.1f} µs CPU each)", "≥ 35,000/s"])
            for name, measured in results.items():
                rates = sorted(r["flush rate"] for r in measured)
                figures.append([f"log_episode + flush() per episode, {name} database, median of {len(rates)}",
                                f"{statistics.median(rates):,.0f} /s ({rates[0]:,.0f}–{rates[-1]:,.0f}; "
                                f"{statistics.median(r['flush ops'] for r in measured):.2f} operations each)",
                                "≥ 250/s"])
            figures.append(["bulk import (import_episodes) of 1,000,000 episodes", f"{import_rate:,.0f} episodes/s",
                            ""])
            print_table("History at scale (issue 13 figures; p50 of sequential requests)",
                        ["figure", "measured", "goal"], figures)


if __name__ == "__main__":
    main()
