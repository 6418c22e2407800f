"""Facts the status mapping needs, extracted PURELY from a Job, a Pod and a run-store record.

Plain dicts in (as the API serves them; trainyard_runstore's ``RunRecord`` for the run store),
small frozen dataclasses out; phases.py decides from them. Also the RFC 3339 time helpers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from trainyard_runstore.schema import RunRecord, RunStatus

from trainyard_operator.constants import CONTAINER_NAME
from trainyard_operator.status import ProgressStatus

# ------------------------------------------------------------------ time


def parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def format_time(value: datetime | None) -> str | None:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


# ------------------------------------------------------------------ facts


@dataclass(frozen=True)
class PodFacts:
    """What the mapping needs of one trainer pod."""

    name: str
    phase: str = "Pending"
    created: datetime | None = None
    started: datetime | None = None
    deleting: bool = False
    reason: str | None = None  # status.reason: Evicted, DeadlineExceeded, ...
    message: str | None = None
    unschedulable: str | None = None  # PodScheduled=False/Unschedulable: the scheduler's message
    waiting_reason: str | None = None
    waiting_message: str | None = None
    exit_code: int | None = None
    terminated_reason: str | None = None

    @property
    def terminal(self) -> bool:
        return self.phase in ("Succeeded", "Failed")

    @classmethod
    def from_pod(cls, pod: Mapping[str, Any]) -> PodFacts:
        meta, status = pod.get("metadata") or {}, pod.get("status") or {}
        statuses = status.get("containerStatuses") or []
        trainer = next((c for c in statuses if c.get("name") == CONTAINER_NAME), statuses[0] if statuses else {})
        state = trainer.get("state") or {}
        waiting, terminated = state.get("waiting") or {}, state.get("terminated") or {}
        if not terminated and status.get("phase") in ("Succeeded", "Failed"):
            terminated = (trainer.get("lastState") or {}).get("terminated") or {}
        scheduled = next((c for c in status.get("conditions") or [] if c.get("type") == "PodScheduled"), {})
        unschedulable = None
        if scheduled.get("status") == "False" and scheduled.get("reason") == "Unschedulable":
            unschedulable = scheduled.get("message") or "no node fits the pod"
        return cls(
            name=meta.get("name", ""),
            phase=status.get("phase") or "Pending",
            created=parse_time(meta.get("creationTimestamp")),
            started=parse_time(status.get("startTime")),
            deleting=bool(meta.get("deletionTimestamp")),
            reason=status.get("reason"),
            message=status.get("message"),
            unschedulable=unschedulable,
            waiting_reason=waiting.get("reason"),
            waiting_message=waiting.get("message"),
            exit_code=terminated.get("exitCode"),
            terminated_reason=terminated.get("reason"),
        )


@dataclass(frozen=True)
class JobFacts:
    name: str
    suspended: bool = False
    active: int = 0
    succeeded: int = 0
    failed: int = 0
    finished: Literal["Complete", "Failed"] | None = None
    reason: str | None = None
    message: str | None = None
    completion_time: datetime | None = None

    @classmethod
    def from_job(cls, job: Mapping[str, Any]) -> JobFacts:
        spec, status = job.get("spec") or {}, job.get("status") or {}
        finished, reason, message, when = None, None, None, None
        for c in status.get("conditions") or []:
            if c.get("status") == "True" and c.get("type") in ("Complete", "Failed"):
                finished, reason, message = c["type"], c.get("reason"), c.get("message")
                when = parse_time(c.get("lastTransitionTime"))
        return cls(
            name=job["metadata"]["name"],
            suspended=bool(spec.get("suspend")),
            active=status.get("active") or 0,
            succeeded=status.get("succeeded") or 0,
            failed=status.get("failed") or 0,
            finished=finished,
            reason=reason,
            message=message,
            completion_time=parse_time(status.get("completionTime")) or when,
        )


@dataclass(frozen=True)
class Progress:
    """The run store's view of a run, as mirrored into ``status.progress``."""

    episodes: int = 0
    timesteps: int = 0
    rolling_win_rate: float | None = None
    last_reward: float | None = None
    last_checkpoint: str | None = None

    def to_status(self) -> ProgressStatus:
        return ProgressStatus(episodes=self.episodes, timesteps=self.timesteps,
                              rolling_win_rate=self.rolling_win_rate, last_reward=self.last_reward,
                              last_checkpoint=self.last_checkpoint)


@dataclass(frozen=True)
class StoreFacts:
    status: RunStatus
    attempts: int = 0
    progress: Progress = field(default_factory=Progress)
    error_type: str | None = None
    error_message: str | None = None
    error_source: str | None = None

    @property
    def trainer_recorded_failure(self) -> bool:
        return self.status is RunStatus.FAILED and self.error_source == "trainer"

    @classmethod
    def from_record(cls, record: RunRecord) -> StoreFacts:
        summary, last = record.summary, record.last_episode
        win_rate = last.win_rate if last and last.win_rate is not None else summary.final_win_rate
        progress = Progress(
            episodes=summary.episodes,
            timesteps=summary.timesteps,
            rolling_win_rate=round(win_rate, 4) if win_rate is not None else None,
            last_reward=round(summary.last_reward, 4) if summary.last_reward is not None else None,
            last_checkpoint=record.checkpoint_paths[-1].path if record.checkpoint_paths else None,
        )
        error = record.metadata.error
        return cls(status=record.status, attempts=len(record.metadata.attempts), progress=progress,
                   error_type=error.type if error else None, error_message=error.message if error else None,
                   error_source=error.source if error else None)
