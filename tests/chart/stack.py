"""The chart on the test control plane: `helm install`, a kubeconfig for a ServiceAccount's token,
and the operator Deployment's container run as a local process the way a kubelet would run it
(its env resolved from the Deployment, Secrets included) with only its ServiceAccount's rights.

Pods of the release are pinned to a node that does not exist, so nothing else runs them: the
harness cannot run the images (no kubelet), and a pod runner in the session would otherwise start
the API and MongoDB pods as local processes.
"""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import kubernetes
import yaml

from tests.chart.helm import CHART, run_helm
from tests.support.ports import free_port, wait_for_http
from tests.support.processes import VENV_BIN, child_env
from tests.support.stopping import stop_process_group

RELEASE = "trainyard"
NO_NODE = {"trainyard.dev/test-node": "none"}  # pods stay Pending: see the module docstring


def install(helm: Path, kubeconfig: Path, namespace: str, *args: str, upgrade: bool = False) -> str:
    """`helm install` (or upgrade) of the chart, not waiting for pods; returns helm's output (NOTES)."""
    pins = [f"--set-json={part}.nodeSelector={json.dumps(NO_NODE)}" for part in ("operator", "api", "mongodb")]
    verb = ["upgrade", "--install"] if upgrade else ["install"]
    return run_helm(helm, *verb, RELEASE, str(CHART), "--kubeconfig", str(kubeconfig), "--namespace", namespace,
                    "--wait=false", *pins, *args, timeout=180)


def service_account_kubeconfig(kube_api: kubernetes.client.ApiClient, server: str, ca_cert: Path, namespace: str,
                               service_account: str, path: Path) -> Path:
    """A kubeconfig that authenticates with a fresh token of the ServiceAccount (an hour long)."""
    token = kubernetes.client.CoreV1Api(kube_api).create_namespaced_service_account_token(
        service_account, namespace, {"spec": {"audiences": [], "expirationSeconds": 3600}}).status.token
    user = f"system:serviceaccount:{namespace}:{service_account}"
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "test", "cluster": {"server": server, "certificate-authority": str(ca_cert)}}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": "test", "context": {"cluster": "test", "user": user, "namespace": namespace}}],
        "current-context": "test",
    }
    path.write_text(yaml.safe_dump(config))
    return path


def container_env(kube_api: kubernetes.client.ApiClient, namespace: str, container: dict) -> dict[str, str]:
    """The container's env as the kubelet resolves it (literal values and secretKeyRefs)."""
    core = kubernetes.client.CoreV1Api(kube_api)
    env = {}
    for var in container.get("env", []):
        if "valueFrom" not in var:
            env[var["name"]] = var["value"]
            continue
        ref = var["valueFrom"]["secretKeyRef"]
        secret = core.read_namespaced_secret(ref["name"], namespace)
        env[var["name"]] = base64.b64decode(secret.data[ref["key"]]).decode()
    return env


class OperatorProcess:
    """The release's operator container as a local process, authenticated as its ServiceAccount."""

    def __init__(self, kube_api: kubernetes.client.ApiClient, namespace: str, kubeconfig: Path, log_path: Path):
        spec = kube_api.sanitize_for_serialization(
            kubernetes.client.AppsV1Api(kube_api).read_namespaced_deployment(f"{RELEASE}-operator", namespace))
        (container,) = spec["spec"]["template"]["spec"]["containers"]
        self.argv = [str(VENV_BIN / container["command"][0]), *container.get("command", [])[1:],
                     *container.get("args", [])]
        self.env = container_env(kube_api, namespace, container)
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        self.metrics_url = f"http://127.0.0.1:{ports['metrics']}/metrics"
        self.health_url = f"http://127.0.0.1:{ports['health']}/healthz"
        self.kubeconfig = kubeconfig
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> OperatorProcess:
        env = child_env(self.env["MONGODB_URI"], self.env["MONGODB_DB_NAME"], KUBECONFIG=str(self.kubeconfig),
                        **self.env)
        for name in ("KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"):
            env.pop(name, None)  # not in a pod: the kubeconfig is the credential
        log = open(self.log_path, "ab")  # noqa: SIM115 - lives as long as the child
        self.proc = subprocess.Popen(self.argv, env=env, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        try:
            wait_for_http(self.health_url, timeout=90)
        except TimeoutError:
            self.stop()
            raise AssertionError(f"the operator did not become healthy:\n{self.log()[-4000:]}") from None
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        stop_process_group(self.proc)
        self.proc = None


def free_ports_values() -> list[str]:
    """Operator ports that cannot collide with anything else on this machine."""
    return ["--set", f"operator.metricsPort={free_port()}", "--set", f"operator.healthPort={free_port()}"]


def new_namespace(kube_api: kubernetes.client.ApiClient, stem: str) -> str:
    """A fresh namespace with its `default` ServiceAccount (the pods of the release use it)."""
    import uuid

    from tests.support.kube.wait import wait_for

    core = kubernetes.client.CoreV1Api(kube_api)
    name = f"{stem}-{uuid.uuid4().hex[:6]}"
    core.create_namespace({"metadata": {"name": name}})
    wait_for(lambda: any(sa.metadata.name == "default" for sa in core.list_namespaced_service_account(name).items),
             timeout=30, what=f"ServiceAccount default in {name}")
    return name


def delete_namespace(kube_api: kubernetes.client.ApiClient, name: str) -> None:
    kubernetes.client.CoreV1Api(kube_api).delete_namespace(name, propagation_policy="Background")
