"""The TrainingRun spec as a pydantic model (camelCase on the wire), and the run the operator sees.

The CRD's openAPIV3Schema (charts/trainyard/crds/trainingruns.trainyard.dev.yaml) validates the
same fields with the same types, enums, defaults and bounds; tests/trainyard_operator/test_contract.py
checks the two field by field. The operator validates again here, so a spec that slipped past an
older CRD becomes a permanent error naming the field (reconcile/create.py), never a broken Job.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator
from pydantic.alias_generators import to_camel

# A Kubernetes resource quantity without a sign ("500m", "2", "1.5", "4Gi", "1e3").
QUANTITY_PATTERN = (
    r"^(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)
# A label value (the agent id labels the Job and its pods).
LABEL_VALUE_PATTERN = r"^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$"
# A gymnasium id, optionally "module.path:" first (gymnasium imports the module, which registers it).
ENV_ID_PATTERN = r"^([A-Za-z_][A-Za-z0-9_.]*:)?([A-Za-z0-9_.-]+/)?[A-Za-z0-9_.-]+-v[0-9]+$"
DNS_SUBDOMAIN_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
MOUNT_PATH_PATTERN = r"^/[^:]+$"
MAX_NAME_LENGTH = 63  # the Job is named after the run, and pods carry the Job's name as a label

Quantity = int | Annotated[str, StringConstraints(pattern=QUANTITY_PATTERN)]


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class Hyperparameters(_Model):
    """MaskablePPO arguments; an empty field takes the trainer's default for the mode."""

    learning_rate: float | None = Field(default=None, gt=0, le=1, description="optimizer step size")
    n_steps: int | None = Field(default=None, ge=8, le=1_000_000, description="rollout length per environment")
    batch_size: int | None = Field(default=None, ge=2, le=1_000_000, description="minibatch size, <= nSteps")
    n_epochs: int | None = Field(default=None, ge=1, le=100, description="passes over each rollout")
    gamma: float | None = Field(default=None, gt=0, le=1, description="discount factor")
    gae_lambda: float | None = Field(default=None, gt=0, le=1, description="GAE smoothing")
    clip_range: float | None = Field(default=None, gt=0, le=1, description="PPO clipping")
    ent_coef: float | None = Field(default=None, ge=0, le=1, description="entropy bonus weight")
    vf_coef: float | None = Field(default=None, ge=0, le=10, description="value loss weight")
    max_grad_norm: float | None = Field(default=None, gt=0, le=100, description="gradient clipping norm")

    @model_validator(mode="after")
    def _batch_fits_rollout(self) -> Hyperparameters:
        if self.batch_size is not None and self.n_steps is not None and self.batch_size > self.n_steps:
            raise ValueError("batchSize must not exceed nSteps")
        return self

    def trainer_values(self) -> dict[str, Any]:
        """The set fields, snake_case: TrainerSettings.hyperparameters takes exactly these names."""
        return self.model_dump(exclude_none=True)


class Resources(_Model):
    cpu: Quantity | None = Field(default=None, description="CPU request, e.g. 2 or 500m")
    memory: Quantity | None = Field(default=None, description="memory request and limit, e.g. 4Gi")
    gpu: int = Field(default=0, ge=0, le=16, description="nvidia.com/gpu count")


class CheckpointVolume(_Model):
    claim_name: str | None = Field(default=None, max_length=253, pattern=DNS_SUBDOMAIN_PATTERN,
                                   description="PersistentVolumeClaim holding <mountPath>/<run id>/")
    mount_path: str | None = Field(default=None, max_length=1024, pattern=MOUNT_PATH_PATTERN,
                                   description="where the claim is mounted in the trainer")
    every_timesteps: int | None = Field(default=None, ge=1, le=10_000_000_000,
                                        description="timesteps between checkpoints")


class Toleration(_Model):
    """A core/v1 Toleration."""

    key: str | None = Field(default=None, max_length=317, description="taint key; empty with Exists: all")
    operator: Literal["Exists", "Equal"] = Field(default="Equal", description="Exists or Equal")
    value: str | None = Field(default=None, max_length=63, description="taint value (Equal)")
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = Field(
        default=None, description="taint effect; empty: all")
    toleration_seconds: int | None = Field(default=None, ge=0, description="NoExecute: how long to stay")


class Evaluation(_Model):
    """Games played with the final checkpoint when the run completes (the trainer's ``evaluation``)."""

    games: int | None = Field(default=None, ge=0, le=10_000,
                              description="games per opponent; 0 turns evaluation off; default 10 smoke, 100 full")
    opponents: list[Literal["random", "greedy"]] = Field(default=["random", "greedy"], min_length=1, max_length=2,
                                                         description="opponents to evaluate against")
    seed: int = Field(default=0, ge=0, le=2_147_483_647, description="game i of each opponent uses seed + i")

    def trainer_value(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class TrainingRunSpec(_Model):
    agent_id: str = Field(min_length=1, max_length=63, pattern=LABEL_VALUE_PATTERN,
                          description="the agent trained; runs of one agent are compared in the UI")
    algorithm: Literal["MaskablePPO"] = Field(default="MaskablePPO", description="RL algorithm")
    env: str = Field(default="trainyard/BlokusDuo-v0", max_length=253, pattern=ENV_ID_PATTERN,
                     description="gymnasium environment id")
    opponent: Literal["random", "greedy", "self-play"] = Field(default="random", description="who the agent plays")
    mode: Literal["smoke", "full"] = Field(default="smoke", description="smoke: short run with small defaults")
    total_timesteps: int | None = Field(default=None, ge=1, le=10_000_000_000,
                                        description="environment steps; default from the mode")
    seed: int = Field(default=0, ge=0, le=2_147_483_647, description="random seed")
    n_envs: int = Field(default=1, ge=1, le=64, description="parallel environments")
    hyperparameters: Hyperparameters = Field(default_factory=Hyperparameters, description="PPO arguments")
    evaluation: Evaluation = Field(default_factory=Evaluation, description="automated evaluation after training")
    resources: Resources = Field(default_factory=Resources, description="trainer container resources")
    image: str | None = Field(default=None, min_length=1, max_length=512, description="trainer image")
    checkpoint: CheckpointVolume = Field(default_factory=CheckpointVolume, description="checkpoint volume")
    backoff_limit: int = Field(default=3, ge=0, le=20, description="retries of a failed trainer")
    active_deadline_seconds: int | None = Field(default=None, ge=1, description="wall-clock limit of the Job")
    ttl_seconds_after_finished: int | None = Field(default=None, ge=0,
                                                   description="delete the finished Job after this")
    pending_timeout_seconds: int = Field(default=600, ge=1, le=86_400,
                                         description="fail a pod that cannot start within this")
    node_selector: dict[str, str] = Field(default_factory=dict, description="trainer pod nodeSelector")
    tolerations: list[Toleration] = Field(default_factory=list, max_length=32, description="trainer pod tolerations")
    stop: bool = Field(default=False, description="true: checkpoint and stop gracefully")


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
