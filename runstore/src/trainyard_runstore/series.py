"""Downsampling of episode series for charts: pure functions over episodes or sub-bucket stats.

Every point of a downsampled series keeps the min and max of its group, so a single spike in
a million episodes still shows. Used by ``async_store`` to answer ``max_points`` requests.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from trainyard_runstore.layout import SubStats
from trainyard_runstore.schema import Episode


def raw_points(episodes: Sequence[Episode]) -> tuple[list[dict], list[dict]]:
    """Spec-shaped ``metrics.episodes`` and ``metrics.rolling_win_rate`` without sampling."""
    eps = [ep.model_dump(exclude_none=True, exclude={"win_rate"}) for ep in episodes]
    wr = [{"episode": ep.episode, "win_rate": ep.win_rate} for ep in episodes if ep.win_rate is not None]
    return eps, wr


def _point(group: SubStats) -> tuple[dict[str, Any], dict[str, Any] | None]:
    ep: dict[str, Any] = {
        "episode": group.last,
        "total_reward": group.reward_sum / group.count,
        "total_reward_min": group.reward_min,
        "total_reward_max": group.reward_max,
        "steps": round(group.steps_sum / group.count),
        "count": group.count,
    }
    if group.timestep_last is not None:
        ep["timestep"] = group.timestep_last
    wr = None
    if group.wr_count:
        wr = {"episode": group.last, "win_rate": group.wr_last,
              "win_rate_min": group.wr_min, "win_rate_max": group.wr_max}
    return ep, wr


def group_stats(stats: Sequence[SubStats], max_points: int) -> tuple[list[dict], list[dict], int]:
    """Merge consecutive stats into at most ``max_points`` points; returns (episodes, win rates, size)."""
    per_point = max(1, math.ceil(len(stats) / max_points))
    eps: list[dict] = []
    wrs: list[dict] = []
    for i in range(0, len(stats), per_point):
        chunk = stats[i : i + per_point]
        group = SubStats(first=chunk[0].first, last=chunk[0].last)
        for s in chunk:
            group.merge(s)
        ep, wr = _point(group)
        eps.append(ep)
        if wr is not None:
            wrs.append(wr)
    return eps, wrs, per_point


def downsample_episodes(episodes: Sequence[Episode], max_points: int) -> tuple[list[dict], list[dict], int]:
    """Group raw episodes into at most ``max_points`` min/mean/max points."""
    per_point = max(1, math.ceil(len(episodes) / max_points))
    stats = []
    for i in range(0, len(episodes), per_point):
        chunk = episodes[i : i + per_point]
        s = SubStats(first=chunk[0].episode, last=chunk[0].episode)
        for ep in chunk:
            s.add(ep)
        stats.append(s)
    eps, wrs, _ = group_stats(stats, len(stats))
    return eps, wrs, per_point
