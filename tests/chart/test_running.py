"""The chart, running on the real node with the images `make images` built: the operator and API
Deployments become Ready through their own probes; the smoke TrainingRun is turned into a Job by
the in-cluster operator, its trainer container writes to the database (the test FerretDB, through
the chart's external-URI mode) and checkpoints to the shared volume, and the API pod serves the run,
its checkpoint, and the web UI, which Chromium opens through the pod's IP."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import kubernetes
import pytest
import yaml

from tests.chart.helm import CHART, REPO, run_helm
from tests.chart.stack import RELEASE, delete_namespace, new_namespace
from tests.support.kube.wait import wait_for

pytestmark = [pytest.mark.chart, pytest.mark.k8s, pytest.mark.timeout(900)]

KUBECTL = shutil.which("kubectl", path=str(Path(sys.prefix) / "bin")) or "kubectl"
SMOKE = REPO / "examples" / "trainingrun-smoke.yaml"
SCREENSHOT = REPO / "docs" / "screenshots" / "cluster-run.png"
CHROMIUM = os.environ.get("TRAINYARD_E2E_CHROMIUM", "/usr/bin/chromium")


def kubectl(control_plane, *args: str) -> str:
    out = subprocess.run([KUBECTL, "--kubeconfig", str(control_plane.kubeconfig), *args], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, f"kubectl {' '.join(args)}: {out.stderr}"
    return out.stdout


@pytest.fixture(scope="module")
def release(helm, control_plane, kube_api, kube_node, ferretdb, tmp_path_factory):
    namespace = new_namespace(kube_api, "chart-run")
    core = kubernetes.client.CoreV1Api(kube_api)
    claim = "run-checkpoints"
    kube_node.add_host_path_volume(f"{namespace}-checkpoints", tmp_path_factory.mktemp("checkpoints"),
                                   claim_ref=(namespace, claim), storage="50Gi")
    core.create_namespaced_persistent_volume_claim(namespace, {
        "metadata": {"name": claim},
        "spec": {"accessModes": ["ReadWriteMany"], "storageClassName": "", "volumeName": f"{namespace}-checkpoints",
                 "resources": {"requests": {"storage": "50Gi"}}},
    })
    db = f"chart_run_{namespace.rsplit('-', 1)[1]}"
    run_helm(helm, "install", RELEASE, str(CHART), "--kubeconfig", str(control_plane.kubeconfig),
             "--namespace", namespace, "--wait", "--timeout=10m",
             "--set", "mongodb.enabled=false",
             "--set", f"mongodb.external.uri=mongodb://{kube_node.expose(ferretdb.port)}/",
             "--set", f"mongodb.database={db}",
             "--set", f"checkpoints.existingClaim={claim}",
             "--set", "operator.image.tag=dev", "--set", "api.image.tag=dev", "--set", "trainer.image.tag=dev",
             timeout=900)
    yield namespace
    subprocess.run([str(helm), "uninstall", RELEASE, "--kubeconfig", str(control_plane.kubeconfig), "--namespace",
                    namespace, "--wait=false"], capture_output=True, timeout=60)
    delete_namespace(kube_api, namespace)


def api_pod_ip(kube_api, namespace: str) -> str:
    pods = kubernetes.client.CoreV1Api(kube_api).list_namespaced_pod(
        namespace, label_selector="app.kubernetes.io/component=api").items
    ready = [p for p in pods if any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])]
    assert ready, "no Ready API pod"
    return ready[0].status.pod_ip


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.load(resp)


def test_the_deployments_are_ready_through_their_probes(release, kube_api):
    apps = kubernetes.client.AppsV1Api(kube_api)
    for name in (f"{RELEASE}-api", f"{RELEASE}-operator"):
        d = apps.read_namespaced_deployment(name, release)
        assert d.status.ready_replicas == d.spec.replicas == 1, name
        container = d.spec.template.spec.containers[0]
        # the kubelet ran the chart's own probes (the operator's is kopf's /healthz liveness)
        assert container.readiness_probe or container.liveness_probe, f"{name} has no probe"


def test_a_smoke_run_trains_in_a_container_and_the_ui_in_the_cluster_shows_it(release, control_plane, kube_api,
                                                                            tmp_path):
    kubectl(control_plane, "apply", "-n", release, "-f", str(SMOKE))
    name = yaml.safe_load(SMOKE.read_text())["metadata"]["name"]
    custom = kubernetes.client.CustomObjectsApi(kube_api)

    def phase():
        tr = custom.get_namespaced_custom_object("trainyard.dev", "v1alpha1", release, "trainingruns", name)
        p = (tr.get("status") or {}).get("phase")
        return p if p in ("Completed", "Failed", "Stopped") else None

    assert wait_for(phase, timeout=780, what=f"TrainingRun {name} finished") == "Completed", kubectl(
        control_plane, "get", "tr", "-n", release, "-o", "yaml")
    # the Job's pod ran on the real node, from the trainer image
    pods = kubernetes.client.CoreV1Api(kube_api).list_namespaced_pod(release, label_selector=f"job-name={name}")
    assert pods.items and pods.items[0].spec.node_name == "trainyard-node"
    assert pods.items[0].spec.containers[0].image == "trainyard/trainer:dev"

    base = f"http://{api_pod_ip(kube_api, release)}:8000"
    runs = get_json(f"{base}/api/training-runs")
    items = runs["items"] if isinstance(runs, dict) else runs
    run = next(r for r in items if r.get("agent_id") == "ppo-smoke")
    run_id = run["run_id"]
    checkpoints = get_json(f"{base}/api/training-runs/{run_id}/checkpoints")
    listed = checkpoints["items"] if isinstance(checkpoints, dict) else checkpoints
    assert listed, "no checkpoint listed"

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    out = subprocess.run(
        ["node", str(Path(__file__).with_name("cluster_ui.mjs"))],
        env={**os.environ, "BASE_URL": base, "RUN_ID": run_id, "CHROMIUM": CHROMIUM, "SCREENSHOT": str(SCREENSHOT)},
        cwd=REPO / "web", capture_output=True, text=True, timeout=180,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert run_id in result["text"]
    assert result["downloadStatus"] == 200 and result["downloadBytes"] > 0
