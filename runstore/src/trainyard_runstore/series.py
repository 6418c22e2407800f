"""Downsampling of episode series for charts: pure functions over episode columns or sub-bucket stats.

Every metric of a downsampled point keeps its group's min and max (``<name>_min``, ``<name>_max``)
beside the value its declaration asks for (``metrics.MetricSpec.aggregation``), so a single spike
in a million episodes still shows. A series longer than ``max_points`` always gets exactly
``max_points`` points (groups of unequal size when it does not divide). Used by ``async_store``.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from typing import Any

import numpy as np

from trainyard_runstore import metrics, packing
from trainyard_runstore.layout import Agg, SubStats
from trainyard_runstore.schema import Episode

WIN_RATE = "win_rate"
# Metrics that downsampled episode points leave out: win rates have their own series, and a
# mean of booleans is not a boolean (summaries count wins).
_NOT_IN_POINTS = {WIN_RATE, "win"}


def episode_point(ep: Episode) -> dict[str, Any]:
    """An unsampled point: the episode's fields with custom metrics beside the built-in ones."""
    d = ep.model_dump(exclude_none=True, exclude={"win_rate", "metrics"})
    d.update(ep.metrics)
    return d


def raw_points(episodes: Sequence[Episode]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Spec-shaped ``metrics.episodes`` and ``metrics.rolling_win_rate`` without sampling."""
    eps = [episode_point(ep) for ep in episodes]
    wr = [{"episode": ep.episode, "win_rate": ep.win_rate} for ep in episodes if ep.win_rate is not None]
    return eps, wr


def _point(last_episode: int, count: int, aggs: dict[str, Agg]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    ep: dict[str, Any] = {"episode": last_episode, "count": count}
    for name, agg in aggs.items():
        if not agg.n or name in _NOT_IN_POINTS:
            continue
        spec = metrics.spec(name)
        value = agg.value(spec.aggregation)
        ep[name] = round(value) if spec.type == "int" and value is not None else value
        ep[f"{name}_min"] = agg.min
        ep[f"{name}_max"] = agg.max
    wr = None
    w = aggs.get(WIN_RATE)
    if w is not None and w.n:
        wr = {"episode": last_episode, "win_rate": w.last, "win_rate_min": w.min, "win_rate_max": w.max}
    return ep, wr


def _bounds(n: int, points: int) -> list[tuple[int, int]]:
    """``points`` consecutive, non-empty [lo, hi) groups covering n items (fewer when n < points)."""
    points = max(1, min(points, n))
    return [(i * n // points, (i + 1) * n // points) for i in range(points)]


def group_stats(stats: Sequence[SubStats], max_points: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Merge consecutive stats into ``max_points`` points (fewer only when there are fewer stats)."""
    eps: list[dict[str, Any]] = []
    wrs: list[dict[str, Any]] = []
    for lo, hi in _bounds(len(stats), max_points):
        group = SubStats(first=stats[lo].first, last=stats[lo].last)
        for s in stats[lo:hi]:
            group.merge(s)
        ep, wr = _point(group.last, group.count, group.aggs)
        eps.append(ep)
        if wr is not None:
            wrs.append(wr)
    return eps, wrs


def _agg(values: list[Any]) -> Agg:
    if None in values:
        values = [v for v in values if v is not None]
    if not values:
        return Agg()
    return Agg(len(values), float(sum(values)), float(min(values)), float(max(values)), float(values[-1]))


def downsample_columns(chunks: Sequence[dict[str, list[Any]]], max_points: int
                       ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Group episode columns (one dict of columns per bucket, see ``layout.bucket_columns``) into
    ``max_points`` min/value/max points."""
    names = list(dict.fromkeys(n for c in chunks for n in c if n not in ("episode", "time")))
    episode = [e for c in chunks for e in c["episode"]]
    cols = {n: [v for c in chunks for v in c.get(n, [None] * len(c["episode"]))] for n in names}
    eps: list[dict[str, Any]] = []
    wrs: list[dict[str, Any]] = []
    for lo, hi in _bounds(len(episode), max_points):
        aggs = {n: _agg(col[lo:hi]) for n, col in cols.items()}
        ep, wr = _point(episode[hi - 1], hi - lo, aggs)
        eps.append(ep)
        if wr is not None:
            wrs.append(wr)
    return eps, wrs


def _concat(chunks: Sequence[tuple[dict[str, str], dict[str, array[Any]]]], skip: set[str]
            ) -> tuple[dict[str, str], dict[str, array[Any]]]:
    """Chunks of stored arrays joined per column; a column a chunk lacks is filled with nulls."""
    kinds: dict[str, str] = {}
    for k, _ in chunks:
        for name, kind in k.items():
            kinds.setdefault(name, kind)
    kinds = {n: k for n, k in kinds.items() if n not in skip}
    out = {n: array(packing.KINDS[k][0]) for n, k in kinds.items()}
    for _, raw in chunks:
        n = len(next(iter(raw.values()))) if raw else 0
        for name, kind in kinds.items():
            out[name].extend(raw[name] if name in raw else packing.null_column(kind, n))
    return kinds, out


def _seg_agg(seg: list[Any], nulls: int) -> Agg:
    if nulls:
        seg = [v for v in seg if v is not None]
        if not seg:
            return Agg()
    return Agg(len(seg), float(sum(seg)), float(min(seg)), float(max(seg)), float(seg[-1]))


def downsample_raw(chunks: Sequence[tuple[dict[str, str], dict[str, array[Any]]]], max_points: int
                   ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Group stored episode arrays (``layout.bucket_raw`` per bucket) into ``max_points`` points.

    Works on whole columns with C-speed builtins (sum/min/max of slices), not per episode."""
    kinds, cols = _concat(chunks, {"time"})
    episode = cols.pop("episode").tolist()
    kinds.pop("episode")
    numeric = {n: packing.numeric(cols[n], kinds[n]) for n in cols}
    numeric = {n: v for n, v in numeric.items() if v[0]}  # all-null columns: no points
    eps: list[dict[str, Any]] = []
    wrs: list[dict[str, Any]] = []
    for lo, hi in _bounds(len(episode), max_points):
        aggs = {n: _seg_agg(vals[lo:hi], nulls) for n, (vals, nulls) in numeric.items()}
        ep, wr = _point(episode[hi - 1], hi - lo, aggs)
        eps.append(ep)
        if wr is not None:
            wrs.append(wr)
    return eps, wrs


def _np(column: array[Any]) -> np.ndarray[Any, Any]:
    return np.frombuffer(column, dtype=np.dtype(column.typecode)) if len(column) else np.zeros(0)


def group_pages(chunks: Sequence[tuple[dict[str, str], dict[str, array[Any]]]], max_points: int,
                first: int, last: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Group statistics pages (``layout.page_raw``) over episodes ``first``..``last`` into
    ``max_points`` points, column-wise.

    numpy reductions per group (``reduceat``): a 1,000,000-episode run has 10,000 statistics rows,
    which a Python loop over groups and metrics turned into most of a detail request's time."""
    _, cols = _concat(chunks, set())
    firsts, lasts = _np(cols["first"]), _np(cols["last"])
    lo_row = int(np.searchsorted(lasts, first, "left"))
    hi_row = int(np.searchsorted(firsts, last, "right"))
    if hi_row <= lo_row:
        return [], []
    rows = hi_row - lo_row
    starts = np.array([lo for lo, _ in _bounds(rows, max_points)], dtype=np.intp)
    ends = np.append(starts[1:], rows)
    point_episode = lasts[lo_row:hi_row][ends - 1].tolist()
    point_count = np.add.reduceat(_np(cols["count"])[lo_row:hi_row], starts).tolist()
    names = sorted({c.rsplit(".", 1)[0] for c in cols if "." in c})
    index = np.arange(rows)
    per: dict[str, tuple[list[int], list[Any], list[float], list[float], list[float]]] = {}
    for name in names:
        ns, sums, mins, maxs, tails = (_np(cols[f"{name}.{f}"])[lo_row:hi_row]
                                       for f in ("n", "sum", "min", "max", "last"))
        n = np.add.reduceat(ns, starts)
        valid = (ns > 0) & ~np.isnan(tails)
        tail = tails[np.maximum(np.maximum.reduceat(np.where(valid, index, -1), starts), 0)]
        sm = np.add.reduceat(sums, starts)
        spec = metrics.spec(name)
        value = tail if spec.aggregation == "last" else sm if spec.aggregation == "sum" else sm / np.maximum(n, 1)
        value_list: list[Any] = np.rint(value).astype(np.int64).tolist() if spec.type == "int" else value.tolist()
        per[name] = (n.tolist(), value_list, np.minimum.reduceat(mins, starts).tolist(),
                     np.maximum.reduceat(maxs, starts).tolist(), tail.tolist())
    in_points = [(name, f"{name}_min", f"{name}_max", per[name]) for name in names if name not in _NOT_IN_POINTS]
    wr = per.get(WIN_RATE)
    eps: list[dict[str, Any]] = []
    wrs: list[dict[str, Any]] = []
    for i, episode in enumerate(point_episode):
        ep: dict[str, Any] = {"episode": episode, "count": point_count[i]}
        for name, name_min, name_max, (n_, val, mn, mx, _) in in_points:
            if n_[i]:
                ep[name] = val[i]
                ep[name_min] = mn[i]
                ep[name_max] = mx[i]
        eps.append(ep)
        if wr is not None and wr[0][i]:
            wrs.append({"episode": episode, "win_rate": wr[4][i], "win_rate_min": wr[2][i], "win_rate_max": wr[3][i]})
    return eps, wrs


def downsample_episodes(episodes: Sequence[Episode], max_points: int
                        ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Group raw episodes into ``max_points`` min/value/max points (tests and small callers)."""
    names = list(dict.fromkeys(n for ep in episodes for n in ep.values()))
    chunk: dict[str, list[Any]] = {"episode": [ep.episode for ep in episodes],
             **{n: [ep.values().get(n) for ep in episodes] for n in names}}
    return downsample_columns([chunk], max_points)
