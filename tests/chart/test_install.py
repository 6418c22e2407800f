"""`helm install` of the chart into the real test control plane (kube-apiserver with RBAC, the
Deployment/StatefulSet controllers): the objects exist, the operator's ServiceAccount may do what
it needs and nothing more, the sample TrainingRun passes the CRD's validation, an upgrade keeps the
generated MongoDB credentials, and an uninstall keeps the data. Pods are not run (stack.py)."""

from __future__ import annotations

import base64
import shutil
import subprocess
import sys
from pathlib import Path

import kubernetes
import pytest
import yaml

from tests.chart.helm import REPO, run_helm
from tests.chart.stack import RELEASE, delete_namespace, install, new_namespace
from tests.support.kube.wait import wait_for

pytestmark = [pytest.mark.chart, pytest.mark.k8s, pytest.mark.timeout(300)]

KUBECTL = shutil.which("kubectl", path=str(Path(sys.prefix) / "bin")) or "kubectl"
OPERATOR_SA = f"{RELEASE}-operator"


@pytest.fixture(scope="module")
def release(helm, control_plane, kube_api):
    namespace = new_namespace(kube_api, "chart-install")
    notes = install(helm, control_plane.kubeconfig, namespace)
    yield namespace, notes
    subprocess.run([str(helm), "uninstall", RELEASE, "--kubeconfig", str(control_plane.kubeconfig), "--namespace",
                    namespace, "--wait=false"], capture_output=True, timeout=60)
    delete_namespace(kube_api, namespace)


def kubectl(control_plane, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    out = subprocess.run([KUBECTL, "--kubeconfig", str(control_plane.kubeconfig), *args], capture_output=True,
                         text=True, timeout=60)
    if check and out.returncode:
        raise AssertionError(f"kubectl {' '.join(args)}: {out.stderr}")
    return out


def can_i(control_plane, namespace: str, *args: str) -> str:
    who = f"--as=system:serviceaccount:{namespace}:{OPERATOR_SA}"
    return kubectl(control_plane, "auth", "can-i", *args, who, check=False).stdout.strip()


def test_install_creates_the_release_objects(release, kube_api):
    namespace, _ = release
    apps, core = kubernetes.client.AppsV1Api(kube_api), kubernetes.client.CoreV1Api(kube_api)
    rbac, net = kubernetes.client.RbacAuthorizationV1Api(kube_api), kubernetes.client.NetworkingV1Api(kube_api)
    crd = kubernetes.client.ApiextensionsV1Api(kube_api).read_custom_resource_definition("trainingruns.trainyard.dev")
    assert {c.type: c.status for c in crd.status.conditions}["Established"] == "True"
    assert {d.metadata.name for d in apps.list_namespaced_deployment(namespace).items} == {
        f"{RELEASE}-api", f"{RELEASE}-operator"}
    assert [s.metadata.name for s in apps.list_namespaced_stateful_set(namespace).items] == [f"{RELEASE}-mongodb"]
    assert {s.metadata.name for s in core.list_namespaced_service(namespace).items} == {
        f"{RELEASE}-api", f"{RELEASE}-mongodb"}
    assert core.read_namespaced_secret(f"{RELEASE}-mongodb", namespace).data["uri"]
    assert core.read_namespaced_persistent_volume_claim(f"{RELEASE}-checkpoints", namespace).spec.access_modes == [
        "ReadWriteMany"]
    assert core.read_namespaced_service_account(OPERATOR_SA, namespace)
    assert rbac.read_namespaced_role(OPERATOR_SA, namespace).rules
    assert rbac.read_namespaced_role_binding(OPERATOR_SA, namespace).subjects[0].name == OPERATOR_SA
    assert net.read_namespaced_network_policy(f"{RELEASE}-mongodb", namespace)
    dashboard = core.read_namespaced_config_map(f"{RELEASE}-dashboard", namespace)
    assert dashboard.metadata.labels["grafana_dashboard"] == "1"

    # The controllers accept the pod templates: every component gets its pod (Pending: no node runs it),
    # and the StatefulSet its data claim.
    def pods_by_component():
        pods = core.list_namespaced_pod(namespace).items
        return {p.metadata.labels.get("app.kubernetes.io/component") for p in pods} >= {"api", "operator", "mongodb"}

    wait_for(pods_by_component, timeout=60, what="pods of the api, operator and mongodb")
    wait_for(lambda: core.list_namespaced_persistent_volume_claim(
        namespace, label_selector="app.kubernetes.io/component=mongodb").items, timeout=60, what="MongoDB's claim")
    for pod in core.list_namespaced_pod(namespace).items:
        assert pod.spec.security_context.run_as_non_root is True, pod.metadata.name
        assert all(c.security_context.read_only_root_filesystem for c in pod.spec.containers), pod.metadata.name


@pytest.mark.parametrize("action", [
    "list trainingruns.trainyard.dev", "watch trainingruns.trainyard.dev", "patch trainingruns.trainyard.dev",
    "patch trainingruns.trainyard.dev --subresource=status",
    "update trainingruns.trainyard.dev --subresource=finalizers",
    "create jobs.batch", "watch jobs.batch", "delete jobs.batch", "patch jobs.batch",
    "get pods", "list pods", "watch pods", "get pods --subresource=log",
    "create events", "create events.events.k8s.io",
])
def test_operator_service_account_may(release, control_plane, action):
    namespace, _ = release
    assert can_i(control_plane, namespace, *action.split(), "-n", namespace) == "yes", action


@pytest.mark.parametrize("action", [
    # Secrets: never written, not even read (trainers get the URI through a secretKeyRef)
    "create secrets", "update secrets", "patch secrets", "delete secrets", "get secrets", "list secrets",
    # pods are read-only; nothing else of the namespace
    "create pods", "delete pods", "create pods --subresource=exec", "create deployments.apps",
    "create rolebindings.rbac.authorization.k8s.io", "create trainingruns.trainyard.dev",
    "delete persistentvolumeclaims",
])
def test_operator_service_account_may_not(release, control_plane, action):
    namespace, _ = release
    assert can_i(control_plane, namespace, *action.split(), "-n", namespace) == "no", action


@pytest.mark.parametrize("action", [
    "create clusterroles.rbac.authorization.k8s.io", "create clusterrolebindings.rbac.authorization.k8s.io",
    "create customresourcedefinitions.apiextensions.k8s.io", "delete customresourcedefinitions.apiextensions.k8s.io",
    "create namespaces", "delete namespaces", "create nodes", "list trainingruns.trainyard.dev --all-namespaces",
    "create jobs.batch -n default", "list pods -n kube-system", "* * --all-namespaces",
])
def test_operator_service_account_has_nothing_cluster_wide(release, control_plane, action):
    namespace, _ = release
    assert can_i(control_plane, namespace, *action.split()) == "no", action


def test_install_notes_tell_how_to_open_the_ui_and_apply_the_sample(release):
    namespace, notes = release
    assert f"kubectl --namespace {namespace} port-forward service/{RELEASE}-api 8000:80" in notes
    assert "http://127.0.0.1:8000/" in notes
    assert f"kubectl --namespace {namespace} apply -f examples/trainingrun-smoke.yaml" in notes


def test_sample_run_is_accepted_and_a_bad_one_refused_by_the_crd(release, control_plane, tmp_path):
    namespace, _ = release
    sample = REPO / "examples" / "trainingrun-smoke.yaml"
    out = kubectl(control_plane, "apply", "--namespace", namespace, "-f", str(sample))
    assert "trainingrun.trainyard.dev/" in out.stdout
    bad = yaml.safe_load(sample.read_text())
    bad["metadata"]["name"] = "bad-run"
    bad["spec"]["totalTimesteps"] = "lots"
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(bad))
    refused = kubectl(control_plane, "apply", "--namespace", namespace, "-f", str(tmp_path / "bad.yaml"), check=False)
    assert refused.returncode != 0 and "spec.totalTimesteps" in refused.stderr, refused.stderr


def test_upgrade_keeps_the_generated_mongodb_credentials(release, helm, control_plane, kube_api):
    namespace, _ = release
    core, apps = kubernetes.client.CoreV1Api(kube_api), kubernetes.client.AppsV1Api(kube_api)
    before = core.read_namespaced_secret(f"{RELEASE}-mongodb", namespace).data
    install(helm, control_plane.kubeconfig, namespace, "--set", "api.replicas=2", upgrade=True)
    after = core.read_namespaced_secret(f"{RELEASE}-mongodb", namespace).data
    assert apps.read_namespaced_deployment(f"{RELEASE}-api", namespace).spec.replicas == 2  # the upgrade applied
    assert after == before
    assert base64.b64decode(after["password"]).decode() in base64.b64decode(after["uri"]).decode()


def test_uninstall_keeps_the_mongodb_secret_and_the_checkpoints(release, helm, control_plane, kube_api):
    namespace, _ = release
    run_helm(helm, "uninstall", RELEASE, "--kubeconfig", str(control_plane.kubeconfig), "--namespace", namespace,
             "--wait=false")
    core, apps = kubernetes.client.CoreV1Api(kube_api), kubernetes.client.AppsV1Api(kube_api)
    assert not apps.list_namespaced_deployment(namespace).items
    assert core.read_namespaced_secret(f"{RELEASE}-mongodb", namespace)
    assert core.read_namespaced_persistent_volume_claim(f"{RELEASE}-checkpoints", namespace)
    # a new install with the same release name adopts both (and keeps the password)
    before = core.read_namespaced_secret(f"{RELEASE}-mongodb", namespace).data
    install(helm, control_plane.kubeconfig, namespace)
    assert core.read_namespaced_secret(f"{RELEASE}-mongodb", namespace).data == before
