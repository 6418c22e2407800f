"""Pure layout and downsampling logic (no database)."""

import pytest
from trainyard_runstore import layout, rows, series
from trainyard_runstore.schema import Episode

pytestmark = pytest.mark.unit


def eps(rewards, start=1, win=None):
    return [Episode(episode=start + i, total_reward=r, steps=1, win=win) for i, r in enumerate(rewards)]


def as_rows(episodes):
    return [rows.of(e) for e in episodes]


def test_merge_replaces_by_episode_number_and_sorts():
    merged = layout.merge_episodes(as_rows(eps([1, 2, 3])), as_rows([Episode(episode=2, total_reward=20, steps=1),
                                                                      Episode(episode=4, total_reward=4, steps=1)]))
    assert [(e.episode, e.total_reward) for e in map(rows.episode, merged)] == [(1, 1), (2, 20), (3, 3), (4, 4)]


def test_summary_is_exact_over_buckets_and_independent_of_grouping():
    rewards = [float(i % 17) - 5 for i in range(2500)]
    all_eps = eps(rewards)
    subs = layout.sub_stats(as_rows(all_eps))
    s = layout.summarize(subs, all_eps[-1])
    assert s.episodes == 2500
    assert s.mean_reward == pytest.approx(sum(rewards) / 2500)
    assert (s.max_reward, s.min_reward, s.last_reward) == (11.0, -5.0, rewards[-1])
    # grouping into buckets of 1000 gives the same subs as one pass
    by_bucket = [s for b in range(3) for s in layout.sub_stats(as_rows(all_eps[b * 1000:(b + 1) * 1000]))]
    assert [x.to_doc() for x in by_bucket] == [x.to_doc() for x in subs]


def test_final_metric_prefers_win_rate():
    e = [Episode(episode=1, total_reward=5, steps=1, win=True, win_rate=1.0)]
    s = layout.summarize(layout.sub_stats(as_rows(e)), e[-1])
    assert s.final_metric == 1.0 and s.final_win_rate == 1.0 and s.wins == 1
    e2 = eps([2.0, 4.0])
    assert layout.summarize(layout.sub_stats(as_rows(e2)), e2[-1]).final_metric == 3.0


def test_downsampling_keeps_a_single_spike():
    rewards = [0.0] * 100_000
    rewards[54_321] = 1000.0
    points, _ = series.downsample_episodes(eps(rewards), 2000)
    assert len(points) == 2000
    assert max(p["total_reward_max"] for p in points) == 1000.0
    spike = next(p for p in points if p["total_reward_max"] == 1000.0)
    assert spike["episode"] - 50 < 54_322 <= spike["episode"]
    assert sum(p["count"] for p in points) == 100_000


def test_group_stats_merges_exactly():
    subs = layout.sub_stats(as_rows(eps([float(i) for i in range(1000)])))  # 10 subs of 100
    points, _ = series.group_stats(subs, 3)
    assert len(points) == 3
    assert [p["count"] for p in points] == [300, 300, 400]
    assert points[0]["total_reward"] == pytest.approx(149.5)
    assert (points[2]["total_reward_min"], points[2]["total_reward_max"]) == (600.0, 999.0)


@pytest.mark.parametrize("episodes", [1001, 1500, 20_001, 60_000])
def test_downsampling_gives_exactly_the_requested_points(episodes):
    """A run longer than the requested points gets that many (the old grouping gave 501 for 1,001)."""
    all_eps = eps([float(i % 5) for i in range(episodes)])
    points, _ = series.downsample_episodes(all_eps, 1000)
    assert len(points) == 1000 and sum(p["count"] for p in points) == episodes
    if episodes >= 100_000 // 2:
        stats_points, _ = series.group_stats(layout.sub_stats(as_rows(all_eps)), 500)
        assert len(stats_points) == 500


def test_custom_metric_is_stored_aggregated_and_described():
    from trainyard_runstore import packing

    e = [Episode(episode=i, total_reward=1.0, steps=1, metrics={"opponent_score": float(i)}) for i in range(1, 201)]
    doc = layout.bucket_doc(0, as_rows(e))
    assert "opponent_score:opt_float" in doc["columns"]
    assert layout.bucket_episodes(doc, 1, 200)[-1].metrics == {"opponent_score": 200.0}
    assert layout.bucket_columns(doc, 10, 12, ["opponent_score"]) == {"episode": [10, 11, 12],
                                                                      "opponent_score": [10.0, 11.0, 12.0]}
    points, _ = series.downsample_episodes(e, 2)
    assert points[1]["opponent_score"] == pytest.approx(150.5)
    assert (points[1]["opponent_score_min"], points[1]["opponent_score_max"]) == (101.0, 200.0)
    back = layout.page_subs(layout.page_doc(0, {0: layout.sub_stats(as_rows(e))}))
    assert back[0][1].aggs["opponent_score"].max == 200.0
    assert packing.STORED_KIND["bool"] == "opt_bool"
    with pytest.raises(ValueError, match="reserved"):
        Episode(episode=1, total_reward=0, steps=0, metrics={"steps": 1.0})


def test_list_sort_rejects_unknown_fields_by_name():
    assert layout.list_sort("-episodes")[0] == ("summary.episodes", -1)
    with pytest.raises(ValueError, match="unknown sort field 'bogus'"):
        layout.list_sort("bogus")


def test_list_filter_escapes_search_text():
    flt = layout.list_filter(q="a.b", status="running")
    assert flt["status"] == "running"
    assert flt["$or"][0]["run_id"]["$regex"] == r"a\.b"


def test_packing_round_trips_every_field():
    from datetime import UTC, datetime

    from trainyard_runstore import packing

    eps = [Episode(episode=1, total_reward=0.1 + 0.2, steps=3, win=True, epsilon=0.05, timestep=0, win_rate=1.0,
                   time=datetime(2026, 11, 25, 13, 1, 2, 345678, tzinfo=UTC)),
           Episode(episode=2, total_reward=-1e300, steps=0),
           Episode(episode=3, total_reward=5.0, steps=7, win=False, timestep=2**40)]
    back = packing.unpack(packing.pack(eps, packing.EPISODE_COLUMNS), packing.EPISODE_COLUMNS)
    assert back == [e.model_dump(exclude={"metrics"}) for e in eps]
    assert layout.bucket_episodes(layout.bucket_doc(0, as_rows(eps)), 1, 3) == eps
    big = [Episode(episode=i, total_reward=float(i % 13), steps=40, win=i % 2 == 0, timestep=i * 40, win_rate=0.5)
           for i in range(1, 1001)]
    assert len(packing.pack(big, packing.EPISODE_COLUMNS)) < 12_000  # vs ~60 KB as nested documents


def test_episode_rows_round_trip_and_are_not_tracked_by_the_garbage_collector():
    """The writer's form of an episode (``rows``): the same values back, as a stored bucket too, and a
    plain tuple the collector stops tracking (what keeps thousands of waiting episodes cheap)."""
    import gc
    from datetime import UTC, datetime

    e = [Episode(episode=1, total_reward=0.5, steps=3, win=True, epsilon=0.1, timestep=3, win_rate=1.0,
                 time=datetime(2026, 12, 4, 12, 0, tzinfo=UTC), metrics={"b": 2.0, "a": 1.0}),
         Episode(episode=2, total_reward=-1.0, steps=0),
         Episode(episode=3, total_reward=2.0, steps=5, metrics={"b": 7.0})]
    back = [rows.episode(r) for r in as_rows(e)]
    assert back == e
    assert [rows.episode(r) for r in layout.bucket_rows(layout.bucket_doc(0, as_rows(e)))] == e
    assert rows.column(as_rows(e), "a") == [1.0, None, None] and rows.custom_names(as_rows(e)) == {"a", "b"}
    made, stored = rows.of(e[0]), layout.bucket_rows(layout.bucket_doc(0, as_rows(e)))
    for _ in range(3):  # the collector untracks a tuple once its items are: one level of nesting per pass
        gc.collect()
    assert not gc.is_tracked(made) and not any(map(gc.is_tracked, stored))


def test_stats_pages_round_trip_exactly():
    eps = [Episode(episode=i, total_reward=float(i % 7) - 2.5, steps=i % 5, win=i % 3 == 0, timestep=i,
                   win_rate=(i % 10) / 10 if i > 50 else None) for i in range(1, 2501)]
    subs = {b: layout.sub_stats(as_rows(eps[b * 1000:(b + 1) * 1000])) for b in range(3)}
    back = layout.page_subs(layout.page_doc(0, subs))
    def docs(pages):
        return {b: [s.to_doc() for s in v] for b, v in pages.items()}
    assert docs(back) == docs(subs)


def same(a: list[dict], b: list[dict]) -> bool:
    return len(a) == len(b) and all(x == pytest.approx(y) for x, y in zip(a, b, strict=True))


def test_column_wise_downsampling_matches_the_per_episode_definition():
    """The fast paths (stored arrays, statistics pages) give the same points as grouping episodes."""
    e = [Episode(episode=i, total_reward=float((i * 37) % 101), steps=i % 13, win=i % 3 == 0 if i > 500 else None,
                 timestep=i, win_rate=(i % 10) / 10 if i > 700 else None,
                 metrics={"x": float(i)} if i > 1500 else {}) for i in range(1, 3001)]
    buckets = [layout.bucket_doc(b, as_rows(e[b * 1000:(b + 1) * 1000])) for b in range(3)]
    expected, expected_wr = series.downsample_episodes(e, 700)
    got, got_wr = series.downsample_raw([layout.bucket_raw(d, 1, 3000) for d in buckets], 700)
    assert same(got, expected) and same(got_wr, expected_wr)
    page = layout.page_doc(0, {b: layout.sub_stats(as_rows(e[b * 1000:(b + 1) * 1000])) for b in range(3)})
    by_stats, by_stats_wr = series.group_stats(layout.sub_stats(as_rows(e)), 7)
    by_pages, by_pages_wr = series.group_pages([layout.page_raw(page)], 7, 1, 3000)
    assert same(by_pages, by_stats) and same(by_pages_wr, by_stats_wr)
    zoom, _ = series.group_pages([layout.page_raw(page)], 5, 1001, 2000)
    assert [p["episode"] for p in zoom] == [1200, 1400, 1600, 1800, 2000]


def test_every_typed_rollout_metric_is_declared_once():
    """The Rollout model's metric fields and ROLLOUT_METRICS agree (a new field needs its declaration)."""
    from trainyard_runstore.metrics import ROLLOUT_METRICS, ROLLOUT_RESERVED
    from trainyard_runstore.schema import Rollout

    fields = set(Rollout.model_fields) - ROLLOUT_RESERVED
    assert fields == {m.name for m in ROLLOUT_METRICS}
    assert all(m.builtin and m.title for m in ROLLOUT_METRICS)
