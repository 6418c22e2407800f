"""The TrainingRun document schema: the one definition shared by trainer, operator and API.

The trainer writes these models through ``sync_store``, the operator writes failure records through
the same module, and the API reads them through ``async_store``. ``layout`` maps them onto MongoDB
collections; nothing else knows field paths.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializationInfo,
    field_serializer,
    field_validator,
)

from trainyard_runstore.metrics import BUILTIN as _BUILTIN_METRICS
from trainyard_runstore.metrics import MetricSpec, check_rollout_name
from trainyard_runstore.run_config import RunConfig
from trainyard_runstore.stored import AsStored

BUILTIN_METRIC_NAMES = tuple(_BUILTIN_METRICS)


# Serialization context for documents written to MongoDB (``model_dump(context=STORAGE)``).
STORAGE = {"storage": True}
# MongoDB and FerretDB refuse field names holding "." (or starting with "$"). Names used as keys are
# free text ("curriculum@0.3", a user's opponent), so stored keys swap them for full-width look-alikes.
_TO_KEY = str.maketrans({".": "\uff0e", "$": "\uff04"})
_FROM_KEY = str.maketrans({"\uff0e": ".", "\uff04": "$"})


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
    metrics: dict[str, float] = Field(
        default_factory=dict, description="custom per-episode metrics by name (see trainyard_runstore.metrics)")

    @field_validator("metrics")
    @classmethod
    def _declared_names(cls, value: dict[str, float]) -> dict[str, float]:
        if not value:
            return value
        from trainyard_runstore.metrics import check_name

        return {check_name(k): float(v) for k, v in value.items()}

    def values(self) -> dict[str, float | int | bool]:
        """Every metric this episode has a value for, built-in and custom, by name."""
        out: dict[str, float | int | bool] = {}
        for name in BUILTIN_METRIC_NAMES:
            v = getattr(self, name)
            if v is not None:
                out[name] = v
        out.update(self.metrics)
        return out


class Checkpoint(BaseModel):
    model_config = ConfigDict(extra="ignore")

    episode: int
    timestep: int = 0
    path: str
    time: datetime | None = None
    win_rate: float | None = Field(default=None, description="rolling win rate when it was saved")
    pruned: bool = Field(default=False, description="the file was deleted by the run's checkpoint retention")
    pruned_at: datetime | None = None


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
    source: str = Field(default="trainer", description="'trainer', 'operator', or who gave the Lost verdict")
    # The Lost verdict (``liveness``) says when the trainer was last heard of.
    last_heartbeat: str | None = Field(default=None, description="Lost: ISO time of the last heartbeat (or start)")
    last_episode: int | None = Field(default=None, description="Lost: the newest episode recorded")
    attempt: int | None = Field(default=None, description="Lost: the attempt that went silent")


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


class Rollout(BaseModel):
    """Diagnostics of one PPO rollout and of the update that consumed it (rollout pages, see ``layout``)."""

    model_config = ConfigDict(extra="ignore")

    rollout: int = Field(ge=1, description="1-based rollout number within the run")
    timestep: int = Field(ge=0, description="global timestep at the end of the rollout")
    legal_share: float | None = Field(default=None, description="mean share of the actions legal under the mask")
    entropy: float | None = Field(default=None, description="policy entropy (nats), mean over the update")
    invalid_actions: int = Field(default=0, ge=0, description="actions chosen outside the mask; must stay 0")
    policy_gradient_loss: float | None = None
    value_loss: float | None = None
    approx_kl: float | None = None
    clip_fraction: float | None = None
    explained_variance: float | None = Field(default=None, description="of the value function on the rollout")
    steps_per_second: float | None = Field(default=None, ge=0, description="timesteps per wall second since the "
                                           "previous rollout (environment and update)")
    episodes: int = Field(default=0, ge=0, description="episodes finished during the rollout")
    opponents: dict[str, int] = Field(default_factory=dict,
                                      description="finished games per opponent (self-play: checkpoint names)")
    time: datetime | None = None
    metrics: dict[str, float] = Field(
        default_factory=dict, description="custom per-rollout metrics by name (see trainyard_runstore.metrics)")

    @field_validator("metrics")
    @classmethod
    def _declared_names(cls, value: dict[str, float]) -> dict[str, float]:
        return {check_rollout_name(k): float(v) for k, v in value.items()}

    @field_validator("opponents", mode="before")
    @classmethod
    def _from_stored_keys(cls, value: Any) -> Any:
        return {str(k).translate(_FROM_KEY): v for k, v in value.items()} if isinstance(value, dict) else value

    @field_serializer("opponents")
    def _to_stored_keys(self, value: dict[str, int], info: SerializationInfo) -> dict[str, int]:
        if info.context and info.context.get("storage"):
            return {k.translate(_TO_KEY): v for k, v in value.items()}
        return value


class Interval(BaseModel):
    low: float
    high: float


class OpponentResult(BaseModel):
    """Evaluation games of one checkpoint against one opponent, seats alternating."""

    model_config = ConfigDict(extra="ignore")

    opponent: str
    games: int = Field(ge=0)
    wins: int = Field(ge=0)
    draws: int = Field(default=0, ge=0)
    losses: int = Field(default=0, ge=0)
    win_rate: float = Field(ge=0, le=1)
    win_rate_ci: Interval = Field(description="95% Wilson score interval of the win rate")
    mean_score_margin: float = Field(description="mean of own score - best opponent score")
    score_margin_ci: Interval = Field(description="95% t-interval of the mean score margin")
    first_game: int = Field(default=1, ge=1, description="number of this opponent's first stored game")


class Evaluation(BaseModel):
    """One evaluation of a checkpoint (``evaluations[]`` of the run; ``evaluation`` is the newest)."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(description="unique per evaluation; writing the same one again replaces it")
    checkpoint: str
    timestep: int = Field(ge=0, description="timestep of the evaluated checkpoint")
    episode: int | None = None
    env_id: str
    variant: str
    deterministic: bool = True
    seed: int
    trigger: str = Field(default="training", description="'training' (after completion) or 'cli'")
    time: datetime = Field(default_factory=utcnow)
    duration_seconds: float | None = None
    first_game: int = Field(default=1, ge=1, description="stored games first_game..last_game belong to it")
    last_game: int = Field(default=0, ge=0)
    results: list[OpponentResult] = Field(default_factory=list)

    def result(self, opponent: str) -> OpponentResult | None:
        return next((r for r in self.results if r.opponent == opponent), None)


class EvalGame(BaseModel):
    """One evaluation game, compact enough to store every one: replayable from ``moves``."""

    model_config = ConfigDict(extra="ignore")

    n: int = Field(default=1, ge=1, description="game number, global across the run's evaluations")
    evaluation_id: str
    opponent: str
    variant: str
    board_size: int = Field(ge=1)
    agent_seat: int = Field(ge=0)
    seed: int
    moves: list[int] = Field(description="placement ids in play order (passes are implicit)")
    seats: list[int] = Field(description="the seat that played each move")
    cells: list[int] = Field(description="board cells (row * size + col) covered by the moves, in order; flat "
                             "because FerretDB stores no nested arrays")
    cell_counts: list[int] = Field(description="how many of ``cells`` each move covers")
    scores: list[int] = Field(description="final score per seat")


class EvaluationResult(BaseModel):
    """An evaluation with its games: the unit the trainer hands to the store (and to spill files)."""

    evaluation: Evaluation
    games: list[EvalGame] = Field(default_factory=list)

    def numbered(self, first: int) -> EvaluationResult:
        """Games renumbered ``first``.. in order (they arrive numbered 1..); results follow."""
        shift = first - 1 - (min((g.n for g in self.games), default=1) - 1)
        games = [g.model_copy(update={"n": g.n + shift}) for g in self.games]
        results = [r.model_copy(update={"first_game": r.first_game + shift}) for r in self.evaluation.results]
        last = max((g.n for g in games), default=first - 1)
        evaluation = self.evaluation.model_copy(update={"first_game": first, "last_game": last, "results": results})
        return EvaluationResult(evaluation=evaluation, games=games)


class Throughput(BaseModel):
    """``metadata.throughput``: wall and CPU time of the trainer's ``learn`` (all threads of its process)."""

    model_config = ConfigDict(extra="allow")

    timesteps: int
    learn_seconds: float
    cpu_seconds: float
    steps_per_second: float


EvaluationStatus = Literal["running", "interrupted", "failed", "completed"]


class RunMetadata(AsStored):
    """A run's ``metadata``: what the trainer, the operator and the liveness checks record beside the run.

    A script may set keys of its own (``TrainingRunLogger.set_metadata``): they are kept (see ``stored``).
    """

    error: ErrorInfo | None = Field(default=None, description="why the run failed (absent unless it failed)")
    attempts: list[Attempt] = Field(default_factory=list, description="every try of the run, in order")
    checkpoint_dir: str | None = Field(default=None, description="the run's checkpoint folder")
    tensorboard_dir: str | None = Field(default=None, description="its TensorBoard logs (null: none written)")
    throughput: Throughput | None = None
    evaluation_status: EvaluationStatus | None = Field(
        default=None, description="the final evaluation's progress (a completed run's status does not wait for it)")
    evaluation_error: ErrorInfo | None = Field(default=None, description="why the final evaluation failed")
    revived_at: datetime | None = Field(default=None, description="a heartbeat overrode the Lost verdict then")

    @classmethod
    def check(cls, fields: dict[str, Any]) -> None:
        """Raise ValueError when a declared key of ``fields`` (new metadata) does not fit its type; keys of
        a script's own pass. A stored record is never refused (see ``stored``); a new write can be."""
        held = cls.model_validate(fields)
        misfits = sorted(set(held.model_extra or ()) & set(cls.model_fields))
        if misfits:
            raise ValueError("metadata: " + "; ".join(
                f"{k} must be {cls.model_fields[k].annotation} (got {fields[k]!r})" for k in misfits))

    def _tidy(self, data: dict[str, Any]) -> dict[str, Any]:
        # Errors are written without their empty fields; they dump back the same way.
        for key in ("error", "evaluation_error"):
            if isinstance(data.get(key), dict):
                data[key] = {k: v for k, v in data[key].items() if v is not None}
        return data


class RunHead(BaseModel):
    """What a run's list entry shows: the fields the run index copies from the run (``layout.INDEX_FIELDS``)."""

    model_config = ConfigDict(extra="ignore")

    run_id: str
    agent_id: str
    algorithm: str = "MaskablePPO"
    status: RunStatus = RunStatus.RUNNING
    start_time: datetime = Field(default_factory=utcnow)
    end_time: datetime | None = None
    duration_seconds: float | None = None
    summary: RunStats = Field(default_factory=RunStats)
    last_episode: Episode | None = None
    metadata: RunMetadata = Field(default_factory=RunMetadata)

    def is_lost(self) -> bool:
        """Given the Lost verdict: failed because its trainer fell silent (``liveness``)."""
        from trainyard_runstore.liveness import LOST

        return self.status is RunStatus.FAILED and self.metadata.error is not None \
            and self.metadata.error.type == LOST


class RunRecord(RunHead):
    """A run's top-level document as written (its episodes live in bucket documents, see ``layout``)."""

    config: RunConfig = Field(default_factory=RunConfig)
    checkpoint_paths: list[Checkpoint] = Field(default_factory=list)
    last_rollout: Rollout | None = None
    evaluations: list[Evaluation] = Field(default_factory=list, description="every evaluation, newest last")
    evaluation: Evaluation | None = Field(default=None, description="the newest evaluation")
    metric_specs: dict[str, MetricSpec] = Field(
        default_factory=dict, description="custom metrics by name, declared at start (with unit and description) "
                                          "or on first use")
    rollout_metric_specs: dict[str, MetricSpec] = Field(
        default_factory=dict, description="custom per-rollout metrics by name, declared as ``metric_specs``")


# A document's ``_id`` (an ObjectId derived from the run_id, see ``layout.run_key``) as text.
DocId = Annotated[str, BeforeValidator(str)]


class Heartbeat(BaseModel):
    """``heartbeat``: the current attempt's newest sign of life (``liveness``)."""

    time: datetime
    attempt: int
    episode: int = 0


class StoredRun(RunRecord):
    """A run as read back: the record plus the store's bookkeeping on its home document."""

    id: DocId = Field(validation_alias="_id", description="the run's document id (from its run_id)")
    version: int = Field(default=0, description="moves with every write of the run (the detail's ETag)")
    fence: int | None = Field(default=None, description="attempt number of the run's current writer")
    heartbeat: Heartbeat | None = None
    status_time: datetime | None = Field(default=None, description="when the current status happened")


class RunIndexEntry(RunHead):
    """One run in the run index (``layout.RUNS``): what the run list reads."""

    id: DocId = Field(validation_alias="_id")
    env_id: str | None = None
