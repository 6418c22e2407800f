"""Fixtures of the operator's k8s tests: the session's control plane and real node (shared
fixtures), the CRD, a namespace with the MongoDB Secret and checkpoint claim, the operator."""

from __future__ import annotations

import shutil
import subprocess

import kubernetes
import pytest

from tests.trainyard_operator.harness import CRD, KUBECTL, PVC, REPO, SECRET, TEST_MODULES, Cluster, Operator


@pytest.fixture(scope="session")
def crd_installed(control_plane) -> None:
    run = [KUBECTL, "--kubeconfig", str(control_plane.kubeconfig)]
    subprocess.run([*run, "apply", "-f", str(CRD)], check=True, capture_output=True, timeout=60)
    subprocess.run([*run, "wait", "--for=condition=Established", "crd/trainingruns.trainyard.dev",
                    "--timeout=60s"], check=True, capture_output=True, timeout=90)


def pod_reachable_uri(kube_node, uri: str) -> str:
    """The FerretDB URI as pods see it: the node forwards its gateway address to 127.0.0.1."""
    port = int(uri.rstrip("/").rsplit(":", 1)[1])
    return f"mongodb://{kube_node.expose(port)}/"


@pytest.fixture
def namespace_ready(kube_api, kube_node, k8s_namespace, mongo_settings, crd_installed) -> str:
    """The MongoDB Secret (the FerretDB URI pods reach) and the checkpoint PVC, bound to a hostPath
    volume on the node that also carries the test-only modules the trainer pods import."""
    core = kubernetes.client.CoreV1Api(kube_api)
    core.create_namespaced_secret(k8s_namespace, {"metadata": {"name": SECRET},
                                                  "stringData": {"uri": pod_reachable_uri(kube_node,
                                                                                           mongo_settings.uri)}})
    volume = kube_node.shared_claim(k8s_namespace, PVC)
    modules = volume / TEST_MODULES / "tests" / "support"
    modules.mkdir(parents=True)
    for package in (modules.parent, modules):
        (package / "__init__.py").write_text("")
    shutil.copy(REPO / "tests" / "support" / "faulty_env.py", modules / "faulty_env.py")
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
def cluster(control_plane, kube_api, namespace_ready, kube_node, make_operator, store) -> Cluster:
    return Cluster(control_plane, kube_api, namespace_ready, kube_node, make_operator().start(), store)
