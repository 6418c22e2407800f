"""The operator against the real control plane: kube-apiserver + kube-controller-manager (Job
controller, garbage collector) and the pod runner, which runs each trainer pod as a local
``trainyard-train`` process against a real FerretDB. The operator runs as a subprocess
(``trainyard-operator``) scoped to the test's namespace, so a test can kill and restart it.
"""

from __future__ import annotations

import json
import re
import subprocess
import time

import httpx
import kubernetes
import pytest
import yaml
from trainyard_runstore.sync_store import RunStore

from tests.support.kube.wait import wait_for
from tests.support.ports import free_port
from tests.trainyard_operator.harness import (
    FAST,
    GROUP,
    KUBECTL,
    REPO,
    SECRET,
    VERSION,
    Cluster,
    Operator,
    service_account_kubeconfig,
)

pytestmark = pytest.mark.k8s


@pytest.mark.timeout(300)
def test_smoke_sample_completes_with_episodes_in_the_api_and_printer_columns(
        control_plane, kube_api, namespace_ready, kube_node, make_operator, store, api_server):
    trainer_port, health_port = free_port(), free_port()
    op = make_operator(TRAINYARD_OPERATOR_TRAINER_METRICS_PORT=str(trainer_port),
                       TRAINYARD_OPERATOR_HEALTH_PORT=str(health_port)).start()
    c = Cluster(control_plane, kube_api, namespace_ready, kube_node, op, store)
    c.kubectl("apply", "-f", str(REPO / "examples" / "trainingrun-smoke.yaml"))
    name = yaml.safe_load((REPO / "examples" / "trainingrun-smoke.yaml").read_text())["metadata"]["name"]
    uid = c.run(name)["metadata"]["uid"]

    job = wait_for(lambda: c.batch.read_namespaced_job(name, c.ns) if c.status(name).get("jobName") else None,
                   timeout=60, what="the Job")
    assert job.metadata.owner_references[0].uid == uid and job.metadata.owner_references[0].controller
    assert job.metadata.labels["trainyard.dev/run-id"] == uid
    template = job.spec.template
    assert template.metadata.annotations == {"prometheus.io/scrape": "true", "prometheus.io/port": str(trainer_port),
                                             "prometheus.io/path": "/metrics"}
    env = {e.name: e for e in template.spec.containers[0].env}
    assert env["TRAINER_RUN_ID"].value == uid and env["MONGODB_URI"].value_from.secret_key_ref.name == SECRET

    status = c.wait_phase(name, "Completed", "Failed", "Stopped", timeout=240)
    assert status["phase"] == "Completed", status
    assert status["runId"] == uid and status["attempts"] == 1 and status["completionTime"]
    episodes = status["progress"]["episodes"]
    assert episodes > 0 and status["progress"]["lastCheckpoint"].endswith(".zip")

    detail = httpx.get(f"{api_server.url}/api/training-runs/{uid}", timeout=10).json()
    assert detail["status"] == "completed" and detail["agent_id"] == "ppo-smoke"
    assert detail["summary"]["episodes"] == episodes
    assert len(detail["metrics"]["episodes"]) == episodes

    table = c.kubectl("get", "tr").stdout.splitlines()
    assert table[0].split() == ["NAME", "AGENT", "STATUS", "EPISODES", "WINRATE", "AGE"]
    row = table[1].split()
    assert row[:4] == [name, "ppo-smoke", "Completed", str(episodes)]
    assert 0.0 <= float(row[4]) <= 1.0

    assert httpx.get(f"http://127.0.0.1:{health_port}/healthz", timeout=5).status_code == 200  # the chart's probe
    metrics = op.metrics()
    assert "trainyard_operator_jobs_created_total 1.0" in metrics
    assert 'trainyard_operator_runs{phase="Completed"} 1.0' in metrics
    assert "trainyard_operator_job_creation_seconds_count 1.0" in metrics

    # Deleting the TrainingRun removes its Job and pods, never its history.
    c.kubectl("delete", "tr", name, "--wait=true")
    wait_for(lambda: not c.batch.list_namespaced_job(c.ns).items and not c.job_pods(name), timeout=60,
             what="Job and pods garbage-collected")
    assert httpx.get(f"{api_server.url}/api/training-runs/{uid}", timeout=10).json()["summary"]["episodes"] == episodes


MALFORMED = {
    # name: (spec, the field the error must name)
    "wrong type": ({"agentId": "a", "totalTimesteps": "many"}, "spec.totalTimesteps"),
    "enum violation": ({"agentId": "a", "mode": "huge"}, "spec.mode"),
    "negative timesteps": ({"agentId": "a", "totalTimesteps": -5}, "spec.totalTimesteps"),
    "unknown field": ({"agentId": "a", "learningRate": 0.1}, "spec.learningRate"),
    "missing agentId": ({"mode": "smoke"}, "spec.agentId"),
    "bad resource quantity": ({"agentId": "a", "resources": {"memory": "4 GB"}}, "spec.resources.memory"),
    "batch larger than rollout": ({"agentId": "a", "hyperparameters": {"nSteps": 64, "batchSize": 128}},
                                  "spec.hyperparameters.batchSize"),
    "bad env id": ({"agentId": "a", "env": "no spaces allowed"}, "spec.env"),
}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("spec,field", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_specs_are_rejected_naming_the_field(control_plane, k8s_namespace, crd_installed, spec, field):
    body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "TrainingRun", "metadata": {"name": "bad"}, "spec": spec}
    out = subprocess.run([KUBECTL, "--kubeconfig", str(control_plane.kubeconfig), "-n", k8s_namespace, "apply",
                          "--validate=strict", "-f", "-"], input=yaml.safe_dump(body), capture_output=True,
                         text=True, timeout=60)
    assert out.returncode != 0, out.stdout
    assert field in out.stderr, out.stderr


@pytest.mark.timeout(120)
def test_long_names_are_rejected(control_plane, k8s_namespace, crd_installed):
    body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "TrainingRun", "metadata": {"name": "x" * 64},
            "spec": {"agentId": "a"}}
    out = subprocess.run([KUBECTL, "--kubeconfig", str(control_plane.kubeconfig), "-n", k8s_namespace, "apply",
                          "-f", "-"], input=yaml.safe_dump(body), capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and "63 characters" in out.stderr, out.stderr


@pytest.mark.timeout(240)
def test_trainer_crash_ends_failed_with_the_exception(cluster: Cluster):
    run = cluster.apply("crash", env="tests.support.faulty_env:CrashingBlokusDuo-v0", backoffLimit=0, **FAST)
    status = cluster.wait_phase("crash", "Failed", "Completed", "Stopped")
    assert status["phase"] == "Failed", status
    failure = status["failure"]
    assert failure["reason"] == "TrainerError" and failure["exitCode"] == 1 and failure["source"] == "trainer", failure
    assert "RuntimeError: injected failure after 300 steps" in failure["message"]
    doc = cluster.store.get_run(run["metadata"]["uid"])
    assert doc.status == "failed"
    assert doc.metadata.error.type == "RuntimeError" and doc.metadata.error.source == "trainer"
    finished = next(c for c in status["conditions"] if c["type"] == "Finished")
    assert (finished["status"], finished["reason"]) == ("True", "TrainerError")


@pytest.mark.timeout(180)
def test_bad_configuration_fails_at_once_without_retries(cluster: Cluster):
    run = cluster.apply("badconfig", env="no_such_module:Nothing-v0", backoffLimit=3, **FAST)
    status = cluster.wait_phase("badconfig", "Failed", "Completed")
    assert status["failure"]["reason"] == "BadConfiguration" and status["failure"]["exitCode"] == 2, status
    assert len(cluster.job_pods("badconfig")) == 1
    error = cluster.store.get_run(run["metadata"]["uid"]).metadata.error
    assert (error.reason, error.exit_code, error.source) == ("BadConfiguration", 2, "operator")
    # the record's last lines come from the real container log (the kubelet's, through the API)
    lines = status["failure"]["logLines"]
    assert lines and any("no_such_module" in line for line in lines), lines


@pytest.mark.timeout(180)
def test_active_deadline_ends_failed_with_deadline_exceeded(cluster: Cluster):
    run = cluster.apply("deadline", totalTimesteps=100_000, activeDeadlineSeconds=6, **FAST)
    status = cluster.wait_phase("deadline", "Failed", "Completed", "Stopped")
    assert status["phase"] == "Failed", status
    assert status["failure"]["reason"] == "DeadlineExceeded" and status["failure"]["podReason"] == "DeadlineExceeded"
    doc = cluster.store.get_run(run["metadata"]["uid"])
    assert doc.status == "failed"
    assert (doc.metadata.error.reason, doc.metadata.error.source) == ("DeadlineExceeded",
                                                                                       "operator")


@pytest.mark.timeout(240)
def test_oom_killed_pod_is_recorded_with_its_exit_code(cluster: Cluster):
    # A real cgroup memory limit below what the trainer needs: the kernel kills it (PID 1: 137).
    run = cluster.apply("oom", totalTimesteps=100_000, backoffLimit=0, resources={"memory": "160Mi"}, **FAST)
    uid = run["metadata"]["uid"]
    status = cluster.wait_phase("oom", "Failed", "Completed")
    pod = cluster.job_pods("oom")[0].metadata.name
    failure = status["failure"]
    assert (failure["reason"], failure["exitCode"], failure["podReason"], failure["podName"]) == (
        "OOMKilled", 137, "OOMKilled", pod), status
    assert failure["recorded"] is True and failure["source"] == "operator"
    doc = cluster.store.get_run(uid)
    error = doc.metadata.error
    assert doc.status == "failed"
    assert (error.type, error.exit_code, error.pod_reason, error.source) == ("OOMKilled", 137,
                                                                                          "OOMKilled", "operator")


@pytest.mark.timeout(300)
@pytest.mark.parametrize("grace", [None, 0], ids=["graceful-delete", "node-lost"])
def test_deleted_pod_is_retried_and_resumes_from_the_checkpoint(cluster: Cluster, grace):
    run = cluster.apply("resume", totalTimesteps=1536, backoffLimit=2, **FAST)
    uid = run["metadata"]["uid"]
    first = cluster.running_pod("resume")
    latest = cluster.checkpoint_dir(uid) / "latest.json"

    # The kill may come at any moment after the first checkpoint, whether or not the episodes logged so far
    # reached the database: they are in the run's write-ahead log, which the retried pod writes first.
    wait_for(lambda: latest.exists() and json.loads(latest.read_text())["timestep"] >= 512, timeout=180,
             interval=0.1, what="a checkpoint at timestep >= 512")
    # graceful (`kubectl delete pod`): the trainer checkpoints on SIGTERM and exits 143, so the Job
    # retries the pod instead of counting it a success; grace 0 is a node that died.
    cluster.core.delete_namespaced_pod(first, cluster.ns, grace_period_seconds=grace)
    status = cluster.wait_phase("resume", "Completed", "Failed", "Stopped", timeout=240)
    assert status["phase"] == "Completed", status
    assert status["attempts"] == 2
    doc = cluster.store.get_run(uid)
    attempts = doc.metadata.attempts
    assert [a.attempt for a in attempts] == [1, 2]
    assert attempts[0].resumed_from is None
    assert attempts[1].resumed_from and attempts[1].resumed_timestep >= 512
    numbers = [e.episode for e in cluster.store.episodes(uid)]
    assert numbers == list(range(1, len(numbers) + 1)), "episode numbers have gaps or duplicates"
    assert doc.summary.episodes == len(numbers) == status["progress"]["episodes"]
    job = cluster.batch.read_namespaced_job_status("resume", cluster.ns).status
    assert (job.failed, job.succeeded) == (1, 1)  # the deleted pod counted as a failure, its retry succeeded


@pytest.mark.timeout(240)
def test_stop_mid_run_ends_stopped_with_a_final_checkpoint(cluster: Cluster):
    run = cluster.apply("stopme", totalTimesteps=100_000, **FAST)
    uid = run["metadata"]["uid"]
    pod = cluster.running_pod("stopme")
    cluster.episodes_stored(uid, 3)
    cluster.kubectl("patch", "tr", "stopme", "--type=merge", "-p", '{"spec": {"stop": true}}')
    status = cluster.wait_phase("stopme", "Stopped", "Completed", "Failed", timeout=120)
    assert status["phase"] == "Stopped", status
    assert any(c["type"] == "StopRequested" and c["status"] == "True" for c in status["conditions"])
    doc = cluster.store.get_run(uid)
    assert doc.status == "stopped"
    final = json.loads((cluster.checkpoint_dir(uid) / "latest.json").read_text())
    # the record's last checkpoint is the final one, and every episode logged before it was stored
    assert (doc.checkpoint_paths[-1].timestep, doc.checkpoint_paths[-1].episode) == (
        final["timestep"], final["episode"])
    assert final["episode"] == doc.summary.last_episode > 0
    assert doc.checkpoint_paths[-1].path.endswith(final["path"])
    assert status["progress"]["lastCheckpoint"].endswith(final["path"])
    assert cluster.batch.read_namespaced_job("stopme", cluster.ns).spec.suspend is True
    wait_for(lambda: _suspended_by_the_job_controller(cluster, "stopme"), timeout=60,
             what="the Job controller to act on the suspension (from then on it creates no pod)")
    assert {p.metadata.name for p in cluster.job_pods("stopme")} <= {pod}, "no new pod may start after a stop"


@pytest.mark.timeout(180)
def test_unschedulable_pod_fails_after_the_pending_timeout(cluster: Cluster):
    run = cluster.apply("nowhere", nodeSelector={"trainyard.dev/pool": "does-not-exist"}, pendingTimeoutSeconds=3)
    status = cluster.wait_phase("nowhere", "Failed", timeout=60)
    assert (status["failure"]["reason"], status["failure"]["podReason"]) == ("Unschedulable", "Unschedulable")
    wait_for(lambda: cluster.batch.read_namespaced_job("nowhere", cluster.ns).spec.suspend, timeout=30,
             what="the Job suspended")
    wait_for(lambda: not cluster.job_pods("nowhere"), timeout=30, what="the pending pod removed")
    error = cluster.store.get_run(run["metadata"]["uid"]).metadata.error
    assert (error.reason, error.pod_reason, error.source) == ("Unschedulable", "Unschedulable", "operator")


@pytest.mark.timeout(540)
def test_operator_restarts_with_ten_runs_in_flight(control_plane, kube_api, namespace_ready, kube_node,
                                                   make_operator, store):
    op = make_operator()
    c = Cluster(control_plane, kube_api, namespace_ready, kube_node, op, store)
    names = [f"fleet-{i}" for i in range(10)]
    for name in names:  # created while no operator runs
        c.apply(name, totalTimesteps=512, **FAST)
    op.start()
    wait_for(lambda: len(c.batch.list_namespaced_job(c.ns).items) >= 4, timeout=60, what="some Jobs created")
    op.kill()  # in the middle of creating Jobs
    op.start()
    wait_for(lambda: sum(c.status(n).get("phase") == "Running" for n in names) >= 3, timeout=180, interval=0.5,
             what="runs training")
    op.kill()  # in the middle of training
    time.sleep(2)
    op.start()
    for name in names:
        status = c.wait_phase(name, "Completed", "Failed", "Stopped", timeout=420)
        assert status["phase"] == "Completed", (name, status)
    jobs = c.batch.list_namespaced_job(c.ns).items
    assert sorted(j.metadata.name for j in jobs) == sorted(names)
    for job in jobs:
        uid = c.run(job.metadata.name)["metadata"]["uid"]
        assert [r.uid for r in job.metadata.owner_references] == [uid]
        assert len(c.job_pods(job.metadata.name)) == 1, f"{job.metadata.name} ran more than one pod"
        assert store.get_run(uid).status == "completed"
        assert c.status(job.metadata.name)["progress"]["episodes"] > 0


@pytest.mark.timeout(180)
def test_operator_works_with_the_documented_namespaced_permissions(
        control_plane, kube_api, namespace_ready, kube_node, mongo_settings, store, tmp_path):
    kubeconfig = service_account_kubeconfig(control_plane, kube_api, namespace_ready, tmp_path / "sa.kubeconfig")
    op = Operator(kubeconfig, namespace_ready, mongo_settings, tmp_path / "operator.log").start()
    try:
        c = Cluster(control_plane, kube_api, namespace_ready, kube_node, op, store)
        c.apply("badconfig", env="no_such_module:Nothing-v0", **FAST)  # create, watch, logs, status, events
        c.apply("nowhere", nodeSelector={"trainyard.dev/pool": "none"}, pendingTimeoutSeconds=3)  # suspend
        assert c.wait_phase("badconfig", "Failed", "Completed")["failure"]["reason"] == "BadConfiguration"
        assert c.wait_phase("nowhere", "Failed")["failure"]["reason"] == "Unschedulable"
        wait_for(lambda: c.batch.read_namespaced_job("nowhere", c.ns).spec.suspend, timeout=30, what="suspended")
        # a 403 status, not the digits inside a run id (5f4033e1-... failed this once)
        forbidden = [line for line in op.log_path.read_text().splitlines()
                     if re.search(r"\b403\b", line) or "Forbidden" in line]
        assert not forbidden, "\n".join(forbidden[:10])
    finally:
        op.stop()


@pytest.mark.timeout(180)
def test_failure_record_waits_for_an_unreachable_run_store(
        control_plane, kube_api, k8s_namespace, crd_installed, kube_node, own_ferretdb, tmp_path):
    """A failure the operator must record while MongoDB is down: the status says so, and the
    record lands once MongoDB is back."""
    from trainyard_runstore.settings import MongoSettings

    mongo = MongoSettings(uri=own_ferretdb.uri, db_name="outage", timeout_ms=500)
    core = kubernetes.client.CoreV1Api(kube_api)
    core.create_namespaced_secret(k8s_namespace, {"metadata": {"name": SECRET}, "stringData": {"uri": mongo.uri}})
    op = Operator(control_plane.kubeconfig, k8s_namespace, mongo, tmp_path / "operator.log",
                  MONGODB_TIMEOUT_MS="500").start()
    store = RunStore(mongo)
    try:
        c = Cluster(control_plane, kube_api, k8s_namespace, kube_node, op, store)
        own_ferretdb.stop()
        run = c.apply("nowhere", nodeSelector={"trainyard.dev/pool": "none"}, pendingTimeoutSeconds=2)
        status = c.wait_phase("nowhere", "Failed", timeout=60)
        assert status["failure"]["recorded"] is False
        own_ferretdb.start()
        wait_for(lambda: c.status("nowhere")["failure"]["recorded"], timeout=60, what="the record written")
        error = store.get_run(run["metadata"]["uid"]).metadata.error
        assert (error.reason, error.source) == ("Unschedulable", "operator")
    finally:
        op.stop()
        store.close()


@pytest.mark.timeout(120)
def test_a_run_created_stopped_never_starts_a_pod(cluster: Cluster):
    cluster.apply("parked", stop=True, **FAST)
    status = cluster.wait_phase("parked", "Stopped", "Failed", "Completed", timeout=60)
    assert status["phase"] == "Stopped", status
    assert cluster.batch.read_namespaced_job("parked", cluster.ns).spec.suspend is True
    wait_for(lambda: _suspended_by_the_job_controller(cluster, "parked"), timeout=60,
             what="the Job controller to act on the suspension (from then on it creates no pod)")
    assert cluster.job_pods("parked") == []


def _suspended_by_the_job_controller(cluster: Cluster, name: str) -> bool:
    """The Job controller sets Suspended only once it has seen ``spec.suspend``; a fixed sleep proves nothing."""
    conditions = cluster.batch.read_namespaced_job_status(name, cluster.ns).status.conditions or []
    return any(c.type == "Suspended" and c.status == "True" for c in conditions)
