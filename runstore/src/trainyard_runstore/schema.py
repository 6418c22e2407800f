"""The TrainingRun document schema: the one definition shared by trainer, operator and API.

The trainer writes these models through ``sync_store``, the operator writes failure records through
the same module, and the API reads them through ``async_store``. ``layout`` maps them onto MongoDB
collections; nothing else knows field paths.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


def utcnow() -> datetime:
    return datetime.now(UTC)


class RunStatus(enum.StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    STOPPED = "stopped"
    FAILED = "failed"

    def is_terminal(self) -> bool:
        return self is not RunStatus.RUNNING


class Episode(BaseModel):
    """One finished episode as the trainer saw it (spec: ``metrics.episodes[]``)."""

    model_config = ConfigDict(extra="ignore")

    episode: int = Field(ge=1, description="1-based episode number within the run")
    total_reward: float
    steps: int = Field(ge=0)
    win: bool | None = None
    epsilon: float | None = None
    timestep: int | None = Field(default=None, description="global timestep when the episode ended")
    win_rate: float | None = Field(default=None, description="rolling win rate after this episode")
    time: datetime | None = None


class Checkpoint(BaseModel):
    model_config = ConfigDict(extra="ignore")

    episode: int
    timestep: int = 0
    path: str
    time: datetime | None = None


class ErrorInfo(BaseModel):
    """Why a run failed; written by the trainer (exception) or the operator (pod death)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="exception class, or the Kubernetes reason such as OOMKilled")
    message: str
    traceback: list[str] = Field(default_factory=list, description="last lines of the traceback")
    reason: str | None = None
    exit_code: int | None = None
    pod_reason: str | None = None
    log_lines: list[str] = Field(default_factory=list)
    source: str = Field(default="trainer", description="'trainer' or 'operator'")


class Attempt(BaseModel):
    """One try of a run (``metadata.attempts[]``): a retried pod resumes from a checkpoint."""

    model_config = ConfigDict(extra="ignore")

    attempt: int = Field(default=0, ge=0, description="1-based; 0 when written means 'the next number'")
    started_at: datetime = Field(default_factory=utcnow)
    device: str | None = None
    resumed_from: str | None = Field(default=None, description="checkpoint path the attempt resumed from")
    resumed_timestep: int = 0
    resumed_episode: int = 0


class RunStats(BaseModel):
    """Aggregates kept up to date at write time (FerretDB has no $avg/$max accumulators)."""

    episodes: int = 0
    timesteps: int = 0
    reward_sum: float = 0.0
    mean_reward: float | None = None
    max_reward: float | None = None
    min_reward: float | None = None
    last_reward: float | None = None
    final_win_rate: float | None = None
    wins: int = 0
    final_metric: float | None = Field(
        default=None, description="final win rate when wins are recorded, else mean reward"
    )
    last_episode: int = 0


class RunRecord(BaseModel):
    """A run's top-level document (its episodes live in bucket documents, see ``layout``)."""

    model_config = ConfigDict(extra="ignore")

    run_id: str
    agent_id: str
    algorithm: str = "MaskablePPO"
    config: dict[str, Any] = Field(default_factory=dict)
    status: RunStatus = RunStatus.RUNNING
    start_time: datetime = Field(default_factory=utcnow)
    end_time: datetime | None = None
    duration_seconds: float | None = None
    summary: RunStats = Field(default_factory=RunStats)
    last_episode: Episode | None = None
    checkpoint_paths: list[Checkpoint] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)
