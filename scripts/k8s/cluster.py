"""`make cluster`: a local Kubernetes for development, until Ctrl-C.

Builds the binaries if needed (scripts/k8s/build.sh), starts etcd, kube-apiserver and
kube-controller-manager (tests/support/kube/controlplane.py) and the pod runner that stands in for
a kubelet (tests/support/kube/podrunner.py), writes the admin kubeconfig to .dev/kubeconfig, then
the rest of the stack: FerretDB (data in .dev/ferretdb, shared with `make dev`), the TrainingRun
CRD, the MongoDB Secret and checkpoint claim the operator expects in namespace `default`, and the
processes in stack_processes() (API + UI, operator), each with KUBECONFIG set. Cluster state lives
in .dev/cluster/ and is wiped on the next start; logs in .dev/cluster/*.log and .dev/cluster/pods/logs/.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.support.ferretdb import FerretDB  # noqa: E402
from tests.support.kube.controlplane import ControlPlane  # noqa: E402
from tests.support.kube.podrunner import PodRunner  # noqa: E402
from tests.support.ports import free_port  # noqa: E402
from tests.support.stopping import stop_process_group  # noqa: E402

CRD = REPO / "charts" / "trainyard" / "crds" / "trainingruns.trainyard.dev.yaml"
KUBECTL = str(REPO / ".venv" / "bin" / "kubectl")
API_PORT = int(os.environ.get("TRAINYARD_API_PORT", "8000"))

DEV = REPO / ".dev"
log = logging.getLogger("cluster")


@dataclass(frozen=True)
class ExtraProcess:
    """A process started after the cluster is up (argv relative to the repo root), stopped first."""

    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)


def stack_processes(mongo_uri: str) -> list[ExtraProcess]:
    """The API (with the web UI) and the operator, both on the dev FerretDB."""
    mongo = {"MONGODB_URI": mongo_uri, "MONGODB_DB_NAME": "trainyard"}
    return [
        ExtraProcess("api", [".venv/bin/trainyard-api"], {**mongo, "TRAINYARD_API_PORT": str(API_PORT)}),
        ExtraProcess("operator", [".venv/bin/trainyard-operator"], {
            **mongo,
            "TRAINYARD_OPERATOR_NAMESPACES": '["default"]',
            # every pod shares 127.0.0.1 under the pod runner: trainers serve no metrics port here
            "TRAINYARD_OPERATOR_TRAINER_METRICS_PORT": "0",
            "TRAINYARD_OPERATOR_HEALTH_PORT": "0",
            "TRAINYARD_OPERATOR_METRICS_PORT": os.environ.get("TRAINYARD_OPERATOR_METRICS_PORT", "9401"),
        }),
    ]


def prepare_namespace(kubeconfig: Path, mongo_uri: str) -> None:
    """The CRD, and the Secret and claim the operator's defaults name (trainyard-mongodb, trainyard-checkpoints)."""
    kubectl = [KUBECTL, "--kubeconfig", str(kubeconfig)]
    subprocess.run([*kubectl, "apply", "-f", str(CRD)], check=True, capture_output=True)
    subprocess.run([*kubectl, "wait", "--for=condition=Established", "crd/trainingruns.trainyard.dev",
                    "--timeout=60s"], check=True, capture_output=True)
    manifest = {"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "trainyard-mongodb"},
         "stringData": {"uri": mongo_uri}},
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "trainyard-checkpoints"},
         "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "10Gi"}}}},
    ]}
    subprocess.run([*kubectl, "apply", "-f", "-"], input=json.dumps(manifest), text=True, check=True,
                   capture_output=True)


def build() -> Path:
    out = subprocess.run(
        ["bash", str(REPO / "scripts" / "k8s" / "build.sh")], check=True, stdout=subprocess.PIPE, text=True
    )
    return Path(out.stdout.strip().splitlines()[-1])


def start_extra(extra: ExtraProcess, kubeconfig: Path, logs: Path) -> subprocess.Popen:
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), **extra.env}
    with (logs / f"{extra.name}.log").open("ab") as out:
        proc = subprocess.Popen(
            extra.argv,
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    log.info("started %s (pid %d), log %s", extra.name, proc.pid, logs / f"{extra.name}.log")
    return proc


def stop_extra(name: str, proc: subprocess.Popen) -> None:
    if not stop_process_group(proc, grace=10):
        log.warning("%s did not stop in 10s: killed", name)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    bin_dir = build()
    work = DEV / "cluster"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):  # SIGINT too: it may arrive ignored from a parent
        signal.signal(sig, lambda *_: stop.set())
    extras: list[tuple[str, subprocess.Popen]] = []
    with ControlPlane(bin_dir, work) as cp, cp.api_client() as api:
        kubeconfig = DEV / "kubeconfig"
        shutil.copyfile(cp.kubeconfig, kubeconfig)
        runner = PodRunner(api, work / "pods", extra_env={"PYTHONPATH": str(REPO)}).start()
        db = FerretDB(DEV / "ferretdb", port=free_port()).start()
        try:
            prepare_namespace(kubeconfig, db.uri)
            for extra in stack_processes(db.uri):
                extras.append((extra.name, start_extra(extra, kubeconfig, work)))
            print(
                f"\ncluster ready ({cp.server}); FerretDB {db.uri}; UI http://127.0.0.1:{API_PORT}/training\n"
                f"in another shell:\n"
                f"  export KUBECONFIG={kubeconfig}\n"
                f"  .venv/bin/kubectl apply -f examples/trainingrun-smoke.yaml\n"
                f"  .venv/bin/kubectl get tr -w\n"
                f"Ctrl-C stops it.\n",
                flush=True,
            )
            while not stop.wait(1):
                for name, proc in extras:
                    if proc.poll() is not None:
                        log.error("%s exited with %s; see %s", name, proc.returncode, work / f"{name}.log")
                        stop.set()
        finally:
            log.info("stopping")
            for name, proc in reversed(extras):
                stop_extra(name, proc)
            db.stop()
            runner.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
