"""The real node (tests/support/kube/node.py) with the project's images: idle memory, TrainingRun
apply -> trainer container running, and 50 TrainingRuns applied at once until all complete.

Starts a control plane, the node (containerd + kubelet + kube-proxy + kube-scheduler), FerretDB and
``trainyard-operator`` as a subprocess. Needs root, `make k8s-bins node-bins node-deps images`.

    python bench/node_bench.py [--applies 5] [--runs 50]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import kubernetes  # noqa: E402

from bench.table import print_table  # noqa: E402
from tests.support.ferretdb import FerretDB  # noqa: E402
from tests.support.kube.controlplane import ControlPlane  # noqa: E402
from tests.support.kube.images import ensure_images  # noqa: E402
from tests.support.kube.node import Node  # noqa: E402
from tests.support.ports import free_port, wait_for_http  # noqa: E402

VENV_BIN = Path(sys.executable).parent
CRD = REPO / "charts" / "trainyard" / "crds" / "trainingruns.trainyard.dev.yaml"
NS = "bench"
IMAGE = "trainyard/trainer:dev"
# The burst measures the platform (scheduling, containers, logging), not PPO: each run is one short
# rollout and update, without the final evaluation games.
BURST_SPEC = {"agentId": "bench_burst", "mode": "smoke", "totalTimesteps": 64, "evaluation": {"games": 0},
              "hyperparameters": {"nSteps": 64, "batchSize": 32, "nEpochs": 1}}


def rss_mib(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def node_pids(node: Node) -> dict[str, list[int]]:
    """The node's own daemons, its shims and pause processes (everything in its mount namespace)."""
    out = {name: [p.pid] for name, p in node._procs.items()}  # noqa: SLF001 - the bench reads its own node
    ns = os.readlink(f"/proc/{node._holder.pid}/ns/mnt")  # noqa: SLF001
    daemons = {pid for pids in out.values() for pid in pids}
    shims = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit() and int(p.name) not in daemons:
            try:
                if os.readlink(p / "ns" / "mnt") == ns:
                    shims.append(int(p.name))
            except OSError:
                pass
    out["shims + holder"] = shims
    return out


def archives() -> list[Path]:
    return list(ensure_images(("trainer",)).values())


def container_running(core, ns: str, selector: str) -> bool:
    for pod in core.list_namespaced_pod(ns, label_selector=selector).items:
        for cs in pod.status.container_statuses or []:
            if cs.state.running or cs.state.terminated:
                return True
    return False


def run(applies: int, runs: int) -> int:
    work = Path(tempfile.mkdtemp(prefix="trainyard-node-bench-"))
    images = archives()
    rows, result = [], {}
    with ControlPlane(work_dir=work / "cluster", with_node=True) as cp, Node(cp) as node, cp.api_client() as api, \
            FerretDB(work / "ferretdb") as db:
        node.import_images(images)
        core = kubernetes.client.CoreV1Api(api)
        custom = kubernetes.client.CustomObjectsApi(api)
        time.sleep(20)  # settle: the kubelet's first housekeeping passes
        idle = {name: rss_mib(pids) for name, pids in node_pids(node).items()}
        result["node_idle_mib"] = round(sum(idle.values()), 1)
        rows.append(["node idle memory (RSS)", f"{sum(idle.values()):.0f} MiB",
                     ", ".join(f"{k} {v:.0f}" for k, v in idle.items())])

        kubectl = [str(VENV_BIN / "kubectl"), "--kubeconfig", str(cp.kubeconfig)]
        subprocess.run([*kubectl, "apply", "-f", str(CRD)], check=True, capture_output=True)
        subprocess.run([*kubectl, "wait", "--for=condition=Established", "crd/trainingruns.trainyard.dev",
                        "--timeout=60s"], check=True, capture_output=True)
        core.create_namespace({"metadata": {"name": NS}})
        core.create_namespaced_secret(NS, {"metadata": {"name": "trainyard-mongodb"},
                                           "stringData": {"uri": f"mongodb://{node.expose(db.port)}/"}})
        node.shared_claim(NS, "trainyard-checkpoints")
        port = free_port()
        env = {**os.environ, "KUBECONFIG": str(cp.kubeconfig), "MONGODB_URI": db.uri, "MONGODB_DB_NAME": "bench",
               "TRAINYARD_OPERATOR_NAMESPACES": NS, "TRAINYARD_OPERATOR_METRICS_PORT": str(port),
               "TRAINYARD_OPERATOR_HEALTH_PORT": "0", "TRAINYARD_OPERATOR_TRAINER_METRICS_PORT": "0",
               "TRAINYARD_OPERATOR_TRAINER_IMAGE": IMAGE, "TRAINYARD_OPERATOR_DEFAULT_CPU": "100m",
               "TRAINYARD_OPERATOR_DEFAULT_MEMORY": "1Gi", "TRAINYARD_OPERATOR_LOG_LEVEL": "WARNING"}
        log = (work / "operator.log").open("wb")
        op = subprocess.Popen([str(VENV_BIN / "trainyard-operator")], env=env, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
        try:
            wait_for_http(f"http://127.0.0.1:{port}/metrics", timeout=60)
            latencies = []
            for i in range(applies):
                name = f"apply-{i}"
                body = {"apiVersion": "trainyard.dev/v1alpha1", "kind": "TrainingRun", "metadata": {"name": name},
                        "spec": {"agentId": "bench", "mode": "smoke", "totalTimesteps": 256}}
                t0 = time.monotonic()
                custom.create_namespaced_custom_object("trainyard.dev", "v1alpha1", NS, "trainingruns", body)
                while not container_running(core, NS, f"trainyard.dev/run-name={name}"):
                    if time.monotonic() - t0 > 300:
                        raise TimeoutError(f"{name}: no running container after 300 s")
                    time.sleep(0.05)
                latencies.append(time.monotonic() - t0)
                custom.delete_namespaced_custom_object("trainyard.dev", "v1alpha1", NS, "trainingruns", name)
            result["apply_to_running_p50_s"] = round(statistics.median(latencies), 2)
            rows.append(["TrainingRun apply -> trainer container running, p50",
                         f"{statistics.median(latencies):.2f} s", f"{applies} runs one after another, "
                         f"max {max(latencies):.2f} s"])

            # `runs` smoke TrainingRuns at once: the scheduler queues what the node's memory cannot hold.
            t0 = time.monotonic()
            with ThreadPoolExecutor(max_workers=16) as pool:
                list(pool.map(lambda i: custom.create_namespaced_custom_object(
                    "trainyard.dev", "v1alpha1", NS, "trainingruns", {
                        "apiVersion": "trainyard.dev/v1alpha1", "kind": "TrainingRun",
                        "metadata": {"name": f"burst-{i:02d}"},
                        "spec": BURST_SPEC}),
                    range(runs)))
            phases: dict[str, int] = {}
            while time.monotonic() - t0 < 1800:
                items = custom.list_namespaced_custom_object("trainyard.dev", "v1alpha1", NS, "trainingruns")["items"]
                phases = {}
                for tr in items:
                    if tr["metadata"]["name"].startswith("burst-"):
                        phase = (tr.get("status") or {}).get("phase") or "Pending"
                        phases[phase] = phases.get(phase, 0) + 1
                if sum(phases.get(p, 0) for p in ("Completed", "Failed", "Stopped")) == runs:
                    break
                time.sleep(1)
            burst = time.monotonic() - t0
        finally:
            os.killpg(op.pid, signal.SIGTERM)
            op.wait(30)
        done = phases.get("Completed", 0)
        result.update(runs_at_once=runs, runs_completed=done, all_complete_s=round(burst, 1))
        rows.append([f"{runs} TrainingRuns (64 timesteps each) applied at once -> all complete", f"{burst:.1f} s",
                     f"{done}/{runs} Completed; phases {phases}"])
    print_table(f"real node ({os.cpu_count()} CPUs; containerd + runc + kubelet)", ["measure", "value", "note"], rows)
    print(json.dumps(result))
    return 0 if result.get("runs_completed") == runs else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applies", type=int, default=5)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    return run(args.applies, args.runs)


if __name__ == "__main__":
    sys.exit(main())
