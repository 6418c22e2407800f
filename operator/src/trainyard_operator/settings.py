"""OperatorSettings: the operator's one typed configuration, read from the environment once.

Env prefix ``TRAINYARD_OPERATOR_`` (lists and mappings as JSON, ``NAMESPACES`` also comma-separated).
The operator's own MongoDB connection is trainyard_runstore's ``MongoSettings`` (``MONGODB_URI``,
``MONGODB_DB_NAME``); trainers get the URI from the Secret named here and the same database name.
Read by __main__.py, passed to the builders (builders.py) and the reconcilers through the context.
"""

from __future__ import annotations

import functools
import json
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from trainyard_runstore.settings import MongoSettings

from trainyard_operator.spec import Toleration


class OperatorSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRAINYARD_OPERATOR_", extra="ignore")

    trainer_image: str = Field(default="trainyard/trainer:0.1.0",
                               description="image of runs that leave spec.image empty")
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] = "IfNotPresent"
    mongodb_secret_name: str = Field(default="trainyard-mongodb",
                                     description="Secret in the run's namespace holding the MongoDB URI")
    mongodb_secret_key: str = Field(default="uri", description="key of the URI in that Secret")
    checkpoint_claim_name: str = Field(default="trainyard-checkpoints",
                                       description="PVC of runs that leave spec.checkpoint.claimName empty")
    checkpoint_mount_path: str = Field(default="/checkpoints", pattern=r"^/.+",
                                       description="mount path of runs that leave spec.checkpoint.mountPath empty")
    metrics_port: int = Field(default=8080, ge=0, le=65535, description="the operator's /metrics; 0: off")
    health_port: int = Field(default=8081, ge=0, le=65535, description="kopf's liveness endpoint /healthz; 0: off")
    trainer_metrics_port: int = Field(
        default=9400, ge=0, le=65535,
        description="port of the trainers' /metrics (scrape annotations); 0: the trainers serve none",
    )
    namespaces: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="namespaces to serve; empty: the whole cluster")
    progress_interval: float = Field(default=10.0, gt=0, le=3600,
                                     description="seconds between progress mirrors / resyncs of an active run")
    termination_grace_seconds: int = Field(default=60, ge=1, le=3600,
                                           description="time a trainer gets to checkpoint after SIGTERM")
    default_cpu: str = Field(default="1", description="CPU request of runs that leave spec.resources.cpu empty")
    default_memory: str = Field(default="2Gi", description="memory of runs that leave spec.resources.memory empty")
    default_node_selector: dict[str, str] = Field(default_factory=dict,
                                                  description="added under every run's own nodeSelector")
    default_tolerations: list[Toleration] = Field(default_factory=list, description="added to every run's")
    gpu_toleration: Toleration = Field(
        default_factory=lambda: Toleration(key="nvidia.com/gpu", operator="Exists", effect="NoSchedule"),
        description="added when a run asks for GPUs",
    )
    trainer_env: dict[str, str] = Field(default_factory=dict,
                                        description="extra environment variables for every trainer container")
    trainer_service_account: str | None = Field(default=None, description="service account of the trainer pods")
    log_lines: int = Field(default=20, ge=0, le=500, description="trainer log lines kept in a failure record")
    lost_timeout_seconds: float = Field(default=120.0, gt=0, le=3600,
                                        description="a run without a live pod and without a heartbeat for this "
                                                    "long is marked failed with reason Lost in the run store")
    kube_workers: int = Field(default=16, ge=1, le=256, description="threads for Kubernetes and MongoDB calls")
    mongo: MongoSettings = Field(
        default_factory=MongoSettings, exclude=True,
        description="the operator's MongoDB (MONGODB_URI, MONGODB_DB_NAME); trainers use the same database")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("namespaces", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip()
            if value.startswith("["):
                return json.loads(value)
            return [part.strip() for part in value.split(",") if part.strip()]
        return value


@functools.cache
def get_settings() -> OperatorSettings:
    """The process's settings, read from the environment once (__main__.py and main.py share them)."""
    return OperatorSettings()
