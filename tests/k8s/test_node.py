"""The real node (containerd + runc + kubelet + kube-proxy, tests/support/kube/node.py) running
pods from the project's own images: containers, logs, Services, cgroup memory limits, image pull
failures, the read-only non-root security context, and extended-resource scheduling."""

from __future__ import annotations

import json

import kubernetes
import pytest

from tests.support.kube.wait import wait_for

pytestmark = [pytest.mark.k8s, pytest.mark.timeout(300)]

TRAINER = "trainyard/trainer:dev"
OPERATOR = "trainyard/operator:dev"
RESTRICTED = {
    "runAsNonRoot": True,
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


@pytest.fixture
def core(kube_api, kube_node) -> kubernetes.client.CoreV1Api:
    return kubernetes.client.CoreV1Api(kube_api)


def pod(name: str, image: str, command: list[str], **container) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 2,
            "containers": [
                {"name": "main", "image": image, "imagePullPolicy": "IfNotPresent", "command": command, **container}
            ],
        },
    }


def terminated(core, ns: str, name: str, timeout: float = 120):
    """The container's terminated state once the pod has finished."""

    def probe():
        p = core.read_namespaced_pod(name, ns)
        if p.status.phase in ("Succeeded", "Failed"):
            return p.status.container_statuses[0].state.terminated
        return None

    return wait_for(probe, timeout=timeout, what=f"pod {ns}/{name} finished")


def test_a_pod_runs_in_a_container_of_the_trainer_image_and_kubectl_logs_reads_it(core, k8s_namespace):
    script = (
        "import os, json, torch, trainyard_trainer;"
        "print(json.dumps({'uid': os.getuid(), 'pid': os.getpid(), 'torch': torch.__version__,"
        " 'host': os.uname().nodename}))"
    )
    core.create_namespaced_pod(k8s_namespace, pod("hello", TRAINER, ["python", "-c", script]))
    state = terminated(core, k8s_namespace, "hello")
    assert state.exit_code == 0, state
    out = json.loads(core.read_namespaced_pod_log("hello", k8s_namespace).strip().splitlines()[-1])
    # the image's own user, PID 1 of its own PID namespace, the pod's own hostname
    assert out == {"uid": 10001, "pid": 1, "torch": out["torch"], "host": "hello"}
    assert out["torch"].startswith("2.")


def test_a_pod_reaches_the_apiserver_through_the_kubernetes_service(core, k8s_namespace):
    """kube-proxy (inside the node's network namespace) routes the ClusterIP to the apiserver."""
    script = (
        "import os, ssl, urllib.request;"
        "d = '/var/run/secrets/kubernetes.io/serviceaccount/';"
        "ctx = ssl.create_default_context(cafile=d + 'ca.crt');"
        "host = os.environ['KUBERNETES_SERVICE_HOST'];"
        "url = 'https://%s:%s/version' % (host, os.environ['KUBERNETES_SERVICE_PORT']);"
        "req = urllib.request.Request(url, headers={'Authorization': 'Bearer ' + open(d + 'token').read()});"
        "print(host, urllib.request.urlopen(req, context=ctx, timeout=10).read().decode())"
    )
    core.create_namespaced_pod(k8s_namespace, pod("in-cluster", OPERATOR, ["python", "-c", script]))
    state = terminated(core, k8s_namespace, "in-cluster")
    logs = core.read_namespaced_pod_log("in-cluster", k8s_namespace)
    assert state.exit_code == 0, logs
    host, body = logs.strip().split(" ", 1)
    assert host.startswith("10.0.0.")  # the Service's ClusterIP, not the apiserver's own address
    assert json.loads(body)["gitVersion"] == "v1.37.2"


def test_a_memory_limit_oom_kills_the_container(core, k8s_namespace):
    # python is PID 1 and the process that allocates: exit 137, reason OOMKilled
    hog = ["python", "-c", "b = [bytearray(16 << 20) for _ in range(64)]; print('survived')"]
    body = pod("hog", TRAINER, hog, resources={"limits": {"memory": "96Mi"}, "requests": {"memory": "96Mi"}})
    core.create_namespaced_pod(k8s_namespace, body)
    state = terminated(core, k8s_namespace, "hog")
    assert (state.reason, state.exit_code) == ("OOMKilled", 137)


def test_a_missing_image_tag_waits_with_an_image_pull_reason(core, k8s_namespace):
    core.create_namespaced_pod(k8s_namespace, pod("no-image", "trainyard/trainer:no-such-tag", ["true"]))

    def waiting_reason():
        statuses = core.read_namespaced_pod("no-image", k8s_namespace).status.container_statuses or []
        waiting = statuses[0].state.waiting if statuses else None
        return waiting.reason if waiting and waiting.reason in ("ErrImagePull", "ImagePullBackOff") else None

    assert wait_for(waiting_reason, timeout=120, what="an image pull error") in ("ErrImagePull", "ImagePullBackOff")
    never = pod("never-pull", "trainyard/trainer:no-such-tag", ["true"])
    never["spec"]["containers"][0]["imagePullPolicy"] = "Never"
    core.create_namespaced_pod(k8s_namespace, never)

    def never_reason():
        statuses = core.read_namespaced_pod("never-pull", k8s_namespace).status.container_statuses or []
        waiting = statuses[0].state.waiting if statuses else None
        return waiting.reason if waiting and waiting.reason == "ErrImageNeverPull" else None

    assert wait_for(never_reason, timeout=60, what="ErrImageNeverPull") == "ErrImageNeverPull"


@pytest.mark.parametrize("image", [TRAINER, "trainyard/api:dev", OPERATOR])
def test_the_images_run_non_root_on_a_read_only_root_filesystem(core, k8s_namespace, image):
    """The chart's security context is enforced by runc: nothing outside the volumes is writable."""
    script = (
        "import os, json, errno\n"
        "out = {'uid': os.getuid()}\n"
        "for path in ('/opt/venv/x', '/etc/x', '/x', '/tmp/x'):\n"
        "    try:\n"
        "        open(path, 'w').write('x'); out[path] = 'written'\n"
        "    except OSError as e:\n"
        "        out[path] = errno.errorcode[e.errno]\n"
        "print(json.dumps(out))\n"
    )
    body = pod("ro", image, ["python", "-c", script], securityContext=RESTRICTED)
    body["spec"]["securityContext"] = {"runAsUser": 10001, "runAsGroup": 10001, "fsGroup": 10001}
    body["spec"]["volumes"] = [{"name": "tmp", "emptyDir": {}}]
    body["spec"]["containers"][0]["volumeMounts"] = [{"name": "tmp", "mountPath": "/tmp"}]
    core.create_namespaced_pod(k8s_namespace, body)
    state = terminated(core, k8s_namespace, "ro")
    logs = core.read_namespaced_pod_log("ro", k8s_namespace)
    assert state.exit_code == 0, logs
    expected = {"uid": 10001, "/opt/venv/x": "EROFS", "/etc/x": "EROFS", "/x": "EROFS", "/tmp/x": "written"}
    assert json.loads(logs) == expected


def test_a_root_image_user_is_refused_under_run_as_non_root(core, k8s_namespace):
    body = pod("as-root", TRAINER, ["true"], securityContext={**RESTRICTED, "runAsUser": 0})
    core.create_namespaced_pod(k8s_namespace, body)

    def reason():
        statuses = core.read_namespaced_pod("as-root", k8s_namespace).status.container_statuses or []
        waiting = statuses[0].state.waiting if statuses else None
        return waiting.reason if waiting and waiting.reason == "CreateContainerConfigError" else None

    assert wait_for(reason, timeout=60, what="CreateContainerConfigError") == "CreateContainerConfigError"


def test_a_gpu_request_schedules_only_against_gpu_capacity(core, k8s_namespace, kube_node):
    gpu = {"limits": {"nvidia.com/gpu": "1"}}
    core.create_namespaced_pod(k8s_namespace, pod("no-gpu", TRAINER, ["true"], resources=gpu))

    def unschedulable():
        conds = core.read_namespaced_pod("no-gpu", k8s_namespace).status.conditions or []
        c = next((c for c in conds if c.type == "PodScheduled"), None)
        return c if c is not None and c.reason == "Unschedulable" else None

    cond = wait_for(unschedulable, timeout=60, what="Unschedulable")
    assert "nvidia.com/gpu" in cond.message
    # A fake device plugin's worth of capacity: the documented way to advertise extended resources.
    patch = [{"op": "add", "path": f"/status/{field}/nvidia.com~1gpu", "value": "2"}
             for field in ("capacity", "allocatable")]
    core.patch_node_status(kube_node.name, patch)
    try:
        core.create_namespaced_pod(k8s_namespace, pod("with-gpu", TRAINER, ["true"], resources=gpu))
        state = terminated(core, k8s_namespace, "with-gpu")
        assert state.exit_code == 0
        assert core.read_namespaced_pod("with-gpu", k8s_namespace).spec.node_name == kube_node.name
    finally:
        core.patch_node_status(kube_node.name, [{"op": "remove", "path": f"/status/{field}/nvidia.com~1gpu"}
                                                for field in ("capacity", "allocatable")])
