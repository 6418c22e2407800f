"""``trainyard-store migrate`` moves a layout-1 database (shared collections) into per-run collections."""

from __future__ import annotations

import pytest
from bson import Binary
from trainyard_runstore import layout, migrate, packing
from trainyard_runstore.schema import Episode, RunRecord, RunStats

pytestmark = pytest.mark.mongo


def legacy_run(store, run_id: str, n: int) -> None:
    """Write one run exactly as layout 1 did (full run document in the shared run collection)."""
    eps = [Episode(episode=i, total_reward=float(i), steps=3, win=i % 2 == 0, win_rate=0.5) for i in range(1, n + 1)]
    rec = RunRecord(run_id=run_id, agent_id="old", config={"env_id": "e"},
                    summary=RunStats(episodes=n, last_episode=n), last_episode=eps[-1],
                    last_rollout={"rollout": 2, "timestep": 20})
    store.db[layout.RUNS].insert_one({**rec.model_dump(mode="python"), **layout.run_key(run_id), "status": "completed"})
    for b in range(layout.bucket_of(n) + 1):
        chunk = eps[b * 1000:(b + 1) * 1000]
        store.db[layout.OLD_BUCKETS].insert_one({"_id": f"{run_id}/b{b:07d}", "run_id": run_id, "bucket": b,
                                                 "packed": Binary(packing.pack(chunk, packing.EPISODE_COLUMNS))})
    rollouts = [{"rollout": 1, "timestep": 10}, {"rollout": 2, "timestep": 20}]
    store.db[layout.OLD_ROLLOUTS].insert_one({"_id": f"{run_id}/r00000", "run_id": run_id, "page": 0,
                                              "rollouts": rollouts})
    store.db[layout.OLD_GAMES].insert_one({"_id": f"{run_id}/g00001", "run_id": run_id, "n": 1, "evaluation_id": "x",
                                           "opponent": "random", "variant": "duo", "board_size": 14, "agent_seat": 0,
                                           "seed": 1, "moves": [1], "seats": [0], "cells": [0], "cell_counts": [1],
                                           "scores": [1, 0]})


def test_migrate_moves_every_run_and_is_idempotent(store):
    legacy_run(store, "old-1", 1500)
    legacy_run(store, "old-2", 10)
    store.create_run(RunRecord(run_id="new", agent_id="new"))  # already layout 2: left alone
    assert migrate.pending(store) == 2
    assert migrate.migrate(store) == 2
    assert migrate.pending(store) == 0
    assert [e.episode for e in store.episodes("old-1")] == list(range(1, 1501))
    run = store.get_run("old-1")
    assert run.summary.episodes == 1500 and run.summary.wins == 750 and run.config.model_dump() == {"env_id": "e"}
    assert [r.rollout for r in store.rollouts("old-1")] == [1, 2]
    assert store.game("old-1", 1).scores == [1, 0]
    index = store.db[layout.RUNS].find_one(layout.run_key("old-1"))
    assert index["layout"] == layout.LAYOUT and "config" not in index and index["env_id"] == "e"
    names = store.db.list_collection_names()
    assert layout.OLD_BUCKETS not in names and layout.OLD_GAMES not in names
    assert migrate.migrate(store) == 0
