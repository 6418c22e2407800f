"""How TrainingRun documents map onto MongoDB: collection names, indexes, field paths, buckets.

Pure functions only (no I/O); ``sync_store`` and ``async_store`` execute what this module builds.

Layout 2: *per-run collections and a slim run index.* FerretDB v1 (the embedded default) answers an
exact ``_id`` from SQLite's primary key but every other filter, an ``_id`` range included, by a pass
over the whole collection, and uses no secondary index. So everything of one run lives in collections
of its own, and one run's reads and writes cost the same however many other runs the database holds:

- ``run.<key>`` (the run's *home*): the full run document (``_id: "run"``) holding the *open* episode
  bucket, the one episodes are being appended to (layout 4, below), its statistics pages (``p00000``...)
  and rollout pages (``r00000``...): a few dozen documents even for 1,000,000 episodes;
- ``run.<key>.episodes``: the sealed episode *buckets* of ``BUCKET_SIZE`` episodes (``_id`` ``0000000``...);
- ``run.<key>.games``: evaluation games, one per document (``_id`` ``0000001``...).

``<key>`` is the hex ObjectId derived from the run_id (any run_id makes a valid, short name). Ranges
are ``_id`` ranges of zero-padded strings: one query, served by the ``_id`` index on MongoDB and by a
scan of this run's own documents on FerretDB. The run list reads ``training_runs``, one small *index*
document per run (list fields only; config, checkpoints and evaluations stay in the home document),
and ``training_meta`` holds a counter that changes with every index write, the list's cheap change
token (ETag). The writer refreshes the index at most every ``INDEX_REFRESH_SECONDS`` while a run
only logs episodes, and at once on every other change; the home document is always exact.

Buckets and statistics pages are packed (``packing``) and describe their own columns. Statistics
pages keep count/sum/min/max/last per metric for every ``SUB_SIZE`` episodes of ``PAGE_BUCKETS``
buckets, so the API downsamples a long run from them alone. Writes replace whole buckets merged by
episode number, so replaying an episode never duplicates it.

Layout 3 keeps the open bucket in the home collection so that a flush is one ``update`` command: the
fenced home statement, the statistics page and the open bucket, in one round trip (layout 2 sent the
bucket to the episodes collection in a second one). When episodes move on to the next bucket, the writer
copies the finished one to the episodes collection and then deletes it from home; a bucket found in both
places (a crash between the two) is read from home, which is never older. Layout-2 runs are read as
they are: their open bucket is in the episodes collection, and their next write moves it home.

Layout 4 moves the open bucket into the home document itself (field ``open``: the bucket and its
statistics rows), so the usual flush, episodes appended to the open bucket, is a single statement: the
fenced home update. Statistics pages are written only when another bucket changes (one is sealed, or a
replay), so the page holding the open bucket may lag behind it: readers take that bucket's rows from
``open``. When episodes move past the open bucket, the writer first writes the home document (the old
open bucket complete, the pages), then the finished buckets to the episodes collection, then the new
open bucket home; a bucket in both places is read from home, which is never older. Layout-3 runs (open
buckets as ``b0000000``... documents of the home collection) are read as they are; their next write
moves those buckets out.

Layout 1 (one collection per kind, shared by all runs) is converted by ``migrate``.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bson import Binary, ObjectId
from pymongo import ASCENDING, DESCENDING, IndexModel

from trainyard_runstore import metrics, packing, rows
from trainyard_runstore.rows import Row
from trainyard_runstore.schema import STORAGE, Episode, EvalGame, Rollout, RunHead, RunStats, RunStatus

LAYOUT = 4
RUNS = "training_runs"  # the slim run index
# One tiny document per agent id, so the agent filter's options need no pass over every run.
AGENTS = "training_agents"
META = "training_meta"
INDEX_VERSION_KEY = {"_id": "run_index"}
# The run index's recent changes, one entry per index version: ``{_id: version, doc: index document}``
# (or ``reload: true`` after a bulk write). API replicas keep the index in memory and read only the
# entries past their version, so following the index never scans it (see ``run_index``).
INDEX_LOG = "training_index_log"
INDEX_LOG_KEEP = 1000  # entries kept; a reader further behind reloads the whole index
INDEX_LOG_TRIM_EVERY = 100  # a writer trims the log when its version is a multiple of this
# On FerretDB v1 two writers (a starting trainer and the API's Lost sweep) were seen drawing the same
# version from the counter's findAndModify $inc, so the second log insert failed (E11000). A writer
# that finds its version taken draws again; both changes are then logged, under different versions.
INDEX_VERSION_TRIES = 5
# Shared collections of layout 1 (read only by ``migrate``).
OLD_BUCKETS = "training_episode_buckets"
OLD_STATS = "training_episode_stats"
OLD_ROLLOUTS = "training_rollouts"
OLD_GAMES = "training_eval_games"
RUN_DOC_ID = "run"
INDEX_REFRESH_SECONDS = 2.0
LADDERS = "ladders"  # one document per Elo ladder (trainyard_runstore.ladder), _id = its id

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
        IndexModel([("env_id", ASCENDING), ("status", ASCENDING)], name="env_status"),
    ],
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

# The fields a run's index document copies from its home document (what lists and live polling show):
# ``RunHead``'s, and the environment (from the run's config) to find a benchmark's runs.
INDEX_FIELDS = (*RunHead.model_fields, "env_id")


def _oid(run_id: str) -> ObjectId:
    return ObjectId(hashlib.sha256(run_id.encode()).digest()[:12])


def run_key(run_id: str) -> dict[str, Any]:
    """The filter that finds a run's index document (its ``_id`` is derived from the run_id)."""
    return {"_id": _oid(run_id)}


def home(run_id: str) -> str:
    """The run's own collection: its full document, statistics pages and rollout pages."""
    return f"run.{_oid(run_id)}"


def episodes_collection(run_id: str) -> str:
    return f"{home(run_id)}.episodes"


def games_collection(run_id: str) -> str:
    return f"{home(run_id)}.games"


def run_collections(run_id: str) -> list[str]:
    return [home(run_id), episodes_collection(run_id), games_collection(run_id)]


HOME_KEY = {"_id": RUN_DOC_ID}


def bucket_of(episode: int) -> int:
    return (episode - 1) // BUCKET_SIZE


def page_of(bucket: int) -> int:
    return bucket // PAGE_BUCKETS


def bucket_id(bucket: int) -> str:
    return f"{bucket:07d}"


def bucket_key(bucket: int) -> dict[str, Any]:
    return {"_id": bucket_id(bucket)}


def bucket_range(first: int, last: int) -> dict[str, Any]:
    """Filter of the buckets holding episodes ``first``..``last`` (one ``_id`` range)."""
    return {"_id": {"$gte": bucket_id(bucket_of(max(first, 1))), "$lte": bucket_id(bucket_of(max(last, 1)))}}


def resident_id(bucket: int) -> str:
    """The ``_id`` of an open bucket in the run's home collection."""
    return f"b{bucket:07d}"


def resident_key(bucket: int) -> dict[str, Any]:
    return {"_id": resident_id(bucket)}


def resident_range(first: int, last: int) -> dict[str, Any]:
    """Filter of the home collection's open buckets among those holding episodes ``first``..``last``."""
    return {"_id": {"$gte": resident_id(bucket_of(max(first, 1))), "$lte": resident_id(bucket_of(max(last, 1)))}}


RESIDENTS = {"_id": {"$gte": resident_id(0), "$lte": resident_id(10**7 - 1)}}  # every open bucket of a run


def resident_doc(bucket: int, episodes: list[Row]) -> dict[str, Any]:
    return {**bucket_doc(bucket, episodes), **resident_key(bucket)}


OPEN = "open"  # the home document's open bucket (layout 4)
PAGE_STAMPS = "page_stamps"  # the home document's record of each statistics page's stamp, by page _id
# The run document without its open bucket and page stamps: what every reader of the record reads.
WITHOUT_OPEN = {OPEN: 0, PAGE_STAMPS: 0}
# What readers of buckets and pages take from the home collection's documents (the home document's ``open``).
PARTS_PROJECTION = {f: 1 for f in (OPEN, "bucket", "page", "stamp", "first_episode", "last_episode", "count",
                                   "format", "columns", "packed")}


def with_home(query: dict[str, Any]) -> dict[str, Any]:
    """``query`` over the home collection's documents, or the home document (for its ``open``): one read."""
    return {"$or": [query, HOME_KEY]}


def open_doc(bucket: int, episodes: list[Row], subs: list[SubStats]) -> dict[str, Any]:
    """The open bucket as the home document holds it: the bucket document and its statistics rows."""
    doc = bucket_doc(bucket, episodes)
    del doc["_id"]
    stats = page_doc(page_of(bucket), {bucket: subs})
    doc["stats"] = {"columns": stats["columns"], "packed": stats["packed"]}
    return doc


def split_home(docs: Iterable[dict[str, Any]]) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """(the home document's open bucket, the other documents in order) of a ``with_home`` read."""
    found: dict[str, Any] | None = None
    rest = []
    for d in docs:
        if d["_id"] == RUN_DOC_ID:
            found = d.get(OPEN)
        else:
            rest.append(d)
    return found, rest


def open_residents(open_: dict[str, Any] | None, residents: Iterable[dict[str, Any]], first: int, last: int
                   ) -> dict[int, dict[str, Any]]:
    """The buckets the home collection holds among those of episodes ``first``..``last``, by number: the
    layout-3 open buckets and the home document's (which wins: it is never older)."""
    out = {d["bucket"]: d for d in residents}
    if open_ is not None and bucket_of(max(first, 1)) <= open_["bucket"] <= bucket_of(max(last, 1)):
        out[open_["bucket"]] = open_
    return out


def open_subs(open_: dict[str, Any] | None) -> dict[int, list[SubStats]]:
    """The open bucket's statistics rows (they replace the page's rows of that bucket)."""
    return page_subs(open_["stats"]) if open_ and "stats" in open_ else {}


def splice_open(chunks: list[tuple[dict[str, str], dict[str, Any]]], open_: dict[str, Any] | None
                ) -> list[tuple[dict[str, str], dict[str, Any]]]:
    """Statistics page chunks (``page_raw``, in order) with the open bucket's rows taken from ``open_``."""
    if not open_ or "stats" not in open_:
        return chunks
    b = open_["bucket"]
    before, after = [], []
    for kinds, raw in chunks:
        buckets = raw["bucket"]  # sorted: a binary search, not a Python pass over every row of a long run
        lo, hi = bisect_left(buckets, b), bisect_right(buckets, b)
        if lo:
            before.append((kinds, {k: v[:lo] for k, v in raw.items()}))
        if hi < len(buckets):
            after.append((kinds, {k: v[hi:] for k, v in raw.items()}))
    return [*before, page_raw(open_["stats"]), *after]


def interleave(resident: dict[int, dict[str, Any]], sealed: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Bucket documents in order: called with each sealed bucket read from the episodes collection (in
    order) and then with None, it pops and returns the open buckets (``resident``, by number) due before
    it and the bucket itself, its home copy replacing it where both exist."""
    if sealed is None:
        return [resident.pop(b) for b in sorted(resident)]
    b = sealed["bucket"]
    return [*(resident.pop(k) for k in sorted(k for k in resident if k < b)), resident.pop(b, sealed)]


def page_id(page: int) -> str:
    return f"p{page:05d}"


def page_key(page: int) -> dict[str, Any]:
    return {"_id": page_id(page)}


def page_range(first_page: int, last_page: int) -> dict[str, Any]:
    return {"_id": {"$gte": page_id(first_page), "$lte": page_id(last_page)}}


def rollout_page_of(rollout: int) -> int:
    return (rollout - 1) // ROLLOUT_PAGE_SIZE


def rollout_page_id(page: int) -> str:
    return f"r{page:05d}"


def rollout_page_key(page: int) -> dict[str, Any]:
    return {"_id": rollout_page_id(page)}


def rollout_page_range(first: int, last: int) -> dict[str, Any]:
    return {"_id": {"$gte": rollout_page_id(rollout_page_of(max(first, 1))),
                    "$lte": rollout_page_id(rollout_page_of(max(last, 1)))}}


def game_key(n: int) -> dict[str, Any]:
    return {"_id": f"{n:07d}"}


def buckets_between(first: int, last: int) -> range:
    """Bucket numbers holding episodes ``first``..``last`` (inclusive)."""
    return range(bucket_of(max(first, 1)), bucket_of(max(last, 1)) + 1)


_NON_FINITE = {math.inf: "Infinity", -math.inf: "-Infinity"}


def storable(value: Any) -> Any:
    """``value`` with every NaN and infinity as the string ``"NaN"``, ``"Infinity"`` or ``"-Infinity"``,
    which the models read back as those floats. FerretDB v1 refuses an infinity (a write error) and
    drops the connection on a NaN, so one diverged reward or loss stopped every later write of its run
    (the batch was retried for ever). Packed columns keep such values as they are."""
    if type(value) is float:
        return value if math.isfinite(value) else _NON_FINITE.get(value, "NaN")
    if isinstance(value, dict):
        return {k: storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable(v) for v in value]
    return value


def episode_to_doc(ep: Episode) -> dict[str, Any]:
    doc = ep.model_dump(exclude_none=True)
    if not doc.get("metrics"):
        doc.pop("metrics", None)
    return doc


def index_doc(home_doc: dict[str, Any]) -> dict[str, Any]:
    """The run's index document, copied from its home document."""
    doc = {k: home_doc.get(k) for k in INDEX_FIELDS}
    doc["env_id"] = (home_doc.get("config") or {}).get("env_id")
    doc["layout"] = LAYOUT
    return doc


def index_log_entry(version: int, doc: dict[str, Any] | None) -> dict[str, Any]:
    """The change-log entry of index ``version``: the run's new index document, or (None) a request
    that readers reload the whole index (a bulk write)."""
    return {"_id": version, "doc": doc} if doc is not None else {"_id": version, "reload": True}


def index_log_stale(version: int) -> dict[str, Any]:
    """Filter of the entries a writer at ``version`` trims (all but the newest INDEX_LOG_KEEP)."""
    return {"_id": {"$lte": version - INDEX_LOG_KEEP}}


def index_log_after(version: int) -> dict[str, Any]:
    return {"_id": {"$gt": version}}


def index_log_key(version: int) -> dict[str, Any]:
    return {"_id": version}


# ---------------------------------------------------------------- per-bucket statistics


@dataclass
class Agg:
    """count, sum, min, max and last value of one metric over some episodes; combinable exactly."""

    n: int = 0
    sum: float = 0.0
    min: float = math.inf
    max: float = -math.inf
    last: float | None = None

    def merge(self, other: Agg) -> None:
        if not other.n:
            return
        self.n += other.n
        self.sum += other.sum
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)
        self.last = other.last

    def value(self, aggregation: str) -> float | None:
        if not self.n:
            return None
        if aggregation == "last":
            return self.last
        if aggregation == "sum":
            return self.sum
        return self.sum / self.n


@dataclass
class SubStats:
    """Aggregates of up to SUB_SIZE consecutive episodes, per metric; combinable exactly."""

    first: int
    last: int
    count: int = 0
    aggs: dict[str, Agg] = field(default_factory=dict)

    def merge(self, other: SubStats) -> None:
        self.first = min(self.first, other.first)
        self.last = max(self.last, other.last)
        self.count += other.count
        for name, agg in other.aggs.items():
            mine = self.aggs.get(name)
            if mine is None:
                mine = self.aggs[name] = Agg()
            mine.merge(agg)

    def to_doc(self) -> dict[str, Any]:
        return {"first": self.first, "last": self.last, "count": self.count,
                "aggs": {k: dict(v.__dict__) for k, v in sorted(self.aggs.items())}}


def _agg_of(seg: list[Any], nulls: bool = True) -> Agg | None:
    if nulls and None in seg:
        seg = [v for v in seg if v is not None]
    total = float(sum(seg))
    if not math.isfinite(total):  # a NaN or an infinity among them: statistics leave them out, like a null
        seg = [v for v in seg if math.isfinite(v)]
        total = float(sum(seg))
    if not seg:
        return None
    return Agg(len(seg), total, float(min(seg)), float(max(seg)), float(seg[-1]))


def sub_stats(episodes: Iterable[Row]) -> list[SubStats]:
    """Group sorted episode rows into SUB_SIZE-aligned sub-buckets (column-wise: one slice per metric)."""
    eps = list(episodes)
    if not eps:
        return []
    names = [m.name for m in metrics.EPISODE_METRICS] + sorted(rows.custom_names(eps))
    cols = {n: rows.column(eps, n) for n in names}
    nulls = {n: col.count(None) for n, col in cols.items()}
    cols = {n: col for n, col in cols.items() if nulls[n] < len(col)}  # all-null columns have no stats
    numbers = rows.column(eps, "episode")
    starts = [0] + [i for i in range(1, len(numbers))
                    if (numbers[i] - 1) // SUB_SIZE != (numbers[i - 1] - 1) // SUB_SIZE]
    out = []
    for lo, hi in zip(starts, [*starts[1:], len(numbers)], strict=True):
        aggs = {}
        for n, col in cols.items():
            agg = _agg_of(col[lo:hi], nulls[n] > 0)
            if agg is not None:
                aggs[n] = agg
        out.append(SubStats(numbers[lo], numbers[hi - 1], hi - lo, aggs))
    return out


def refresh_subs(old: list[SubStats], merged: list[Row], new: Iterable[Row]) -> list[SubStats]:
    """A bucket's sub-stats after ``new`` episodes were merged in: only the sub-buckets they touch
    are recomputed (from ``merged``, the bucket's complete sorted episodes)."""
    changed = {(ep[rows.EPISODE] - 1) // SUB_SIZE for ep in new}
    by_sub = {(s.first - 1) // SUB_SIZE: s for s in old}
    for k in changed:
        by_sub.pop(k, None)
    by_sub.update({(s.first - 1) // SUB_SIZE: s
                   for s in sub_stats(ep for ep in merged if (ep[rows.EPISODE] - 1) // SUB_SIZE in changed)})
    return [by_sub[k] for k in sorted(by_sub)]


def total(subs: Iterable[SubStats]) -> SubStats | None:
    """All ``subs`` merged into one (None when there are none)."""
    out: SubStats | None = None
    for s in subs:
        if out is None:
            out = SubStats(first=s.first, last=s.last)
        out.merge(s)
    return out


def merge_episodes(existing: Iterable[Row], new: Iterable[Row]) -> list[Row]:
    """Merge episode rows by number (a replayed episode replaces itself), sorted."""
    by_number = {ep[rows.EPISODE]: ep for ep in existing}
    for ep in new:
        by_number[ep[rows.EPISODE]] = ep
    return [by_number[n] for n in sorted(by_number)]


def episode_columns(episodes: list[Row]) -> packing.Columns:
    """The columns a bucket of these episodes needs: the built-ins, then every custom metric present."""
    custom = sorted(rows.custom_names(episodes))
    cols = [("episode", "int")]
    cols += [(m.name, packing.STORED_KIND[m.type]) for m in metrics.EPISODE_METRICS]
    cols += [("time", "opt_time")]
    cols += [(name, "opt_float") for name in custom]
    return tuple(cols)


def bucket_doc(bucket: int, episodes: list[Row]) -> dict[str, Any]:
    """The bucket document for a bucket's complete, sorted episode rows (packed, self-describing)."""
    columns = episode_columns(episodes)
    values = {name: rows.column(episodes, name) for name, _ in columns}
    return {
        **bucket_key(bucket),
        "bucket": bucket,
        "first_episode": episodes[0][rows.EPISODE],
        "last_episode": episodes[-1][rows.EPISODE],
        "count": len(episodes),
        "format": packing.FORMAT,
        "columns": columns_text(columns),
        "packed": Binary(packing.pack_columns(values, columns)),
    }


def columns_text(columns: packing.Columns) -> str:
    """``"episode:int,total_reward:opt_float,..."``: one string, as FerretDB stores no nested arrays."""
    return ",".join(f"{name}:{kind}" for name, kind in columns)


def doc_columns(doc: dict[str, Any]) -> packing.Columns:
    """A packed document's columns (layout-1 buckets predate self-description)."""
    text = doc.get("columns")
    if not text:
        return packing.EPISODE_COLUMNS
    return tuple(tuple(c.rsplit(":", 1)) for c in text.split(","))  # type: ignore[misc,unused-ignore]


_STAT_FIELDS = (("n", "int"), ("sum", "float"), ("min", "float"), ("max", "float"), ("last", "opt_float"))


def page_doc(page: int, subs_by_bucket: dict[int, list[SubStats]]) -> dict[str, Any]:
    """A stats page: the sub-bucket statistics of up to PAGE_BUCKETS buckets (packed, self-describing)."""
    entries = [(b, s) for b, subs in sorted(subs_by_bucket.items()) for s in subs]
    names = sorted({name for _, s in entries for name in s.aggs})
    columns: list[tuple[str, str]] = [("bucket", "int"), ("first", "int"), ("last", "int"), ("count", "int")]
    columns += [(f"{name}.{f}", kind) for name in names for f, kind in _STAT_FIELDS]
    values: dict[str, list[Any]] = {"bucket": [b for b, _ in entries], "first": [s.first for _, s in entries],
                                    "last": [s.last for _, s in entries], "count": [s.count for _, s in entries]}
    empty = Agg()
    for name in names:
        aggs = [s.aggs.get(name, empty) for _, s in entries]
        values[f"{name}.n"] = [a.n for a in aggs]
        values[f"{name}.sum"] = [a.sum for a in aggs]
        values[f"{name}.min"] = [a.min for a in aggs]
        values[f"{name}.max"] = [a.max for a in aggs]
        values[f"{name}.last"] = [a.last for a in aggs]
    return {
        **page_key(page),
        "page": page,
        "stamp": secrets.token_hex(6),  # new with every write: a reader's cached copy is current while it matches
        "format": packing.FORMAT,
        "columns": columns_text(tuple(columns)),
        "packed": Binary(packing.pack_columns(values, tuple(columns))),
    }


def page_stamps(docs: Iterable[dict[str, Any]]) -> dict[str, str]:
    """The home ``$set`` fields that record these statistics pages' stamps (written with the pages)."""
    return {f"{PAGE_STAMPS}.{doc['_id']}": doc["stamp"] for doc in docs}


def page_subs(doc: dict[str, Any] | None) -> dict[int, list[SubStats]]:
    if not doc:
        return {}
    columns = doc_columns(doc)
    raw = packing.unpack_raw(doc["packed"], columns)
    names = sorted({c.rsplit(".", 1)[0] for c, _ in columns if "." in c})
    buckets, firsts, lasts, counts = (raw[c].tolist() for c in ("bucket", "first", "last", "count"))
    per_name = {name: [packing.decode(raw[f"{name}.{f}"], kind) for f, kind in _STAT_FIELDS] for name in names}
    out: dict[int, list[SubStats]] = {}
    for i, b in enumerate(buckets):
        aggs = {}
        for name, (n, sm, mn, mx, last) in per_name.items():
            if n[i]:
                aggs[name] = Agg(n[i], sm[i], mn[i], mx[i], last[i])
        out.setdefault(b, []).append(SubStats(firsts[i], lasts[i], counts[i], aggs))
    return out


def summarize(subs: Iterable[SubStats], last: Episode | None) -> RunStats:
    """Run-level summary from every sub-bucket (or bucket total) of the run plus its newest episode."""
    all_ = total(subs)
    if all_ is None or all_.count == 0:
        return RunStats()
    reward = all_.aggs.get("total_reward", Agg())
    wr = all_.aggs.get("win_rate", Agg())
    final_wr = last.win_rate if last is not None else wr.last
    mean = reward.sum / reward.n if reward.n else None  # over the rewards that are numbers (not a NaN)
    return RunStats(
        episodes=all_.count,
        timesteps=int(all_.aggs["timestep"].last or 0) if "timestep" in all_.aggs else 0,
        reward_sum=reward.sum,
        mean_reward=mean,
        max_reward=reward.max if reward.n else None,
        min_reward=reward.min if reward.n else None,
        last_reward=last.total_reward if last is not None else None,
        final_win_rate=final_wr,
        wins=int(all_.aggs["win"].sum) if "win" in all_.aggs else 0,
        final_metric=final_wr if final_wr is not None else mean,
        last_episode=all_.last,
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


# The run document without its config and checkpoints; used by live polling.
RUN_PROJECTION = {"_id": 1, **{k: 1 for k in INDEX_FIELDS}}


def bucket_episodes(doc: dict[str, Any] | None, first: int, last: int) -> list[Episode]:
    """Episodes ``first``..``last`` of a stored bucket."""
    return [rows.episode(row) for row in bucket_rows(doc) if first <= row[rows.EPISODE] <= last]


def bucket_rows(doc: dict[str, Any] | None) -> list[Row]:
    """A stored bucket's episodes as rows (what the writer merges new episodes into)."""
    if not doc:
        return []
    columns = doc_columns(doc)
    raw = packing.unpack_raw(doc["packed"], columns)
    kinds = dict(columns)
    values = [packing.decode(raw[n], kinds[n]) if n in kinds else [None] * len(raw["episode"])
              for n in rows.FIELDS if n != "metrics"]
    custom = [(n, packing.decode(raw[n], kind)) for n, kind in columns if n not in rows.INDEX]
    n = len(raw["episode"])
    values.insert(rows.METRICS, [tuple((name, col[i]) for name, col in custom if col[i] is not None)
                                 for i in range(n)] if custom else [()] * n)
    return list(zip(*values, strict=True))


def bucket_columns(doc: dict[str, Any], first: int, last: int, names: list[str] | None = None) -> dict[str, list[Any]]:
    """Episodes ``first``..``last`` of a bucket as columns (``names``: which; None: all stored)."""
    columns = doc_columns(doc)
    raw = packing.unpack_raw(doc["packed"], columns)
    eps = raw["episode"]
    lo = next((i for i, e in enumerate(eps) if e >= first), len(eps))
    hi = next((i for i in range(len(eps) - 1, -1, -1) if eps[i] <= last), -1) + 1
    kinds = dict(columns)
    wanted = ["episode", *(n for n in (names if names is not None else kinds) if n != "episode")]
    return {n: packing.decode(raw[n][lo:hi], kinds[n]) if n in kinds else [None] * max(0, hi - lo) for n in wanted}


def bucket_raw(doc: dict[str, Any], first: int, last: int) -> tuple[dict[str, str], dict[str, Any]]:
    """Episodes ``first``..``last`` of a bucket as stored arrays (nulls as sentinels) with their kinds."""
    columns = doc_columns(doc)
    raw = packing.unpack_raw(doc["packed"], columns)
    eps = raw["episode"]
    lo = next((i for i, e in enumerate(eps) if e >= first), len(eps))
    hi = next((i for i in range(len(eps) - 1, -1, -1) if eps[i] <= last), -1) + 1
    if (lo, hi) != (0, len(eps)):
        raw = {k: v[lo:hi] for k, v in raw.items()}
    return dict(columns), raw


RawChunk = tuple[dict[str, str], dict[str, Any]]  # (kinds by column, stored arrays by column)


def page_raw(doc: dict[str, Any]) -> RawChunk:
    """A statistics page as stored arrays with their kinds (see ``page_doc``)."""
    columns = doc_columns(doc)
    return dict(columns), packing.unpack_raw(doc["packed"], columns)


def stored_metric_names(doc: dict[str, Any]) -> list[str]:
    """Metric names a bucket holds values for (custom ones included)."""
    return [c for c, _ in doc_columns(doc) if c not in ("episode", "time")]


# ---------------------------------------------------------------- rollouts, evaluation games


def merge_rollouts(existing: Iterable[Rollout], new: Iterable[Rollout]) -> list[Rollout]:
    """Merge by rollout number (a replayed rollout replaces itself), sorted."""
    by_number = {r.rollout: r for r in existing}
    for r in new:
        by_number[r.rollout] = r
    return [by_number[n] for n in sorted(by_number)]


def rollout_page_doc(page: int, rollouts: list[Rollout]) -> dict[str, Any]:
    return {
        **rollout_page_key(page),
        "page": page,
        "first": rollouts[0].rollout,
        "last": rollouts[-1].rollout,
        "rollouts": [rollout_doc(r) for r in rollouts],
    }


def rollout_doc(rollout: Rollout) -> dict[str, Any]:
    """A rollout as stored: without unset values, and without ``metrics`` when it has no custom one."""
    return rollout.model_dump(exclude_none=True, context=STORAGE, exclude=None if rollout.metrics else {"metrics"})


def page_rollouts(doc: dict[str, Any] | None, first: int = 1, last: int = 1 << 62) -> list[Rollout]:
    if not doc:
        return []
    return [Rollout.model_validate(r) for r in doc["rollouts"] if first <= r["rollout"] <= last]


def game_doc(game: EvalGame) -> dict[str, Any]:
    return {**game_key(game.n), **game.model_dump()}


# Benchmarks rank the completed runs of an environment: found in the index, read from their homes.
BENCHMARK_PROJECTION = {"_id": 0, "run_id": 1, "agent_id": 1, "config": 1, "evaluations": 1}


def benchmark_filter(env_id: str) -> dict[str, Any]:
    return {"env_id": env_id, "status": RunStatus.COMPLETED.value}
