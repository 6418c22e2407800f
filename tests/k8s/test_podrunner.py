"""What the pod runner gives a process: env from every source, volumes as local folders with the
mount paths rewritten, the service-account token, waiting for a missing Secret, and scheduling."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import kubernetes
import pytest

from tests.support.kube.podspec import expand_refs, rewrite_mount_paths
from tests.support.kube.wait import wait_for

REPORT = textwrap.dedent("""
    import json, os, sys
    token_dir, ckpt = sys.argv[1], sys.argv[2]
    open(os.path.join(ckpt, "written"), "w").write("ok")
    print(json.dumps({
        "env": {k: v for k, v in os.environ.items() if k.startswith("T_")},
        "argv": sys.argv[1:],
        "config": os.listdir(os.environ["T_CONFIG_DIR"]),
        "namespace": open(os.path.join(token_dir, "namespace")).read(),
        "has_token": len(open(os.path.join(token_dir, "token")).read()) > 100,
    }))
""")


def pod(name: str, container: dict, volumes: list[dict] | None = None, **spec) -> dict:
    container = {"name": "main", "image": "example/image:1", **container}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "demo"}},
        "spec": {"restartPolicy": "Never", "containers": [container], "volumes": volumes or [], **spec},
    }


def phase(core, ns: str, name: str) -> str:
    return core.read_namespaced_pod_status(name, ns).status.phase


@pytest.mark.k8s
@pytest.mark.timeout(120)
def test_env_volumes_and_token(pod_runner, kube_api, k8s_namespace):
    core = kubernetes.client.CoreV1Api(kube_api)
    core.create_namespaced_secret(k8s_namespace, {"metadata": {"name": "creds"}, "stringData": {"password": "s3cret"}})
    core.create_namespaced_config_map(
        k8s_namespace, {"metadata": {"name": "cfg"}, "data": {"T_FROM_ENVFROM": "yes", "settings.json": "{}"}}
    )
    env = [
        {"name": "T_LITERAL", "value": "plain"},
        {"name": "T_EXPANDED", "value": "$(T_LITERAL)-x"},
        {"name": "T_SECRET", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}}},
        {"name": "T_POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "T_APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
        {"name": "T_CKPT", "value": "/checkpoints/run-1"},
        {"name": "T_CONFIG_DIR", "value": "/etc/trainer"},
    ]
    token_dir = "/var/run/secrets/kubernetes.io/serviceaccount"  # mounted by the ServiceAccount admission
    body = pod(
        "report",
        {
            "command": ["python", "-c", REPORT],
            "args": [token_dir, "/checkpoints", "$(T_POD)"],
            "env": env,
            "envFrom": [{"configMapRef": {"name": "cfg"}, "prefix": ""}],
            "volumeMounts": [
                {"name": "ckpt", "mountPath": "/checkpoints"},
                {"name": "config", "mountPath": "/etc/trainer"},
            ],
        },
        volumes=[
            {"name": "ckpt", "persistentVolumeClaim": {"claimName": "ckpt"}},
            {"name": "config", "configMap": {"name": "cfg", "items": [{"key": "settings.json", "path": "s.json"}]}},
        ],
    )
    core.create_namespaced_pod(k8s_namespace, body)
    wait_for(lambda: phase(core, k8s_namespace, "report") in ("Succeeded", "Failed"), timeout=60)
    log = pod_runner.logs(k8s_namespace, "report")
    assert phase(core, k8s_namespace, "report") == "Succeeded", log
    out = json.loads(log)
    ckpt = pod_runner.pvc_dir(k8s_namespace, "ckpt")
    assert out["env"] == {
        "T_LITERAL": "plain",
        "T_EXPANDED": "plain-x",
        "T_SECRET": "s3cret",
        "T_POD": "report",
        "T_APP": "demo",
        "T_CKPT": f"{ckpt}/run-1",
        "T_FROM_ENVFROM": "yes",
        "T_CONFIG_DIR": out["env"]["T_CONFIG_DIR"],
    }
    assert out["argv"][1:] == [str(ckpt), "report"]
    assert out["env"]["T_CONFIG_DIR"] != "/etc/trainer"
    assert out["config"] == ["s.json"]
    assert (out["namespace"], out["has_token"]) == (k8s_namespace, True)
    assert (ckpt / "written").read_text() == "ok"


@pytest.mark.k8s
@pytest.mark.timeout(120)
def test_waits_for_a_missing_secret(pod_runner, kube_api, k8s_namespace):
    core = kubernetes.client.CoreV1Api(kube_api)
    env = [{"name": "T", "valueFrom": {"secretKeyRef": {"name": "later", "key": "k"}}}]
    core.create_namespaced_pod(k8s_namespace, pod("waiter", {"command": ["python", "-c", "pass"], "env": env}))

    def waiting_reason():
        statuses = core.read_namespaced_pod_status("waiter", k8s_namespace).status.container_statuses or []
        return statuses and statuses[0].state.waiting and statuses[0].state.waiting.reason

    assert wait_for(waiting_reason, timeout=30) == "CreateContainerConfigError"
    core.create_namespaced_secret(k8s_namespace, {"metadata": {"name": "later"}, "stringData": {"k": "v"}})
    wait_for(lambda: phase(core, k8s_namespace, "waiter") == "Succeeded", timeout=30)


@pytest.mark.k8s
@pytest.mark.timeout(60)
def test_gpu_pod_stays_pending_without_gpus(pod_runner, kube_api, k8s_namespace):
    core = kubernetes.client.CoreV1Api(kube_api)
    gpu = {"limits": {"nvidia.com/gpu": "1"}}
    core.create_namespaced_pod(k8s_namespace, pod("gpu", {"command": ["python", "-c", "pass"], "resources": gpu}))

    def unschedulable():
        conditions = core.read_namespaced_pod_status("gpu", k8s_namespace).status.conditions or []
        return any(c.type == "PodScheduled" and c.reason == "Unschedulable" for c in conditions)

    wait_for(unschedulable, timeout=30)
    assert core.read_namespaced_pod("gpu", k8s_namespace).spec.node_name is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/checkpoints", "/L/ckpt"),
        ("--dir=/checkpoints/run-1", "--dir=/L/ckpt/run-1"),
        ("/checkpointsX /data:/data/x", "/checkpointsX /L/data:/L/data/x"),
        ("/database /x/checkpoints", "/database /x/checkpoints"),
    ],
)
def test_rewrite_mount_paths(text, expected):
    mounts = {"/checkpoints": Path("/L/ckpt"), "/data/": Path("/L/data")}
    assert rewrite_mount_paths(text, mounts) == expected


def test_expand_refs():
    env = {"A": "1"}
    assert expand_refs("$(A)-$(B)-$$(A)", env) == "1-$(B)-$(A)"


FAIL_ONCE = "import os, sys; m = sys.argv[1] + '/tried'; os.path.exists(m) or (open(m, 'w'), sys.exit(1))"


@pytest.mark.k8s
@pytest.mark.timeout(60)
def test_init_container_then_restart_on_failure(pod_runner, kube_api, k8s_namespace):
    core = kubernetes.client.CoreV1Api(kube_api)
    mount = [{"name": "work", "mountPath": "/work"}]
    body = pod(
        "flaky",
        {"command": ["python", "-c", FAIL_ONCE, "/work"], "volumeMounts": mount},
        volumes=[{"name": "work", "emptyDir": {}}],
        restartPolicy="OnFailure",
        initContainers=[
            {"name": "init", "image": "x", "command": ["python", "-c", "print('init')"], "volumeMounts": mount}
        ],
    )
    core.create_namespaced_pod(k8s_namespace, body)
    wait_for(lambda: phase(core, k8s_namespace, "flaky") == "Succeeded", timeout=30)
    status = core.read_namespaced_pod_status("flaky", k8s_namespace).status
    assert status.init_container_statuses[0].state.terminated.exit_code == 0
    main = status.container_statuses[0]
    assert (main.restart_count, main.last_state.terminated.exit_code) == (1, 1)
    assert pod_runner.logs(k8s_namespace, "flaky", "init") == "init\n"
