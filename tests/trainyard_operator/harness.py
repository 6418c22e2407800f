"""Helpers for the operator's k8s tests: the operator as a subprocess, a namespace-scoped view of
the cluster (kubectl, clients, waits, container logs, the checkpoint volume's folder on the real
node) and a least-privilege identity.
Fixtures that use them are in conftest.py; the tests in test_operator_k8s.py."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import kubernetes
import yaml
from trainyard_runstore.schema import StoredRun
from trainyard_runstore.sync_store import RunStore

from tests.support.kube.wait import wait_for
from tests.support.ports import free_port

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
KUBECTL = str(VENV_BIN / "kubectl")
CRD = REPO / "charts" / "trainyard" / "crds" / "trainingruns.trainyard.dev.yaml"
GROUP, VERSION, PLURAL = "trainyard.dev", "v1alpha1", "trainingruns"
PVC = "trainyard-checkpoints"
TRAINER_IMAGE = "trainyard/trainer:dev"  # `make images`, imported into the session's node
TEST_MODULES = ".test-modules"  # on the checkpoint volume
TEST_MODULES_IN_POD = f"/checkpoints/{TEST_MODULES}"
SECRET = "trainyard-mongodb"
# Small, fast runs: ~1 episode per 14 steps, a rollout of 128 steps, checkpoints every 256.
FAST = {"hyperparameters": {"nSteps": 128, "batchSize": 64, "nEpochs": 1}, "checkpoint": {"everyTimesteps": 256}}


class Operator:
    """``trainyard-operator`` as a subprocess against the test cluster, scoped to one namespace."""

    def __init__(self, kubeconfig: Path, namespace: str, mongo, log_path: Path, **settings: str) -> None:
        self.log_path = log_path
        self.metrics_port = free_port()
        self.env = {
            **os.environ,
            "KUBECONFIG": str(kubeconfig),
            "MONGODB_URI": mongo.uri,
            "MONGODB_DB_NAME": mongo.db_name,
            "TRAINYARD_OPERATOR_NAMESPACES": namespace,
            "TRAINYARD_OPERATOR_METRICS_PORT": str(self.metrics_port),
            "TRAINYARD_OPERATOR_HEALTH_PORT": "0",
            "TRAINYARD_OPERATOR_TRAINER_METRICS_PORT": "0",
            "TRAINYARD_OPERATOR_PROGRESS_INTERVAL": "1",
            "TRAINYARD_OPERATOR_TERMINATION_GRACE_SECONDS": "30",
            "TRAINYARD_OPERATOR_TRAINER_IMAGE": TRAINER_IMAGE,
            # two cores: ten runs at once must all fit on the node
            "TRAINYARD_OPERATOR_DEFAULT_CPU": "100m",
            "TRAINYARD_OPERATOR_DEFAULT_MEMORY": "1Gi",
            # test-only modules (tests.support.faulty_env) are copied onto the checkpoint volume
            # (namespace_ready): the trainer image has no tests
            "TRAINYARD_OPERATOR_TRAINER_ENV": json.dumps({"PYTHONPATH": TEST_MODULES_IN_POD}),
            **settings,
        }
        self.proc: subprocess.Popen | None = None

    def start(self) -> Operator:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen([str(VENV_BIN / "trainyard-operator")], env=self.env, stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def kill(self) -> None:
        """SIGKILL: no cleanup, as a crashed or evicted operator pod."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def metrics(self) -> str:
        return httpx.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).text

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


class Cluster:
    """What a test needs: the namespace's clients, kubectl, the operator, the run store."""

    def __init__(self, control_plane, kube_api, namespace, node, operator, store):
        self.kubeconfig = control_plane.kubeconfig
        self.ns = namespace
        self.custom = kubernetes.client.CustomObjectsApi(kube_api)
        self.batch = kubernetes.client.BatchV1Api(kube_api)
        self.core = kubernetes.client.CoreV1Api(kube_api)
        self.node = node
        self.operator = operator
        self.store: RunStore = store

    def kubectl(self, *args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        out = subprocess.run([KUBECTL, "--kubeconfig", str(self.kubeconfig), "-n", self.ns, *args], input=stdin,
                             capture_output=True, text=True, timeout=60)
        if check and out.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {out.stderr}")
        return out

    def apply(self, name: str, **spec) -> dict:
        body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "TrainingRun", "metadata": {"name": name},
                "spec": {"agentId": f"agent-{name}", **spec}}
        self.kubectl("apply", "-f", "-", stdin=yaml.safe_dump(body))
        return self.run(name)

    def run(self, name: str) -> dict:
        return self.custom.get_namespaced_custom_object(GROUP, VERSION, self.ns, PLURAL, name)

    def status(self, name: str) -> dict:
        return self.run(name).get("status") or {}

    def wait_phase(self, name: str, *phases: str, timeout: float = 240) -> dict:
        def reached():
            status = self.status(name)
            return status if status.get("phase") in phases else None

        try:
            return wait_for(reached, timeout=timeout, interval=0.5, what=f"{name} in {phases}")
        except TimeoutError as e:
            raise AssertionError(f"{e}\nstatus: {self.status(name)}\noperator log:\n{self.operator.log_tail()}"
                                 f"\npods:\n{self.pod_logs(name)}") from None

    def job_pods(self, name: str) -> list:
        pods = self.core.list_namespaced_pod(self.ns, label_selector=f"trainyard.dev/run-name={name}").items
        return sorted(pods, key=lambda p: (p.metadata.creation_timestamp, p.metadata.name))

    def running_pod(self, name: str, exclude: tuple[str, ...] = ()) -> str:
        def probe():
            return next((p.metadata.name for p in self.job_pods(name)
                         if p.status.phase == "Running" and p.metadata.name not in exclude), None)

        return wait_for(probe, timeout=120, interval=0.25, what=f"a running pod of {name}")

    def pod_logs(self, name: str) -> str:
        return "\n".join(f"--- {p.metadata.name}\n{self.container_log(p.metadata.name)[-3000:]}"
                          for p in self.job_pods(name))

    def container_log(self, pod: str) -> str:
        try:
            return self.core.read_namespaced_pod_log(pod, self.ns)
        except kubernetes.client.ApiException as e:
            return f"(no log: {e.status} {e.reason})"

    def episodes_stored(self, run_id: str, at_least: int, timeout: float = 120) -> StoredRun:
        def probe():
            run = self.store.get_run(run_id)
            return run if run is not None and run.summary.episodes >= at_least else None

        return wait_for(probe, timeout=timeout, interval=0.5, what=f"{at_least} episodes of {run_id}")

    def checkpoint_dir(self, run_id: str) -> Path:
        return self.node.volume_dir(self.ns, PVC) / run_id


# The permissions operator/README.md lists for a namespaced install (the Helm chart's Role).
OPERATOR_RULES = [
    {"apiGroups": ["trainyard.dev"], "resources": ["trainingruns"],
     "verbs": ["get", "list", "watch", "patch", "update"]},
    {"apiGroups": ["trainyard.dev"], "resources": ["trainingruns/status"], "verbs": ["get", "patch", "update"]},
    {"apiGroups": ["trainyard.dev"], "resources": ["trainingruns/finalizers"], "verbs": ["update"]},
    {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["get", "list", "watch", "create", "patch", "delete"]},
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
    {"apiGroups": ["", "events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch"]},
]


def service_account_kubeconfig(control_plane, kube_api, namespace: str, path: Path) -> Path:
    """A kubeconfig for a ServiceAccount bound to OPERATOR_RULES in ``namespace`` only."""
    core, rbac = kubernetes.client.CoreV1Api(kube_api), kubernetes.client.RbacAuthorizationV1Api(kube_api)
    core.create_namespaced_service_account(namespace, {"metadata": {"name": "trainyard-operator"}})
    rbac.create_namespaced_role(namespace, {"metadata": {"name": "trainyard-operator"}, "rules": OPERATOR_RULES})
    rbac.create_namespaced_role_binding(namespace, {
        "metadata": {"name": "trainyard-operator"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "trainyard-operator"},
        "subjects": [{"kind": "ServiceAccount", "name": "trainyard-operator", "namespace": namespace}]})
    token = core.create_namespaced_service_account_token(
        "trainyard-operator", namespace, {"spec": {"audiences": [], "expirationSeconds": 3600}}).status.token
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "sa",
        "clusters": [{"name": "c", "cluster": {"server": control_plane.server,
                                               "certificate-authority": str(control_plane.ca.cert)}}],
        "users": [{"name": "sa", "user": {"token": token}}],
        "contexts": [{"name": "sa", "context": {"cluster": "c", "user": "sa", "namespace": namespace}}]}))
    return path
