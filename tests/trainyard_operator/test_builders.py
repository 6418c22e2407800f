"""The pure Job builder: identity, environment, volumes, security, GPUs, failure policy."""

from __future__ import annotations

import json

import pytest
from trainyard_operator import constants as c
from trainyard_operator.builders import build_job, labels
from trainyard_operator.settings import OperatorSettings
from trainyard_operator.spec import SpecError, TrainingRun
from trainyard_runstore.settings import MongoSettings

pytestmark = pytest.mark.unit

UID = "0b9d7c1e-3f3a-4bb2-9b7e-5a1f2c3d4e5f"


def settings(**kw) -> OperatorSettings:
    kw.setdefault("mongo", MongoSettings(uri="mongodb://db:27017", db_name="trainyard_test"))
    return OperatorSettings(**kw)


def run(**spec) -> TrainingRun:
    return TrainingRun.from_body({"metadata": {"name": "smoke", "namespace": "ml", "uid": UID, "generation": 1},
                                  "spec": {"agentId": "ppo-1", **spec}})


def env_of(job: dict) -> dict[str, str]:
    env = job["spec"]["template"]["spec"]["containers"][0]["env"]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in env}


def pod_spec(job: dict) -> dict:
    return job["spec"]["template"]["spec"]


def trainer(job: dict) -> dict:
    return pod_spec(job)["containers"][0]


def test_identity_labels_and_owner_reference():
    job = build_job(run(), settings())
    meta = job["metadata"]
    assert (job["apiVersion"], job["kind"], meta["name"], meta["namespace"]) == ("batch/v1", "Job", "smoke", "ml")
    assert meta["labels"][c.RUN_ID_LABEL] == UID
    assert meta["labels"][c.RUN_NAME_LABEL] == "smoke"
    assert meta["labels"][c.AGENT_ID_LABEL] == "ppo-1"
    assert job["spec"]["template"]["metadata"]["labels"] == meta["labels"] == labels(run())
    assert meta["ownerReferences"] == [{"apiVersion": "trainyard.dev/v1alpha1", "kind": "TrainingRun",
                                        "name": "smoke", "uid": UID, "controller": True,
                                        "blockOwnerDeletion": True}]


def test_build_is_deterministic():
    assert build_job(run(seed=3), settings()) == build_job(run(seed=3), settings())


ENV_CASES = {
    # name: (spec, settings kwargs, expected subset of the environment)
    "defaults": ({}, {}, {"TRAINER_RUN_ID": UID, "TRAINER_AGENT_ID": "ppo-1", "TRAINER_MODE": "smoke",
                          "TRAINER_ENV_ID": "trainyard/BlokusDuo-v0", "TRAINER_ALGORITHM": "MaskablePPO",
                          "TRAINER_SEED": "0", "TRAINER_N_ENVS": "1", "TRAINER_DEVICE": "cpu",
                          "TRAINER_CHECKPOINT_DIR": "/checkpoints", "TRAINER_METRICS_PORT": "9400",
                          "TRAINER_METRICS_ADDR": "0.0.0.0", "MONGODB_DB_NAME": "trainyard_test",
                          "HOME": "/tmp", "MPLCONFIGDIR": "/tmp/matplotlib", "NUMBA_CACHE_DIR": "/tmp/numba"}),
    "full run": ({"mode": "full", "totalTimesteps": 5000, "seed": 9, "nEnvs": 4, "opponent": "greedy",
                  "checkpoint": {"mountPath": "/data/ckpt", "everyTimesteps": 500}}, {},
                 {"TRAINER_MODE": "full", "TRAINER_TOTAL_TIMESTEPS": "5000", "TRAINER_SEED": "9",
                  "TRAINER_N_ENVS": "4", "TRAINER_OPPONENT": "greedy", "TRAINER_CHECKPOINT_DIR": "/data/ckpt",
                  "TRAINER_CHECKPOINT_EVERY": "500"}),
    "gpu": ({"resources": {"gpu": 1}}, {}, {"TRAINER_DEVICE": "cuda"}),
    "metrics off": ({}, {"trainer_metrics_port": 0}, {"TRAINER_METRICS_PORT": "0"}),
    "extra env": ({}, {"trainer_env": {"PYTHONPATH": "/src", "HOME": "/nope"}}, {"PYTHONPATH": "/src",
                                                                                  "HOME": "/tmp"}),
    "secret": ({}, {"mongodb_secret_name": "db", "mongodb_secret_key": "url"},
               {"MONGODB_URI": {"secretKeyRef": {"name": "db", "key": "url"}}}),
}


@pytest.mark.parametrize("spec,kw,expected", ENV_CASES.values(), ids=ENV_CASES.keys())
def test_environment(spec, kw, expected):
    env = env_of(build_job(run(**spec), settings(**kw)))
    assert {k: env.get(k) for k in expected} == expected


def test_unset_options_are_not_passed_and_attempt_is_left_to_the_trainer():
    env = env_of(build_job(run(), settings()))
    for name in ("TRAINER_TOTAL_TIMESTEPS", "TRAINER_CHECKPOINT_EVERY", "TRAINER_HYPERPARAMETERS", "TRAINER_ATTEMPT"):
        assert name not in env


def test_hyperparameters_are_json_in_snake_case():
    env = env_of(build_job(run(hyperparameters={"learningRate": 0.001, "nSteps": 128, "batchSize": 64,
                                                "gaeLambda": 0.9}), settings()))
    assert json.loads(env["TRAINER_HYPERPARAMETERS"]) == {"learning_rate": 0.001, "n_steps": 128, "batch_size": 64,
                                                          "gae_lambda": 0.9}


RESOURCE_CASES = {
    "operator defaults": ({}, {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"memory": "2Gi"}}),
    "spec values": ({"cpu": 2, "memory": "8Gi"}, {"requests": {"cpu": "2", "memory": "8Gi"},
                                                  "limits": {"memory": "8Gi"}}),
    "gpu": ({"cpu": "500m", "gpu": 2}, {"requests": {"cpu": "500m", "memory": "2Gi", "nvidia.com/gpu": "2"},
                                        "limits": {"memory": "2Gi", "nvidia.com/gpu": "2"}}),
}


@pytest.mark.parametrize("resources,expected", RESOURCE_CASES.values(), ids=RESOURCE_CASES.keys())
def test_resources(resources, expected):
    assert trainer(build_job(run(resources=resources), settings()))["resources"] == expected


def test_gpu_adds_the_toleration_once_and_keeps_the_runs_own():
    own = {"key": "dedicated", "operator": "Equal", "value": "training", "effect": "NoSchedule"}
    job = build_job(run(resources={"gpu": 1}, tolerations=[own], nodeSelector={"gpu": "a100"}),
                    settings(default_node_selector={"pool": "training"}))
    assert pod_spec(job)["tolerations"] == [own, {"key": "nvidia.com/gpu", "operator": "Exists",
                                                  "effect": "NoSchedule"}]
    assert pod_spec(job)["nodeSelector"] == {"pool": "training", "gpu": "a100"}
    cpu_job = build_job(run(), settings())
    assert "tolerations" not in pod_spec(cpu_job) and "nodeSelector" not in pod_spec(cpu_job)


def test_volumes_and_writable_tmp():
    job = build_job(run(checkpoint={"claimName": "runs", "mountPath": "/ckpt"}), settings())
    assert pod_spec(job)["volumes"] == [{"name": "checkpoints", "persistentVolumeClaim": {"claimName": "runs"}},
                                        {"name": "tmp", "emptyDir": {}}]
    assert trainer(job)["volumeMounts"] == [{"name": "checkpoints", "mountPath": "/ckpt"},
                                            {"name": "tmp", "mountPath": "/tmp"}]
    default = build_job(run(), settings(checkpoint_claim_name="shared"))
    assert pod_spec(default)["volumes"][0]["persistentVolumeClaim"]["claimName"] == "shared"


def test_security_context_is_non_root_and_read_only():
    job = build_job(run(), settings())
    ctx = trainer(job)["securityContext"]
    assert ctx["runAsNonRoot"] and ctx["readOnlyRootFilesystem"] and not ctx["allowPrivilegeEscalation"]
    assert ctx["capabilities"] == {"drop": ["ALL"]}
    assert pod_spec(job)["securityContext"]["runAsNonRoot"]
    assert pod_spec(job)["automountServiceAccountToken"] is False


def test_job_policy_retries_and_deadlines():
    job = build_job(run(backoffLimit=5, activeDeadlineSeconds=600, ttlSecondsAfterFinished=60), settings(
        termination_grace_seconds=45))
    spec = job["spec"]
    assert (spec["backoffLimit"], spec["activeDeadlineSeconds"], spec["ttlSecondsAfterFinished"]) == (5, 600, 60)
    assert (spec["completions"], spec["parallelism"], spec["suspend"]) == (1, 1, False)
    assert spec["podReplacementPolicy"] == "Failed"
    assert spec["podFailurePolicy"]["rules"] == [
        {"action": "FailJob", "onExitCodes": {"containerName": "trainer", "operator": "In", "values": [2]}},
        {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]},
    ]
    assert pod_spec(job)["restartPolicy"] == "Never"
    assert pod_spec(job)["terminationGracePeriodSeconds"] == 45
    plain = build_job(run(), settings())["spec"]
    assert "activeDeadlineSeconds" not in plain and "ttlSecondsAfterFinished" not in plain


def test_stop_at_creation_builds_a_suspended_job():
    assert build_job(run(stop=True), settings())["spec"]["suspend"] is True


def test_prometheus_annotations_and_port():
    job = build_job(run(), settings(trainer_metrics_port=9500))
    assert job["spec"]["template"]["metadata"]["annotations"] == {
        "prometheus.io/scrape": "true", "prometheus.io/port": "9500", "prometheus.io/path": "/metrics"}
    assert trainer(job)["ports"] == [{"name": "metrics", "containerPort": 9500, "protocol": "TCP"}]
    off = build_job(run(), settings(trainer_metrics_port=0))
    assert off["spec"]["template"]["metadata"]["annotations"] == {} and "ports" not in trainer(off)


def test_image_and_command():
    assert trainer(build_job(run(), settings(trainer_image="reg/trainer:1")))["image"] == "reg/trainer:1"
    job = build_job(run(image="reg/trainer:dev"), settings(image_pull_policy="Always"))
    assert (trainer(job)["image"], trainer(job)["imagePullPolicy"]) == ("reg/trainer:dev", "Always")
    assert trainer(job)["command"] == ["trainyard-train"]


INVALID = {
    "batch larger than rollout": ({"hyperparameters": {"nSteps": 64, "batchSize": 128}}, "spec.hyperparameters"),
    "bad quantity": ({"resources": {"memory": "4 GB"}}, "spec.resources.memory"),
    "unknown field": ({"bogus": 1}, "spec.bogus"),
    "negative timesteps": ({"totalTimesteps": -1}, "spec.totalTimesteps"),
}


@pytest.mark.parametrize("spec,field", INVALID.values(), ids=INVALID.keys())
def test_invalid_specs_name_the_field(spec, field):
    with pytest.raises(SpecError, match=field.replace(".", r"\.")):
        run(**spec)


def test_long_names_are_refused():
    with pytest.raises(SpecError, match="metadata.name"):
        TrainingRun.from_body({"metadata": {"name": "x" * 64, "namespace": "ml", "uid": UID},
                               "spec": {"agentId": "a"}})
