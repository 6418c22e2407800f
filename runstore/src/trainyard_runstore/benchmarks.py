"""Benchmarks across runs: rank agents by evaluation win rate per opponent, seeds grouped.

Pure functions over the runs that ``async_store.benchmark_runs`` reads (completed runs found
in the run index, read from their homes with ``layout.BENCHMARK_PROJECTION``); computed in Python because FerretDB has
no ``$avg``/``$push`` accumulators. The API's ``/api/benchmarks`` serves the result.

Runs form a group when they share agent_id, timestep budget (``total_timesteps``) and configuration
apart from the keys in ``RUN_SPECIFIC_KEYS`` (seed, paths, devices, logging): repetitions of one
experiment that differ by seed. Each run contributes the win rate of its newest evaluation of its
final checkpoint (highest timestep). A group's interval is the 95% t-interval over its runs' win
rates, or with a single run the Wilson interval of that run's games.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, Field

from trainyard_runstore.schema import Evaluation, Interval, OpponentResult, RunRecord
from trainyard_runstore.stats import mean_sd, t_interval

# Config keys that vary between repetitions of one experiment (or are grouped on separately).
RUN_SPECIFIC_KEYS = frozenset({
    "seed", "run_id", "agent_id", "env_id", "total_timesteps", "checkpoint_dir", "checkpoint_every", "device",
    "torch_threads", "tensorboard", "metrics_port", "metrics_addr", "attempt", "win_window", "log_buffer_size",
    "log_flush_interval", "evaluation",
})


class BenchmarkEntry(BaseModel):
    rank: int = Field(ge=1)
    group: str = Field(description="id of the group: agent, budget and shared configuration")
    agent_id: str
    total_timesteps: int | None = Field(description="the timestep budget of every run in the group")
    config: dict[str, Any] = Field(description="configuration shared by the group's runs (run-specific keys removed)")
    mean_win_rate: float
    ci: Interval = Field(description="95% interval of the mean win rate")
    ci_method: Literal["t", "wilson"] = Field(description="t over seeds, or Wilson of the only run's games")
    seeds: int = Field(description="runs in the group (one per seed)")
    seed_values: list[int | None]
    run_ids: list[str]
    win_rates: list[float] = Field(description="per run, in run_ids order")
    mean_score_margin: float
    games: int = Field(description="evaluation games over all runs of the group")
    timesteps: list[int] = Field(description="timestep of each run's evaluated checkpoint")


class OpponentRanking(BaseModel):
    opponent: str
    entries: list[BenchmarkEntry]


class Benchmark(BaseModel):
    env_id: str
    runs: int = Field(description="completed runs with an evaluation that were ranked")
    rankings: list[OpponentRanking]


def shared_config(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k not in RUN_SPECIFIC_KEYS}


def group_key(run: RunRecord) -> tuple[str, int | None, str]:
    return (run.agent_id, run.config.total_timesteps,
            json.dumps(shared_config(run.config.model_dump(mode="json")), sort_keys=True, default=str))


def final_evaluation(run: RunRecord) -> Evaluation | None:
    """The newest evaluation of the run's latest evaluated checkpoint."""
    if not run.evaluations:
        return None
    return max(run.evaluations, key=lambda e: (e.timestep, e.time))


def _entry(key: tuple[str, int | None, str],
           runs: list[tuple[RunRecord, Evaluation, OpponentResult]]) -> BenchmarkEntry:
    agent_id, budget, config_json = key
    rates = [r.win_rate for _, _, r in runs]
    mean, _ = mean_sd(rates)
    if len(runs) == 1:
        ci, method = runs[0][2].win_rate_ci, "wilson"
    else:
        low, high = t_interval(rates)
        ci, method = Interval(low=max(0.0, low), high=min(1.0, high)), "t"
    games = sum(r.games for _, _, r in runs)
    margin = sum(r.mean_score_margin * r.games for _, _, r in runs) / games if games else 0.0
    return BenchmarkEntry(
        rank=1, group=hashlib.sha1(repr(key).encode()).hexdigest()[:12], agent_id=agent_id, total_timesteps=budget,
        config=json.loads(config_json), mean_win_rate=mean, ci=ci, ci_method=method, seeds=len(runs),
        seed_values=[d.config.seed for d, _, _ in runs],
        run_ids=[d.run_id for d, _, _ in runs],
        win_rates=rates, mean_score_margin=margin, games=games, timesteps=[e.timestep for _, e, _ in runs],
    )


def rank(env_id: str, runs: Iterable[RunRecord]) -> Benchmark:
    """Group the runs, then rank the groups per opponent by mean win rate (ties: higher CI low)."""
    groups: dict[tuple[Any, ...], list[tuple[RunRecord, Evaluation]]] = {}
    for run in runs:
        evaluation = final_evaluation(run)
        if evaluation is not None:
            groups.setdefault(group_key(run), []).append((run, evaluation))
    groups = {k: sorted(v, key=lambda de: de[0].run_id) for k, v in groups.items()}
    opponents = sorted({r.opponent for runs in groups.values() for _, e in runs for r in e.results})
    rankings = []
    for opponent in opponents:
        entries = []
        for key, members in groups.items():
            with_result = [(d, e, r) for d, e in members if (r := e.result(opponent)) is not None]
            if with_result:
                entries.append(_entry(key, with_result))
        entries.sort(key=lambda x: (-x.mean_win_rate, -x.ci.low, x.agent_id, x.group))
        rankings.append(OpponentRanking(opponent=opponent,
                                        entries=[x.model_copy(update={"rank": i}) for i, x in enumerate(entries, 1)]))
    return Benchmark(env_id=env_id, runs=sum(len(v) for v in groups.values()), rankings=rankings)
