"""How TrainingRun documents map onto MongoDB: collection names, indexes, field paths, buckets.

Pure functions only (no I/O); ``sync_store`` and ``async_store`` execute what this module builds.

A run can reach 1,000,000 episodes, far past MongoDB's 16 MB document limit, so episodes live in
*bucket* documents of ``BUCKET_SIZE`` episodes each, and *stats pages* keep min/max/sum per
``SUB_SIZE`` episodes for ``PAGE_BUCKETS`` buckets at a time. The API downsamples a long run from the
stats alone. Writes replace whole buckets merged by episode number, so replaying an episode never
duplicates it.

Every single-run read and write addresses documents by ``_id`` alone (computed here from the
run_id): FerretDB's SQLite backend pushes down only a filter that is exactly ``{_id: <string or
ObjectId>}`` and scans the whole collection otherwise; MongoDB serves both from its ``_id`` index.
A run document's ``_id`` is an ObjectId derived from its run_id (the spec's schema keeps its ObjectId).

Rollout diagnostics live in *rollout pages* of ``ROLLOUT_PAGE_SIZE`` rollouts, replaced whole and
merged by rollout number like buckets. Evaluation games live one per document (``game_key``), numbered
across all evaluations of the run; the evaluations themselves are a short list on the run document.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bson import Binary, ObjectId
from pymongo import ASCENDING, DESCENDING, IndexModel

from trainyard_runstore import packing
from trainyard_runstore.schema import EvalGame, Episode, Rollout, RunStats, RunStatus

RUNS = "training_runs"
BUCKETS = "training_episode_buckets"
STATS = "training_episode_stats"
# One tiny document per agent id, so the agent filter's options need no pass over every run.
AGENTS = "training_agents"
ROLLOUTS = "training_rollouts"
GAMES = "training_eval_games"

BUCKET_SIZE = 1000
SUB_SIZE = 100
PAGE_BUCKETS = 50  # buckets whose statistics share one stats page (50,000 episodes)
ROLLOUT_PAGE_SIZE = 1000

INDEXES: dict[str, list[IndexModel]] = {
    RUNS: [
        IndexModel([("run_id", ASCENDING)], unique=True, name="run_id_unique"),
        IndexModel([("start_time", DESCENDING)], name="start_time"),
        IndexModel([("agent_id", ASCENDING), ("start_time", DESCENDING)], name="agent_start"),
        IndexModel([("status", ASCENDING), ("start_time", DESCENDING)], name="status_start"),
        IndexModel([("algorithm", ASCENDING), ("start_time", DESCENDING)], name="algorithm_start"),
    ],
    BUCKETS: [IndexModel([("run_id", ASCENDING), ("bucket", ASCENDING)], unique=True, name="run_bucket")],
    STATS: [IndexModel([("run_id", ASCENDING), ("page", ASCENDING)], unique=True, name="run_page")],
    ROLLOUTS: [IndexModel([("run_id", ASCENDING), ("page", ASCENDING)], unique=True, name="run_page")],
    GAMES: [IndexModel([("run_id", ASCENDING), ("n", ASCENDING)], unique=True, name="run_game")],
}

# Sortable list columns -> stored field path.
SORT_FIELDS: dict[str, str] = {
    "start_time": "start_time",
    "end_time": "end_time",
    "duration": "duration_seconds",
    "episodes": "summary.episodes",
    "final_metric": "summary.final_metric",
    "mean_reward": "summary.mean_reward",
    "agent_id": "agent_id",
    "algorithm": "algorithm",
    "status": "status",
    "run_id": "run_id",
}


def run_key(run_id: str) -> dict[str, Any]:
    """The filter that finds a run document (its ``_id`` is derived from the run_id)."""
    return {"_id": ObjectId(hashlib.sha256(run_id.encode()).digest()[:12])}


def bucket_of(episode: int) -> int:
    return (episode - 1) // BUCKET_SIZE


def page_of(bucket: int) -> int:
    return bucket // PAGE_BUCKETS


def bucket_key(run_id: str, bucket: int) -> dict[str, Any]:
    return {"_id": f"{run_id}/b{bucket:07d}"}


def page_key(run_id: str, page: int) -> dict[str, Any]:
    return {"_id": f"{run_id}/p{page:05d}"}


def rollout_page_of(rollout: int) -> int:
    return (rollout - 1) // ROLLOUT_PAGE_SIZE


def rollout_page_key(run_id: str, page: int) -> dict[str, Any]:
    return {"_id": f"{run_id}/r{page:05d}"}


def game_key(run_id: str, n: int) -> dict[str, Any]:
    return {"_id": f"{run_id}/g{n:05d}"}


def buckets_between(first: int, last: int) -> range:
    """Bucket numbers holding episodes ``first``..``last`` (inclusive)."""
    return range(bucket_of(max(first, 1)), bucket_of(max(last, 1)) + 1)


def episode_to_doc(ep: Episode) -> dict[str, Any]:
    return ep.model_dump(exclude_none=True)


# ---------------------------------------------------------------- per-bucket statistics


@dataclass
class SubStats:
    """Aggregates of up to SUB_SIZE consecutive episodes; combinable exactly."""

    first: int
    last: int
    count: int = 0
    reward_sum: float = 0.0
    reward_min: float = float("inf")
    reward_max: float = float("-inf")
    steps_sum: int = 0
    wins: int = 0
    timestep_last: int | None = None
    wr_sum: float = 0.0
    wr_count: int = 0
    wr_min: float | None = None
    wr_max: float | None = None
    wr_last: float | None = None

    def add(self, ep: Episode) -> None:
        self.first = min(self.first, ep.episode)
        self.last = max(self.last, ep.episode)
        self.count += 1
        self.reward_sum += ep.total_reward
        self.reward_min = min(self.reward_min, ep.total_reward)
        self.reward_max = max(self.reward_max, ep.total_reward)
        self.steps_sum += ep.steps
        self.wins += 1 if ep.win else 0
        if ep.timestep is not None:
            self.timestep_last = ep.timestep
        if ep.win_rate is not None:
            self.wr_sum += ep.win_rate
            self.wr_count += 1
            self.wr_min = ep.win_rate if self.wr_min is None else min(self.wr_min, ep.win_rate)
            self.wr_max = ep.win_rate if self.wr_max is None else max(self.wr_max, ep.win_rate)
            self.wr_last = ep.win_rate

    def merge(self, other: SubStats) -> None:
        self.first = min(self.first, other.first)
        self.last = max(self.last, other.last)
        self.count += other.count
        self.reward_sum += other.reward_sum
        self.reward_min = min(self.reward_min, other.reward_min)
        self.reward_max = max(self.reward_max, other.reward_max)
        self.steps_sum += other.steps_sum
        self.wins += other.wins
        self.timestep_last = other.timestep_last if other.timestep_last is not None else self.timestep_last
        self.wr_sum += other.wr_sum
        self.wr_count += other.wr_count
        for name, pick in (("wr_min", min), ("wr_max", max)):
            a, b = getattr(self, name), getattr(other, name)
            setattr(self, name, b if a is None else a if b is None else pick(a, b))
        self.wr_last = other.wr_last if other.wr_last is not None else self.wr_last

    def to_doc(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> SubStats:
        return cls(**{k: doc[k] for k in cls.__dataclass_fields__ if k in doc})


def sub_stats(episodes: Iterable[Episode]) -> list[SubStats]:
    """Group sorted episodes into SUB_SIZE-aligned sub-buckets."""
    subs: dict[int, SubStats] = {}
    for ep in episodes:
        k = (ep.episode - 1) // SUB_SIZE
        sub = subs.setdefault(k, SubStats(first=ep.episode, last=ep.episode))
        sub.add(ep)
    return [subs[k] for k in sorted(subs)]


def merge_episodes(existing: Iterable[Episode], new: Iterable[Episode]) -> list[Episode]:
    """Merge by episode number (a replayed episode replaces itself), sorted."""
    by_number = {ep.episode: ep for ep in existing}
    for ep in new:
        by_number[ep.episode] = ep
    return [by_number[n] for n in sorted(by_number)]


def bucket_doc(run_id: str, bucket: int, episodes: list[Episode]) -> dict:
    """The bucket document for a bucket's complete, sorted episodes (packed, see ``packing``)."""
    return {
        **bucket_key(run_id, bucket),
        "run_id": run_id,
        "bucket": bucket,
        "first_episode": episodes[0].episode,
        "last_episode": episodes[-1].episode,
        "count": len(episodes),
        "format": packing.FORMAT,
        "packed": Binary(packing.pack(episodes, packing.EPISODE_COLUMNS)),
    }


def page_doc(run_id: str, page: int, subs_by_bucket: dict[int, list[SubStats]]) -> dict:
    """A stats page: the sub-bucket statistics of up to PAGE_BUCKETS buckets (packed)."""
    rows = [{"bucket": b, **s.to_doc()} for b, subs in sorted(subs_by_bucket.items()) for s in subs]
    return {
        **page_key(run_id, page),
        "run_id": run_id,
        "page": page,
        "format": packing.FORMAT,
        "packed": Binary(packing.pack(rows, packing.SUB_STATS_COLUMNS, dict.get)),
    }


def page_subs(doc: dict | None) -> dict[int, list[SubStats]]:
    if not doc:
        return {}
    out: dict[int, list[SubStats]] = {}
    for row in packing.unpack(doc["packed"], packing.SUB_STATS_COLUMNS):
        out.setdefault(row.pop("bucket"), []).append(SubStats(**row))
    return out


def summarize(subs: Iterable[SubStats], last: Episode | None) -> RunStats:
    """Run-level summary from every sub-bucket of the run plus its newest episode."""
    total: SubStats | None = None
    for s in subs:
        if total is None:
            total = SubStats(first=s.first, last=s.last)
        total.merge(s)
    if total is None or total.count == 0:
        return RunStats()
    final_wr = last.win_rate if last is not None else total.wr_last
    mean = total.reward_sum / total.count
    return RunStats(
        episodes=total.count,
        timesteps=total.timestep_last or 0,
        reward_sum=total.reward_sum,
        mean_reward=mean,
        max_reward=total.reward_max,
        min_reward=total.reward_min,
        last_reward=last.total_reward if last is not None else None,
        final_win_rate=final_wr,
        wins=total.wins,
        final_metric=final_wr if final_wr is not None else mean,
        last_episode=total.last,
    )


# ---------------------------------------------------------------- queries


def list_filter(
    *,
    agent_id: str | None = None,
    status: str | None = None,
    algorithm: str | None = None,
    q: str | None = None,
    started_after: Any = None,
    started_before: Any = None,
) -> dict[str, Any]:
    import re

    flt: dict[str, Any] = {}
    if agent_id:
        flt["agent_id"] = agent_id
    if status:
        flt["status"] = status
    if algorithm:
        flt["algorithm"] = algorithm
    if q:
        pattern = {"$regex": re.escape(q), "$options": "i"}
        flt["$or"] = [{"run_id": pattern}, {"agent_id": pattern}]
    if started_after is not None or started_before is not None:
        rng: dict[str, Any] = {}
        if started_after is not None:
            rng["$gte"] = started_after
        if started_before is not None:
            rng["$lte"] = started_before
        flt["start_time"] = rng
    return flt


def list_sort(sort: str) -> list[tuple[str, int]]:
    """``-episodes`` -> [("summary.episodes", -1), ("start_time", -1)]; unknown names raise ValueError.

    Ties go to the newest run, then run_id, so pages are stable."""
    direction = DESCENDING if sort.startswith("-") else ASCENDING
    name = sort.lstrip("-")
    if name not in SORT_FIELDS:
        raise ValueError(f"unknown sort field {name!r}; use one of {', '.join(sorted(SORT_FIELDS))}")
    keys = [(SORT_FIELDS[name], direction)]
    if name != "start_time":
        keys.append(("start_time", DESCENDING))
    if name != "run_id":
        keys.append(("run_id", ASCENDING))
    return keys


# The run document without its config and checkpoints; used by lists and live polling.
RUN_PROJECTION = {"_id": 1, "run_id": 1, "agent_id": 1, "algorithm": 1, "status": 1, "start_time": 1,
                  "end_time": 1, "duration_seconds": 1, "summary": 1, "last_episode": 1, "metadata": 1}


def bucket_episodes(doc: dict | None, first: int, last: int) -> list[Episode]:
    if not doc:
        return []
    return [Episode.model_construct(**row) for row in packing.unpack(doc["packed"], packing.EPISODE_COLUMNS)
            if first <= row["episode"] <= last]


# ---------------------------------------------------------------- rollouts, evaluation games


def merge_rollouts(existing: Iterable[Rollout], new: Iterable[Rollout]) -> list[Rollout]:
    """Merge by rollout number (a replayed rollout replaces itself), sorted."""
    by_number = {r.rollout: r for r in existing}
    for r in new:
        by_number[r.rollout] = r
    return [by_number[n] for n in sorted(by_number)]


def rollout_page_doc(run_id: str, page: int, rollouts: list[Rollout]) -> dict:
    return {
        **rollout_page_key(run_id, page),
        "run_id": run_id,
        "page": page,
        "first": rollouts[0].rollout,
        "last": rollouts[-1].rollout,
        "rollouts": [r.model_dump(exclude_none=True) for r in rollouts],
    }


def page_rollouts(doc: dict | None, first: int = 1, last: int = 1 << 62) -> list[Rollout]:
    if not doc:
        return []
    return [Rollout.model_validate(r) for r in doc["rollouts"] if first <= r["rollout"] <= last]


def rollout_pages_between(first: int, last: int) -> range:
    return range(rollout_page_of(max(first, 1)), rollout_page_of(max(last, 1)) + 1)


def game_doc(run_id: str, game: EvalGame) -> dict:
    return {**game_key(run_id, game.n), "run_id": run_id, **game.model_dump()}


# Benchmarks read every completed run of an environment with only what ranking needs.
BENCHMARK_PROJECTION = {"_id": 0, "run_id": 1, "agent_id": 1, "config": 1, "evaluations": 1}


def benchmark_filter(env_id: str) -> dict[str, Any]:
    return {"config.env_id": env_id, "status": RunStatus.COMPLETED.value}
