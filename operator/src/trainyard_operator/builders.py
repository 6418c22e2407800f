"""Pure construction of the batch/v1 Job for a TrainingRun; applied by reconcile/create.py via kube.py.

No I/O: ``build_job(run, settings)`` is a function of the validated run (spec.py) and the
operator's settings (settings.py). The trainer container gets exactly the ``TRAINER_*`` variables
its settings class knows: the spec fields marked ``ToTrainer`` in spec.py, plus the run id, device,
checkpoint directory and metrics address (tests/trainyard_operator/test_contract.py checks them),
MongoDB's URI from a Secret, the checkpoint claim, a writable emptyDir at /tmp and a read-only, non-root
security context.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from trainyard_operator import constants as c
from trainyard_operator.settings import OperatorSettings
from trainyard_operator.spec import Toleration, ToTrainer, TrainingRun

TRAINER_PREFIX = "TRAINER_"  # TrainerSettings' env_prefix (test_contract.py checks it)


def job_name(run: TrainingRun) -> str:
    """Deterministic: the run's name (at most 63 characters, enforced by the CRD and spec.py)."""
    return run.name


def labels(run: TrainingRun) -> dict[str, str]:
    """Labels of the Job and its pods; ``RUN_ID_LABEL`` selects a run's pods."""
    return {
        c.NAME_LABEL: c.APP_NAME,
        c.COMPONENT_LABEL: c.COMPONENT,
        c.INSTANCE_LABEL: run.name,
        c.PART_OF_LABEL: c.PART_OF,
        c.MANAGED_BY_LABEL: c.MANAGED_BY,
        c.RUN_ID_LABEL: run.uid,
        c.RUN_NAME_LABEL: run.name,
        c.AGENT_ID_LABEL: run.spec.agent_id,
    }


def owner_reference(run: TrainingRun) -> dict[str, Any]:
    return {"apiVersion": c.API_VERSION, "kind": c.KIND, "name": run.name, "uid": run.uid, "controller": True,
            "blockOwnerDeletion": True}


def trainer_values(model: BaseModel) -> dict[str, Any]:
    """The trainer settings the spec fields marked ``ToTrainer`` carry (nested models searched too),
    by TrainerSettings field name; a nested model travels as JSON with its set fields, snake_case."""
    out: dict[str, Any] = {}
    for name, field in type(model).model_fields.items():
        value = getattr(model, name)
        target = next((m.setting for m in field.metadata if isinstance(m, ToTrainer)), None)
        if target is None:
            if isinstance(value, BaseModel):
                out.update(trainer_values(value))
            continue
        if isinstance(value, BaseModel):
            value = value.model_dump(exclude_none=True) or None
            value = json.dumps(value, sort_keys=True) if value else None
        if value is not None:
            out[target] = value
    return out


def trainer_env(run: TrainingRun, settings: OperatorSettings) -> list[dict[str, Any]]:
    """The container's environment: TrainerSettings fields (``TRAINER_*``), MongoDB, writable dirs."""
    spec = run.spec
    values: dict[str, Any] = {
        "run_id": run.uid,
        **trainer_values(spec),
        "device": "cuda" if spec.resources.gpu > 0 else "cpu",
        "checkpoint_dir": mount_path(run, settings),
        "metrics_port": settings.trainer_metrics_port,
        "metrics_addr": "0.0.0.0",
        # a SIGTERM that the operator did not ask for (pod deleted, evicted) fails the pod: the Job
        # retries it and the trainer resumes from the checkpoint it just saved
        "stop_exit_code": 143,
    }
    env: list[dict[str, Any]] = [{"name": f"{TRAINER_PREFIX}{k.upper()}", "value": str(v)}
                                 for k, v in values.items()]
    env.append({"name": "MONGODB_URI", "valueFrom": {"secretKeyRef": {
        "name": settings.mongodb_secret_name, "key": settings.mongodb_secret_key}}})
    env.append({"name": "MONGODB_DB_NAME", "value": settings.mongo.db_name})
    env += [
        {"name": "HOME", "value": c.TMP_DIR},
        {"name": "MPLCONFIGDIR", "value": f"{c.TMP_DIR}/matplotlib"},
        {"name": "NUMBA_CACHE_DIR", "value": f"{c.TMP_DIR}/numba"},
        {"name": "PYTHONUNBUFFERED", "value": "1"},
    ]
    fixed = {e["name"] for e in env}
    env += [{"name": k, "value": v} for k, v in sorted(settings.trainer_env.items()) if k not in fixed]
    return env


def mount_path(run: TrainingRun, settings: OperatorSettings) -> str:
    return run.spec.checkpoint.mount_path or settings.checkpoint_mount_path


def resources(run: TrainingRun, settings: OperatorSettings) -> dict[str, Any]:
    spec = run.spec.resources
    cpu = str(spec.cpu if spec.cpu is not None else settings.default_cpu)
    memory = str(spec.memory if spec.memory is not None else settings.default_memory)
    out: dict[str, Any] = {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory}}
    if spec.gpu > 0:
        out["requests"][c.GPU_RESOURCE] = str(spec.gpu)
        out["limits"][c.GPU_RESOURCE] = str(spec.gpu)
    return out


def tolerations(run: TrainingRun, settings: OperatorSettings) -> list[dict[str, Any]]:
    wanted: list[Toleration] = [*settings.default_tolerations, *run.spec.tolerations]
    if run.spec.resources.gpu > 0:
        wanted.append(settings.gpu_toleration)
    out: list[dict[str, Any]] = []
    for t in wanted:
        body = t.model_dump(by_alias=True, exclude_none=True)
        if body not in out:
            out.append(body)
    return out


def pod_annotations(settings: OperatorSettings) -> dict[str, str]:
    if not settings.trainer_metrics_port:
        return {}
    return {"prometheus.io/scrape": "true", "prometheus.io/port": str(settings.trainer_metrics_port),
            "prometheus.io/path": c.METRICS_PATH}


def container(run: TrainingRun, settings: OperatorSettings) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": c.CONTAINER_NAME,
        "image": run.spec.image or settings.trainer_image,
        "imagePullPolicy": settings.image_pull_policy,
        "command": list(c.TRAINER_COMMAND),
        "env": trainer_env(run, settings),
        "resources": resources(run, settings),
        "volumeMounts": [
            {"name": c.CHECKPOINT_VOLUME, "mountPath": mount_path(run, settings)},
            {"name": c.TMP_VOLUME, "mountPath": c.TMP_DIR},
        ],
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": c.RUN_AS_USER,
            "runAsGroup": c.RUN_AS_USER,
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
        },
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }
    if settings.trainer_metrics_port:
        body["ports"] = [{"name": c.METRICS_PORT_NAME, "containerPort": settings.trainer_metrics_port,
                          "protocol": "TCP"}]
    return body


def pod_failure_policy() -> dict[str, Any]:
    """Exit code 2 (bad configuration) fails the Job at once; a disruption is not the trainer's fault."""
    return {"rules": [
        {"action": "FailJob",
         "onExitCodes": {"containerName": c.CONTAINER_NAME, "operator": "In", "values": [c.EXIT_BAD_CONFIG]}},
        {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]},
    ]}


def build_job(run: TrainingRun, settings: OperatorSettings) -> dict[str, Any]:
    """The Job that runs ``trainyard-train`` for ``run``; one per run, named after it."""
    spec = run.spec
    node_selector = {**settings.default_node_selector, **spec.node_selector}
    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",  # retries are the Job's (backoffLimit), each in a fresh pod
        "terminationGracePeriodSeconds": settings.termination_grace_seconds,
        "enableServiceLinks": False,
        "automountServiceAccountToken": False,
        "securityContext": {"runAsNonRoot": True, "runAsUser": c.RUN_AS_USER, "runAsGroup": c.RUN_AS_USER,
                            "fsGroup": c.RUN_AS_USER, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [container(run, settings)],
        "volumes": [
            {"name": c.CHECKPOINT_VOLUME, "persistentVolumeClaim": {
                "claimName": spec.checkpoint.claim_name or settings.checkpoint_claim_name}},
            {"name": c.TMP_VOLUME, "emptyDir": {}},
        ],
    }
    if node_selector:
        pod_spec["nodeSelector"] = node_selector
    tols = tolerations(run, settings)
    if tols:
        pod_spec["tolerations"] = tols
    if settings.trainer_service_account:
        pod_spec["serviceAccountName"] = settings.trainer_service_account
    job_spec: dict[str, Any] = {
        "backoffLimit": spec.backoff_limit,
        "completions": 1,
        "parallelism": 1,
        "suspend": spec.stop,
        # A replacement starts only once the previous pod is gone: never two trainers on one run id.
        "podReplacementPolicy": "Failed",
        "podFailurePolicy": pod_failure_policy(),
        "template": {
            "metadata": {"labels": labels(run), "annotations": pod_annotations(settings)},
            "spec": pod_spec,
        },
    }
    if spec.active_deadline_seconds is not None:
        job_spec["activeDeadlineSeconds"] = spec.active_deadline_seconds
    if spec.ttl_seconds_after_finished is not None:
        job_spec["ttlSecondsAfterFinished"] = spec.ttl_seconds_after_finished
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": job_name(run),
            "namespace": run.namespace,
            "labels": labels(run),
            "ownerReferences": [owner_reference(run)],
        },
        "spec": job_spec,
    }
