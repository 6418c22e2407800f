"""Response models of the history API (the spec's JSON shapes), built from the store's models.

The stored document schema itself is ``trainyard_runstore.schema``; these are its wire views.
``config`` and ``metadata`` are the store's models and go out exactly as stored (open objects: a
training script may add keys of its own).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from trainyard_runstore.metrics import EPISODE_METRICS, ROLLOUT_METRICS, MetricSpec
from trainyard_runstore.run_config import RunConfig
from trainyard_runstore.schema import (
    Checkpoint,
    EvalGame,
    Evaluation,
    Rollout,
    RunHead,
    RunMetadata,
    RunStats,
    RunStatus,
    StoredRun,
)


class EpisodePoint(BaseModel):
    """One episode, or in a downsampled series one group of episodes. Custom metrics (and in
    downsampled points ``<name>_min``/``<name>_max`` of every metric) appear as further fields."""

    model_config = ConfigDict(extra="allow")

    episode: int
    total_reward: float | None = Field(default=None, description="null when the trainer reported NaN, which JSON "
                                       "cannot hold")
    steps: int
    win: bool | None = None
    epsilon: float | None = None
    timestep: int | None = None
    time: datetime | None = None
    total_reward_min: float | None = Field(default=None, description="downsampled points only")
    total_reward_max: float | None = Field(default=None, description="downsampled points only")
    count: int | None = Field(default=None, description="episodes merged into this point (downsampled only)")

    @classmethod
    def body(cls, point: dict[str, Any]) -> dict[str, Any]:
        """A point the store built (numbers only) as its JSON body: the declared fields first, absent
        ones null, then the extra fields, exactly as validating and serializing it would give."""
        out = dict.fromkeys(_POINT_FIELDS)
        out.update(point)
        return out


_POINT_FIELDS = tuple(EpisodePoint.model_fields)


class WinRatePoint(BaseModel):
    episode: int
    win_rate: float
    win_rate_min: float | None = None
    win_rate_max: float | None = None


class RunMetrics(BaseModel):
    episodes: list[EpisodePoint] = Field(default_factory=list)
    rolling_win_rate: list[WinRatePoint] = Field(default_factory=list)


class DetailMetrics(RunMetrics):
    downsampled: bool = Field(
        default=False,
        description="true when each point is a group of episodes (value per the metric's aggregation, with "
                    "<name>_min/<name>_max and count), not one episode; also sent as the X-Downsampled header")
    resolution: int = Field(default=1, description="episodes per point (rounded up); 1 when unsampled")
    next_episode: int | None = Field(
        default=None, description="unsampled series are cut after the page limit: request again with "
                                  "from_episode (or since_episode) set to get the episodes from this one on")


class RunSummary(BaseModel):
    """One row of the run list: the spec's list shape plus a summary of the statistics."""

    id: str
    run_id: str
    agent_id: str
    algorithm: str
    status: RunStatus
    start_time: datetime
    end_time: datetime | None = None
    duration_seconds: float | None = None
    summary: RunStats
    metrics: RunMetrics = Field(description="in lists: only the newest episode and win rate")
    metadata: RunMetadata = Field(default_factory=RunMetadata)

    @classmethod
    def fields_of(cls, run: RunHead, id: str) -> dict[str, Any]:
        """The list fields of ``run``, its models passed on as they are (pydantic keeps model instances)."""
        last = run.last_episode
        metrics = RunMetrics()
        if last is not None:
            point = last.model_dump(exclude_none=True)
            if not point.get("metrics"):  # as the run index stores it: custom metrics only when there are some
                point.pop("metrics", None)
            metrics.episodes = [EpisodePoint.model_validate(point)]
            if last.win_rate is not None:
                metrics.rolling_win_rate = [WinRatePoint(episode=last.episode, win_rate=last.win_rate)]
        return {"id": id, "run_id": run.run_id, "agent_id": run.agent_id, "algorithm": run.algorithm,
                "status": run.status, "start_time": run.start_time, "end_time": run.end_time,
                "duration_seconds": run.duration_seconds, "summary": run.summary, "metrics": metrics,
                "metadata": run.metadata}

    @classmethod
    def from_run(cls, run: RunHead, id: str) -> RunSummary:
        return cls(**cls.fields_of(run, id))


class RunDetail(RunSummary):
    config: RunConfig = Field(default_factory=RunConfig)
    metric_specs: list[MetricSpec] = Field(default_factory=list,
                                           description="per-episode metrics this run can have: built-in and custom")
    checkpoint_paths: list[Checkpoint] = Field(default_factory=list)
    metrics: DetailMetrics
    last_rollout: Rollout | None = Field(default=None, description="diagnostics of the newest rollout")
    evaluation: Evaluation | None = Field(default=None, description="the newest evaluation")
    evaluations: list[Evaluation] = Field(default_factory=list, description="every evaluation, newest last")

    @classmethod
    def of(cls, run: StoredRun, metrics: DetailMetrics) -> RunDetail:
        return cls(**{**cls.fields_of(run, run.id), "metrics": metrics}, config=run.config,
                   checkpoint_paths=run.checkpoint_paths, metric_specs=run_metric_specs(run),
                   last_rollout=run.last_rollout, evaluation=run.evaluation, evaluations=run.evaluations)


def run_metric_specs(run: StoredRun) -> list[MetricSpec]:
    """The per-episode metrics ``run`` can have: the built-in ones, then its custom ones by name."""
    return [*EPISODE_METRICS, *(spec for _, spec in sorted(run.metric_specs.items()))]


def run_rollout_metric_specs(run: StoredRun) -> list[MetricSpec]:
    """The per-rollout metrics ``run`` can have: the built-in ones, then its custom ones by name."""
    return [*ROLLOUT_METRICS, *(spec for _, spec in sorted(run.rollout_metric_specs.items()))]


class RolloutList(BaseModel):
    run_id: str
    total: int = Field(description="rollouts the run has recorded")
    metric_specs: list[MetricSpec] = Field(default_factory=list,
                                           description="per-rollout metrics this run can have: built-in and custom "
                                                       "(custom values are in each rollout's ``metrics``)")
    rollouts: list[Rollout]


class GameDetail(EvalGame):
    """One stored evaluation game with the board after each of its moves."""

    run_id: str
    boards: list[list[list[int]]] = Field(description="board after each move: rows of -1 (empty) or the seat")


class AgentList(BaseModel):
    agent_ids: list[str]


class ErrorResponse(BaseModel):
    detail: str
