"""`make cluster`: a local Kubernetes for development, until Ctrl-C, SIGTERM or SIGHUP.

Builds the binaries if needed (scripts/k8s/build.sh), starts etcd, kube-apiserver and
kube-controller-manager (tests/support/kube/controlplane.py) and a real node (node.py: containerd,
runc, kubelet, kube-proxy, kube-scheduler) with the images `make images` built imported, writes the
admin kubeconfig to .dev/kubeconfig, then the rest of the stack: FerretDB (data in .dev/ferretdb,
shared with `make dev`; pods reach it through the node's gateway address), the TrainingRun CRD, the
MongoDB Secret and the checkpoint claim (bound to a hostPath volume in .dev/cluster/checkpoints)
the operator expects in namespace `default`, and the processes in stack_processes() (API + UI,
operator), each with KUBECONFIG set. Trainer Jobs run as real containers: `kubectl logs` and
`kubectl exec` work. Cluster state lives in .dev/cluster/ and is wiped on the next start.
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
from tests.support.kube.images import ensure_images  # noqa: E402
from tests.support.kube.node import Node  # noqa: E402
from tests.support.ports import free_port  # noqa: E402
from tests.support.stopping import stop_process_group  # noqa: E402

CRD = REPO / "charts" / "trainyard" / "crds" / "trainingruns.trainyard.dev.yaml"
KUBECTL = str(REPO / ".venv" / "bin" / "kubectl")
API_PORT = int(os.environ.get("TRAINYARD_API_PORT", "8000"))

DEV = Path(os.environ.get("TRAINYARD_DEV_DIR", REPO / ".dev"))
# Which images to import into the node (all three by default; tests of this script import fewer).
IMAGES = os.environ.get("TRAINYARD_CLUSTER_IMAGES", "trainer api operator").split()
log = logging.getLogger("cluster")


@dataclass(frozen=True)
class ExtraProcess:
    """A process started after the cluster is up (argv relative to the repo root), stopped first."""

    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)


IMAGE_TAG = os.environ.get("IMAGE_TAG", "dev")


def stack_processes(mongo_uri: str, checkpoints: Path) -> list[ExtraProcess]:
    """The API (with the web UI, reading the checkpoint volume's folder) and the operator, both on
    the dev FerretDB; trainer Jobs use the image `make images` built."""
    mongo = {"MONGODB_URI": mongo_uri, "MONGODB_DB_NAME": "trainyard"}
    return [
        ExtraProcess("api", [".venv/bin/trainyard-api"], {
            **mongo, "TRAINYARD_API_PORT": str(API_PORT), "TRAINYARD_API_CHECKPOINT_ROOT": str(checkpoints),
        }),
        ExtraProcess("operator", [".venv/bin/trainyard-operator"], {
            **mongo,
            "TRAINYARD_OPERATOR_NAMESPACES": '["default"]',
            "TRAINYARD_OPERATOR_TRAINER_IMAGE": f"trainyard/trainer:{IMAGE_TAG}",
            "TRAINYARD_OPERATOR_HEALTH_PORT": "0",
            "TRAINYARD_OPERATOR_METRICS_PORT": os.environ.get("TRAINYARD_OPERATOR_METRICS_PORT", "9401"),
        }),
    ]


def image_archives() -> list[Path]:
    """The images `make images` built last (built now if never)."""
    return list(ensure_images(tuple(IMAGES), IMAGE_TAG).values())


def port_taken(port: int) -> bool:
    import socket

    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def prepare_namespace(kubeconfig: Path, mongo_uri: str) -> None:
    """The CRD, and the Secret and claim the operator's defaults name (trainyard-mongodb, trainyard-checkpoints)."""
    kubectl = [KUBECTL, "--kubeconfig", str(kubeconfig)]
    subprocess.run([*kubectl, "apply", "-f", str(CRD)], check=True, capture_output=True)
    subprocess.run([*kubectl, "wait", "--for=condition=Established", "crd/trainingruns.trainyard.dev",
                    "--timeout=300s"], check=True, capture_output=True)
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
    if port_taken(API_PORT):
        print(f"port {API_PORT} is taken: stop what uses it or run 'make cluster TRAINYARD_API_PORT=8001'",
              file=sys.stderr)
        return 1
    bin_dir = build()
    archives = image_archives()
    work = DEV / "cluster"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    stop = threading.Event()
    # SIGINT too (it may arrive ignored from a parent); SIGHUP when the terminal goes away.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.set())
    extras: list[tuple[str, subprocess.Popen]] = []
    with ControlPlane(bin_dir, work, with_node=True) as cp, Node(cp) as node:
        node.import_images(archives)
        kubeconfig = DEV / "kubeconfig"
        shutil.copyfile(cp.kubeconfig, kubeconfig)
        checkpoints = work / "checkpoints"
        node.add_host_path_volume("trainyard-checkpoints", checkpoints)
        db = FerretDB(DEV / "ferretdb", port=free_port()).start()
        try:
            pod_uri = f"mongodb://{node.expose(db.port)}/"
            prepare_namespace(kubeconfig, pod_uri)
            for extra in stack_processes(db.uri, checkpoints):
                extras.append((extra.name, start_extra(extra, kubeconfig, work)))
            print(
                f"\ncluster ready ({cp.server}); FerretDB {db.uri}; UI http://127.0.0.1:{API_PORT}/training\n"
                f"in another shell:\n"
                f"  export KUBECONFIG={kubeconfig}\n"
                f"  .venv/bin/kubectl apply -f examples/trainingrun-smoke.yaml\n"
                f"  .venv/bin/kubectl get tr -w\n"
                f"  .venv/bin/kubectl logs -f job/<run>   # or: kubectl exec -it <pod> -- sh\n"
                f"Ctrl-C (or SIGTERM, SIGHUP) stops every server it started.\n",
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
