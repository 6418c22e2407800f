"""The real Job controller with pods on the real node (containers of the trainer image):
completion, exit codes, podFailurePolicy, deletion (SIGTERM then a retry that finds the first
pod's files on the shared volume), activeDeadlineSeconds and an OOM kill from a memory limit."""

from __future__ import annotations

import textwrap

import kubernetes
import pytest

from tests.support.kube.wait import wait_for

pytestmark = [pytest.mark.k8s, pytest.mark.timeout(240)]

IMAGE = "trainyard/trainer:dev"  # built by `make images`, imported into the node


def job(name: str, command: list[str], *, backoff_limit: int = 0, volumes: dict | None = None, **spec) -> dict:
    container = {"name": "main", "image": IMAGE, "imagePullPolicy": "IfNotPresent", "command": command}
    pod_spec: dict = {"restartPolicy": "Never", "terminationGracePeriodSeconds": 10, "containers": [container]}
    if volumes:
        pod_spec["volumes"] = [{"name": v, "persistentVolumeClaim": {"claimName": v}} for v in volumes]
        container["volumeMounts"] = [{"name": v, "mountPath": path} for v, path in volumes.items()]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {"backoffLimit": backoff_limit, "template": {"spec": pod_spec}, **spec},
    }


@pytest.fixture
def batch(kube_api) -> kubernetes.client.BatchV1Api:
    return kubernetes.client.BatchV1Api(kube_api)


@pytest.fixture
def core(kube_api) -> kubernetes.client.CoreV1Api:
    return kubernetes.client.CoreV1Api(kube_api)


def finished(batch, ns: str, name: str, timeout: float = 90):
    """The Job's terminal condition (Complete or Failed) once it has one."""

    def terminal():
        conditions = batch.read_namespaced_job_status(name, ns).status.conditions or []
        return next((c for c in conditions if c.type in ("Complete", "Failed") and c.status == "True"), None)

    return wait_for(terminal, timeout=timeout, what=f"job {ns}/{name} finished")


def job_pods(core, ns: str, name: str) -> list:
    pods = core.list_namespaced_pod(ns, label_selector=f"job-name={name}").items
    return sorted(pods, key=lambda p: p.metadata.creation_timestamp)


def running_pod(core, ns: str, name: str, exclude: tuple[str, ...] = ()):
    def probe():
        return next(
            (p for p in job_pods(core, ns, name) if p.status.phase == "Running" and p.metadata.name not in exclude),
            None,
        )

    return wait_for(probe, timeout=60, what=f"a running pod of job {name}")


def terminated(pod) -> kubernetes.client.V1ContainerStateTerminated:
    return pod.status.container_statuses[0].state.terminated


def test_job_completes(kube_node, k8s_namespace, batch, core):
    batch.create_namespaced_job(k8s_namespace, job("hello", ["python", "-c", "print('hi')"]))
    assert finished(batch, k8s_namespace, "hello").type == "Complete"
    (pod,) = job_pods(core, k8s_namespace, "hello")
    assert pod.status.phase == "Succeeded"
    assert (terminated(pod).exit_code, terminated(pod).reason) == (0, "Completed")
    assert core.read_namespaced_pod_log(pod.metadata.name, k8s_namespace) == "hi\n"  # the container's log


def test_exit_code_is_reported_and_fails_the_job(kube_node, k8s_namespace, batch, core):
    batch.create_namespaced_job(k8s_namespace, job("exit3", ["python", "-c", "raise SystemExit(3)"]))
    condition = finished(batch, k8s_namespace, "exit3")
    assert (condition.type, condition.reason) == ("Failed", "BackoffLimitExceeded")
    (pod,) = job_pods(core, k8s_namespace, "exit3")
    assert pod.status.phase == "Failed"
    assert (terminated(pod).exit_code, terminated(pod).reason) == (3, "Error")


def test_pod_failure_policy_fails_the_job_without_retry(kube_node, k8s_namespace, batch, core):
    policy = {"rules": [{"action": "FailJob", "onExitCodes": {"operator": "In", "values": [2]}}]}
    body = job("fatal", ["python", "-c", "raise SystemExit(2)"], backoff_limit=3, podFailurePolicy=policy)
    batch.create_namespaced_job(k8s_namespace, body)
    condition = finished(batch, k8s_namespace, "fatal")
    assert (condition.type, condition.reason) == ("Failed", "PodFailurePolicy")
    pods = job_pods(core, k8s_namespace, "fatal")
    assert len(pods) == 1
    assert terminated(pods[0]).exit_code == 2


SIGTERM_SCRIPT = textwrap.dedent("""
    import os, signal, sys, time
    ckpt = sys.argv[1]
    pod = os.environ["POD_NAME"]
    def on_term(signum, frame):
        open(os.path.join(ckpt, f"sigterm-{pod}"), "w").close()
        sys.exit(143)
    signal.signal(signal.SIGTERM, on_term)
    open(os.path.join(ckpt, f"started-{pod}"), "w").close()
    time.sleep(300)
""")


def test_deleted_pod_gets_sigterm_and_the_job_retries(kube_node, k8s_namespace, batch, core):
    ckpt = kube_node.shared_claim(k8s_namespace, "ckpt")  # /checkpoints, seen from this machine
    body = job(
        "retry", ["python", "-c", SIGTERM_SCRIPT, "/checkpoints"], backoff_limit=2, volumes={"ckpt": "/checkpoints"}
    )
    body["spec"]["template"]["spec"]["containers"][0]["env"] = [
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}
    ]
    batch.create_namespaced_job(k8s_namespace, body)

    first = running_pod(core, k8s_namespace, "retry").metadata.name
    wait_for(lambda: (ckpt / f"started-{first}").exists(), timeout=30, what="first pod started")
    core.delete_namespaced_pod(first, k8s_namespace)

    wait_for(lambda: (ckpt / f"sigterm-{first}").exists(), timeout=30, what="SIGTERM marker")
    second = running_pod(core, k8s_namespace, "retry", exclude=(first,)).metadata.name
    wait_for(lambda: (ckpt / f"started-{second}").exists(), timeout=30, what="retry started")
    status = batch.read_namespaced_job_status("retry", k8s_namespace).status
    assert status.failed == 1
    batch.delete_namespaced_job("retry", k8s_namespace, propagation_policy="Background")


def test_active_deadline_fails_the_job(kube_node, k8s_namespace, batch):
    body = job("slow", ["python", "-c", "import time; time.sleep(300)"], activeDeadlineSeconds=3)
    batch.create_namespaced_job(k8s_namespace, body)
    condition = finished(batch, k8s_namespace, "slow", timeout=60)
    assert (condition.type, condition.reason) == ("Failed", "DeadlineExceeded")


def test_memory_limit_oom_kill_reports_137_and_fails_the_job(kube_node, k8s_namespace, batch, core):
    # python is the container's PID 1 and the allocating process: the cgroup OOM killer gives 137
    body = job("hog", ["python", "-c", "b = [bytearray(16 << 20) for _ in range(64)]"])
    body["spec"]["template"]["spec"]["containers"][0]["resources"] = {"limits": {"memory": "96Mi"}}
    batch.create_namespaced_job(k8s_namespace, body)
    assert finished(batch, k8s_namespace, "hog").type == "Failed"
    (pod,) = job_pods(core, k8s_namespace, "hog")
    assert (terminated(pod).exit_code, terminated(pod).reason) == (137, "OOMKilled")
