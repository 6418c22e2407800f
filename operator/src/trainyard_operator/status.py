"""The TrainingRun ``status`` as pydantic models (camelCase on the wire), written only by the operator.

The CRD's status schema is generated from these models (crd.py), and phases.render_status builds a
``TrainingRunStatus`` that is dumped into the status patch, so the schema and what the operator
writes cannot drift apart. Reading a status back (``from_body``) ignores keys this version does not
know, so an older or newer operator's status never blocks a sync.
"""

from __future__ import annotations

import enum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from trainyard_operator.spec import crd


class Phase(enum.StrEnum):
    """Pending, Running, Completed, Stopped or Failed."""

    PENDING = "Pending"
    RUNNING = "Running"
    COMPLETED = "Completed"
    STOPPED = "Stopped"
    FAILED = "Failed"

    def is_terminal(self) -> bool:
        return self in (Phase.COMPLETED, Phase.STOPPED, Phase.FAILED)

    @classmethod
    def parse(cls, value: object) -> Phase | None:
        try:
            return cls(value)
        except ValueError:
            return None


DATE_TIME = crd(fmt="date-time")


class _Status(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True)

    def wire(self) -> dict[str, Any]:
        """The JSON the API server stores: camelCase, unset fields left out."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class StatusCondition(_Status):
    """One condition."""

    type: str = Field(description="JobCreated, Running, StopRequested or Finished.")
    status: Literal["True", "False", "Unknown"] = Field(description="True, False or Unknown.")
    reason: str | None = Field(default=None,
                               description="A CamelCase reason, e.g. PodRunning, Retrying, OOMKilled, Completed.")
    message: str | None = Field(default=None, description="Human-readable details.")
    last_transition_time: str | None = Field(default=None, json_schema_extra=DATE_TIME,
                                             description="When the status last changed.")


class ProgressStatus(_Status):
    """Mirrored from the run store while the run is active, and once more at the end."""

    episodes: int | None = Field(default=None, json_schema_extra=crd(fmt="int64"), description="Episodes recorded.")
    timesteps: int | None = Field(default=None, json_schema_extra=crd(fmt="int64"),
                                  description="Environment steps recorded.")
    rolling_win_rate: float | None = Field(default=None,
                                           description="Win rate (0-1) over the trainer's rolling window.")
    last_reward: float | None = Field(default=None, description="Total reward of the last episode.")
    last_checkpoint: str | None = Field(default=None, description="Path of the latest checkpoint.")


class FailureStatus(_Status):
    """Why the run failed (also in the run store's metadata.error)."""

    reason: str | None = Field(default=None, description=(
        "TrainerError, BadConfiguration, OOMKilled, Evicted, DeadlineExceeded, BackoffLimitExceeded, "
        "Unschedulable, ImagePullBackOff, CreateContainerConfigError, PendingTimeout, JobDeleted or InvalidSpec."))
    message: str | None = Field(default=None,
                                description="What happened; for a trainer exception, its type and message.")
    exit_code: int | None = Field(default=None,
                                  description="Exit code of the trainer container of the last failed pod.")
    pod_reason: str | None = Field(
        default=None, description="The Kubernetes reason, e.g. OOMKilled, Evicted, Unschedulable, DeadlineExceeded.")
    pod_name: str | None = Field(default=None, description="The pod the record is about.")
    source: Literal["trainer", "operator"] | None = Field(
        default=None, description="Who wrote the run store's record: trainer or operator.")
    log_lines: list[Annotated[str, Field(description="One log line.")]] | None = Field(
        default=None, description="The last lines of the trainer's log (empty when they cannot be read).")
    recorded: bool | None = Field(default=None,
                                  description="Whether the record is in the run store (retried until it is).")


class TrainingRunStatus(_Status):
    """Observed state, written by the operator only."""

    phase: Phase | None = Field(default=None, description="Pending, Running, Completed, Stopped or Failed.")
    run_id: str | None = Field(default=None,
                               description="The run's id in the run store and the API (this object's UID).")
    job_name: str | None = Field(default=None, description="The Job running the trainer.")
    observed_generation: int | None = Field(default=None, json_schema_extra=crd(fmt="int64"),
                                            description="The spec generation the status reflects.")
    attempts: int | None = Field(default=None,
                                 description="Trainer attempts recorded in the run store (metadata.attempts).")
    start_time: str | None = Field(default=None, json_schema_extra=DATE_TIME,
                                   description="When the first trainer pod started.")
    completion_time: str | None = Field(default=None, json_schema_extra=DATE_TIME,
                                        description="When the run reached a final phase.")
    conditions: list[StatusCondition] | None = Field(
        default=None, json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
        description="JobCreated, Running, StopRequested and Finished, each with a typed reason.")
    progress: ProgressStatus | None = None
    failure: FailureStatus | None = None

    @classmethod
    def from_body(cls, body: Any) -> TrainingRunStatus:
        """The status of a TrainingRun object as the API server returned it (empty when it has none)."""
        return cls.model_validate(dict(body.get("status") or {}))


# Printer columns of ``kubectl get trainingruns``: each path names a field of the models above.
PRINTER_COLUMNS: tuple[dict[str, Any], ...] = (
    {"name": "Agent", "type": "string", "jsonPath": ".spec.agentId", "description": "The agent being trained."},
    {"name": "Status", "type": "string", "jsonPath": ".status.phase",
     "description": "Pending, Running, Completed, Stopped or Failed."},
    {"name": "Episodes", "type": "integer", "jsonPath": ".status.progress.episodes",
     "description": "Episodes recorded in the run store."},
    {"name": "WinRate", "type": "number", "jsonPath": ".status.progress.rollingWinRate",
     "description": "Rolling win rate (0-1) of the last episodes."},
    {"name": "Mode", "type": "string", "jsonPath": ".spec.mode", "priority": 1, "description": "smoke or full."},
    {"name": "Attempts", "type": "integer", "jsonPath": ".status.attempts", "priority": 1,
     "description": "Trainer attempts (a retry resumes from the latest checkpoint)."},
    {"name": "Reason", "type": "string", "jsonPath": ".status.failure.reason", "priority": 1,
     "description": "Why the run failed."},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
)
