"""Fixtures of the operator's k8s tests: the session's control plane and pod runner (shared
fixtures), the CRD, a namespace with the MongoDB Secret and checkpoint claim, the operator."""

from __future__ import annotations

import subprocess

import kubernetes
import pytest

from tests.trainyard_operator.harness import CRD, KUBECTL, PVC, SECRET, Cluster, Operator


@pytest.fixture(scope="session")
def crd_installed(control_plane) -> None:
    run = [KUBECTL, "--kubeconfig", str(control_plane.kubeconfig)]
    subprocess.run([*run, "apply", "-f", str(CRD)], check=True, capture_output=True, timeout=60)
    subprocess.run([*run, "wait", "--for=condition=Established", "crd/trainingruns.trainyard.dev",
                    "--timeout=60s"], check=True, capture_output=True, timeout=90)


@pytest.fixture
def namespace_ready(kube_api, k8s_namespace, mongo_settings, crd_installed) -> str:
    """The MongoDB Secret (the FerretDB URI) and the checkpoint PVC (never bound: the pod runner maps it)."""
    core = kubernetes.client.CoreV1Api(kube_api)
    core.create_namespaced_secret(k8s_namespace, {"metadata": {"name": SECRET},
                                                  "stringData": {"uri": mongo_settings.uri}})
    core.create_namespaced_persistent_volume_claim(k8s_namespace, {
        "metadata": {"name": PVC},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}})
    return k8s_namespace


@pytest.fixture
def make_operator(control_plane, namespace_ready, mongo_settings, tmp_path):
    started: list[Operator] = []

    def make(**settings: str) -> Operator:
        op = Operator(control_plane.kubeconfig, namespace_ready, mongo_settings, tmp_path / "operator.log",
                      **settings)
        started.append(op)
        return op

    yield make
    for op in started:
        op.stop()


@pytest.fixture
def cluster(control_plane, kube_api, namespace_ready, pod_runner, make_operator, store) -> Cluster:
    return Cluster(control_plane, kube_api, namespace_ready, pod_runner, make_operator().start(), store)
