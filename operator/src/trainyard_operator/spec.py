"""The TrainingRun spec as a pydantic model (camelCase on the wire), and the run the operator sees.

The single declaration of every spec field (fields the trainer shares, with their bounds and
descriptions, come from trainyard_runstore.run_config): the CRD's openAPIV3Schema
(charts/trainyard/crds/trainingruns.trainyard.dev.yaml) is generated from these models by crd.py
(``make crd``; tests/trainyard_operator/test_crd.py fails on a diff), descriptions, bounds, CEL rules
and formats included. The operator validates again here, so a spec that slipped past an older CRD
becomes a permanent error naming the field (reconcile/create.py), never a broken Job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from pydantic.alias_generators import to_camel
from trainyard_runstore import run_config
from trainyard_runstore.run_config import (
    AgentId,
    Algorithm,
    CheckpointEvery,
    EnvId,
    Mode,
    NEnvs,
    Opponent,
    Seed,
    TotalTimesteps,
)

# A Kubernetes resource quantity without a sign ("500m", "2", "1.5", "4Gi", "1e3").
QUANTITY_PATTERN = (
    r"^(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)
DNS_SUBDOMAIN_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
MOUNT_PATH_PATTERN = r"^/[^:]+$"
MAX_NAME_LENGTH = 63  # the Job is named after the run, and pods carry the Job's name as a label

Quantity = int | Annotated[str, StringConstraints(pattern=QUANTITY_PATTERN)]


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


def cel(rule: str, message: str, field_path: str | None = None) -> dict[str, str]:
    """A CEL validation rule the API server checks (``x-kubernetes-validations`` in the CRD)."""
    out = {"rule": rule, "message": message}
    return {**out, "fieldPath": field_path} if field_path else out


def immutable(name: str, verb: str = "is") -> dict[str, str]:
    return cel("self == oldSelf", f"{name} {verb} immutable")


def crd(*rules: dict[str, str], fmt: str | None = None, default: Any = None) -> dict[str, Any]:
    """CRD-only schema keywords for a field: CEL rules, an integer format, an object default."""
    out: dict[str, Any] = {}
    if fmt:
        out["format"] = fmt
    if rules:
        out["x-kubernetes-validations"] = list(rules)
    if default is not None:
        out["default"] = default  # {}: the API server creates the object so its fields' defaults apply
    return out


@dataclass(frozen=True)
class ToTrainer:
    """Marks a spec field the Job passes to the trainer as ``TRAINER_<SETTING>`` (builders.trainer_values)."""

    setting: str


class Hyperparameters(run_config.Hyperparameters):
    __doc__ = run_config.Hyperparameters.__doc__
    model_config = ConfigDict(frozen=True, json_schema_extra=crd(
        cel("!has(self.batchSize) || !has(self.nSteps) || self.batchSize <= self.nSteps",
            "batchSize must not exceed nSteps", ".batchSize"),
        immutable("hyperparameters", "are")))


class Evaluation(run_config.Evaluation):
    __doc__ = run_config.Evaluation.__doc__
    model_config = ConfigDict(frozen=True)


class Resources(_Model):
    """Trainer container resources; empty fields take the operator's defaults."""

    model_config = ConfigDict(json_schema_extra=crd(immutable("resources", "are")))

    cpu: Quantity | None = Field(default=None, description="CPU request, a quantity such as 2 or 500m.")
    memory: Quantity | None = Field(default=None, description="Memory request and limit, a quantity such as 4Gi.")
    gpu: int = Field(default=0, ge=0, le=16, description="nvidia.com/gpu count; above 0 the trainer runs on CUDA "
                                                         "and tolerates GPU taints.")


class CheckpointVolume(_Model):
    """The volume holding checkpoints under <mountPath>/<run id>/; a retried pod resumes from the latest one.
    Empty fields take the operator's defaults."""

    model_config = ConfigDict(json_schema_extra=crd(immutable("checkpoint")))

    claim_name: str | None = Field(default=None, max_length=253, pattern=DNS_SUBDOMAIN_PATTERN,
                                   description="Name of a PersistentVolumeClaim in the run's namespace.")
    mount_path: str | None = Field(default=None, max_length=1024, pattern=MOUNT_PATH_PATTERN,
                                   description="Absolute path where the claim is mounted in the trainer container.")
    every_timesteps: Annotated[CheckpointEvery | None, ToTrainer("checkpoint_every")] = Field(
        default=None, json_schema_extra=crd(fmt="int64"))


class Toleration(_Model):
    """A core/v1 Toleration."""

    key: str | None = Field(default=None, max_length=317,
                            description="Taint key; empty with operator Exists matches every key.")
    operator: Literal["Exists", "Equal"] = Field(default="Equal", description="Exists or Equal.")
    value: str | None = Field(default=None, max_length=63, description="Taint value to match with operator Equal.")
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = Field(
        default=None, description="Taint effect to match; empty matches all.")
    toleration_seconds: int | None = Field(
        default=None, ge=0, json_schema_extra=crd(fmt="int64"),
        description="For NoExecute, how long the pod stays bound after the taint appears.")


class TrainingRunSpec(_Model):
    """What to train and with which resources. Only `stop` may change after creation."""

    agent_id: Annotated[AgentId, ToTrainer("agent_id")] = Field(json_schema_extra=crd(immutable("agentId")))
    algorithm: Annotated[Algorithm, ToTrainer("algorithm")] = "MaskablePPO"
    env: Annotated[EnvId, ToTrainer("env_id")] = Field(default="trainyard/BlokusDuo-v0",
                                                         json_schema_extra=crd(immutable("env")))
    opponent: Annotated[Opponent, ToTrainer("opponent")] = "random"
    mode: Annotated[Mode, ToTrainer("mode")] = Field(default=Mode.SMOKE, json_schema_extra=crd(immutable("mode")))
    total_timesteps: Annotated[TotalTimesteps | None, ToTrainer("total_timesteps")] = Field(
        default=None, json_schema_extra=crd(immutable("totalTimesteps"), fmt="int64"))
    seed: Annotated[Seed, ToTrainer("seed")] = 0
    n_envs: Annotated[NEnvs, ToTrainer("n_envs")] = 1
    evaluation: Annotated[Evaluation, ToTrainer("evaluation")] = Field(default_factory=Evaluation)
    hyperparameters: Annotated[Hyperparameters, ToTrainer("hyperparameters")] = Field(
        default_factory=Hyperparameters)
    resources: Resources = Field(default_factory=Resources, json_schema_extra=crd(default={}))
    image: str | None = Field(default=None, min_length=1, max_length=512,
                              description="Trainer image; default from the operator's settings.")
    checkpoint: CheckpointVolume = Field(default_factory=CheckpointVolume, json_schema_extra=crd(default={}))
    backoff_limit: int = Field(default=3, ge=0, le=20,
                               description="Retries of a failed trainer (each resumes from the latest checkpoint). "
                                           "A bad configuration (exit code 2) is never retried.")
    active_deadline_seconds: int | None = Field(
        default=None, ge=1, json_schema_extra=crd(fmt="int64"),
        description="Wall-clock limit of the whole run (all attempts); then it fails with DeadlineExceeded.")
    ttl_seconds_after_finished: int | None = Field(
        default=None, ge=0, json_schema_extra=crd(fmt="int32"),
        description="Delete the finished Job (not the TrainingRun, not the history) after this many seconds.")
    pending_timeout_seconds: int = Field(
        default=600, ge=1, le=86_400,
        description="Fail the run when a trainer pod cannot start (unschedulable, image pull errors) within "
                    "this many seconds.")
    node_selector: dict[str, str] = Field(
        default_factory=dict,
        description="Node labels the trainer pod requires (added to the operator's defaults).")
    tolerations: list[Toleration] = Field(
        default_factory=list, max_length=32,
        description="Taints the trainer pod tolerates (GPU runs also get the operator's GPU toleration).")
    stop: bool = Field(default=False, description="true stops the run gracefully: the trainer gets SIGTERM, saves "
                                                  "a checkpoint and the run ends Stopped; no new pod starts.")


class SpecError(ValueError):
    """The spec is invalid; the message names the field (``spec.hyperparameters.batchSize: ...``)."""


class TrainingRun(BaseModel):
    """What the operator needs of a TrainingRun object: identity and the validated spec."""

    model_config = ConfigDict(frozen=True)

    name: str
    namespace: str
    uid: str
    generation: int = 0
    created: datetime | None = None
    spec: TrainingRunSpec

    @classmethod
    def from_body(cls, body: Any) -> TrainingRun:
        meta = body["metadata"]
        name = meta["name"]
        if len(name) > MAX_NAME_LENGTH:
            raise SpecError(f"metadata.name: at most {MAX_NAME_LENGTH} characters (the Job is named after the run)")
        try:
            spec = TrainingRunSpec.model_validate(dict(body.get("spec") or {}))
        except ValidationError as err:
            raise SpecError(describe(err)) from None
        created = meta.get("creationTimestamp")
        return cls(name=name, namespace=meta["namespace"], uid=meta["uid"], generation=meta.get("generation") or 0,
                   created=datetime.fromisoformat(created.replace("Z", "+00:00")) if created else None, spec=spec)


def describe(err: ValidationError) -> str:
    """One line per field, naming it as in the manifest (union branch tags such as 'int' dropped)."""
    by_path: dict[str, str] = {}
    for e in err.errors():
        parts = [str(p) for p in e["loc"] if not _UNION_TAG.match(str(p))]
        by_path[".".join(["spec", *parts])] = e["msg"]  # the last branch of a union says the most
    return "; ".join(f"{path}: {msg}" for path, msg in by_path.items())


_UNION_TAG = re.compile(r"^(int|str|float|bool|constrained-str|.*\[.*\])$")
