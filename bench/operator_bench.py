"""The operator under a burst: N TrainingRuns applied at once, one operator replica.

Starts a local control plane (tests/support/kube, no pod runner: Jobs are created, their pods stay
Pending), FerretDB and ``trainyard-operator`` as a subprocess, then creates N TrainingRuns from
a thread pool and watches Jobs appear. Latency per run = Job seen by a watch - TrainingRun create
call returned, both on this machine's clock (creationTimestamp has only 1 s resolution). Prints
p50/p95/max and the time until every run has its Job, plus the operator's own counters.

    python bench/operator_bench.py [--runs 200] [--workers 16]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
import kubernetes  # noqa: E402

from bench.table import print_table  # noqa: E402
from tests.support.ferretdb import FerretDB  # noqa: E402
from tests.support.kube.controlplane import ControlPlane  # noqa: E402
from tests.support.ports import free_port, wait_for_http  # noqa: E402

VENV_BIN = Path(sys.executable).parent
CRD = REPO / "charts" / "trainyard" / "crds" / "trainingruns.trainyard.dev.yaml"
NAMESPACE = "bench"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def watch_jobs(api: kubernetes.client.ApiClient, seen: dict[str, float], stop: threading.Event) -> None:
    batch = kubernetes.client.BatchV1Api(api)
    while not stop.is_set():
        w = kubernetes.watch.Watch()
        try:
            for event in w.stream(batch.list_namespaced_job, NAMESPACE, timeout_seconds=5):
                seen.setdefault(event["object"].metadata.name, time.monotonic())
                if stop.is_set():
                    break
        except Exception:  # noqa: BLE001 - a dropped watch is simply reopened
            time.sleep(0.1)
        finally:
            w.stop()


def start_operator(cp: ControlPlane, db: FerretDB, work: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {**os.environ, "KUBECONFIG": str(cp.kubeconfig), "MONGODB_URI": db.uri, "MONGODB_DB_NAME": "bench",
           "TRAINYARD_OPERATOR_NAMESPACES": NAMESPACE, "TRAINYARD_OPERATOR_METRICS_PORT": str(port),
           "TRAINYARD_OPERATOR_HEALTH_PORT": "0", "TRAINYARD_OPERATOR_LOG_LEVEL": "WARNING"}
    log = (work / "operator.log").open("wb")
    proc = subprocess.Popen([str(VENV_BIN / "trainyard-operator")], env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    wait_for_http(f"http://127.0.0.1:{port}/metrics", timeout=60)
    return proc, port


def operator_counters(port: int) -> dict[str, float]:
    out = {}
    for line in httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text.splitlines():
        if line.startswith("trainyard_operator_") and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def run(runs: int, workers: int) -> int:
    work = Path(tempfile.mkdtemp(prefix="trainyard-operator-bench-"))
    with ControlPlane(work_dir=work / "cluster") as cp, FerretDB(work / "ferretdb") as db, cp.api_client() as api:
        kubectl = [str(VENV_BIN / "kubectl"), "--kubeconfig", str(cp.kubeconfig)]
        subprocess.run([*kubectl, "apply", "-f", str(CRD)], check=True, capture_output=True)
        subprocess.run([*kubectl, "wait", "--for=condition=Established", "crd/trainingruns.trainyard.dev",
                        "--timeout=60s"], check=True, capture_output=True)
        core, custom = kubernetes.client.CoreV1Api(api), kubernetes.client.CustomObjectsApi(api)
        core.create_namespace({"metadata": {"name": NAMESPACE}})
        proc, port = start_operator(cp, db, work)
        seen: dict[str, float] = {}
        stop = threading.Event()
        watcher = threading.Thread(target=watch_jobs, args=(api, seen, stop), daemon=True)
        watcher.start()
        time.sleep(2)  # the operator's watches are open
        created: dict[str, float] = {}

        def create(i: int) -> None:
            name = f"run-{i:04d}"
            body = {"apiVersion": "trainyard.dev/v1alpha1", "kind": "TrainingRun", "metadata": {"name": name},
                    "spec": {"agentId": f"agent-{i % 10}", "totalTimesteps": 512}}
            custom.create_namespaced_custom_object("trainyard.dev", "v1alpha1", NAMESPACE, "trainingruns", body)
            created[name] = time.monotonic()

        try:
            t0 = time.monotonic()
            with ThreadPoolExecutor(max_workers=workers) as pool:
                list(pool.map(create, range(runs)))
            applied = time.monotonic() - t0
            deadline = time.monotonic() + 600
            while len([n for n in created if n in seen]) < runs and time.monotonic() < deadline:
                time.sleep(0.05)
            done = [n for n in created if n in seen]
            all_jobs = max(seen[n] for n in done) - t0 if done else float("nan")
            latencies = [seen[n] - created[n] for n in done]

            def with_status() -> int:
                items = custom.list_namespaced_custom_object("trainyard.dev", "v1alpha1", NAMESPACE,
                                                             "trainingruns")["items"]
                return sum(1 for i in items if (i.get("status") or {}).get("jobName"))

            while with_status() < runs and time.monotonic() < deadline:
                time.sleep(0.2)
            all_status = time.monotonic() - t0
            counters = operator_counters(port)
        finally:
            stop.set()
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(30)
        duplicates = len(kubernetes.client.BatchV1Api(api).list_namespaced_job(NAMESPACE).items) - len(done)

    rows = [
        ["TrainingRuns applied", f"{runs} ({workers} client threads)", f"{applied:.2f} s to apply"],
        ["runs with a Job", f"{len(done)}/{runs}", f"duplicate Jobs: {duplicates}"],
        ["creation -> Job, p50", f"{statistics.median(latencies):.2f} s" if latencies else "-", ""],
        ["creation -> Job, p95", f"{percentile(latencies, 0.95):.2f} s" if latencies else "-", ""],
        ["creation -> Job, max", f"{max(latencies):.2f} s" if latencies else "-", ""],
        ["first create -> all Jobs", f"{all_jobs:.2f} s", ""],
        ["first create -> all statuses", f"{all_status:.2f} s", "phase, jobName, conditions written"],
        ["operator: jobs created", f"{counters.get('trainyard_operator_jobs_created_total', 0):.0f}",
         f"errors: {sum(v for k, v in counters.items() if k.startswith('trainyard_operator_reconcile_errors'))}"],
    ]
    print_table(f"operator: {runs} TrainingRuns at once (one replica, {os.cpu_count()} CPUs)",
                ["measure", "value", "note"], rows)
    print(json.dumps({"p50_s": statistics.median(latencies) if latencies else None,
                      "p95_s": percentile(latencies, 0.95) if latencies else None, "all_jobs_s": all_jobs,
                      "all_status_s": all_status, "jobs": len(done), "runs": runs}))
    ok = len(done) == runs and duplicates == 0
    if ok:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"logs kept in {work}")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--workers", type=int, default=16, help="client threads creating TrainingRuns")
    args = parser.parse_args()
    return run(args.runs, args.workers)


if __name__ == "__main__":
    sys.exit(main())
