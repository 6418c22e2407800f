"""``trainyard-store migrate``: convert a database from layout 1 (shared collections) to layout 2.

Layout 1 kept every run's buckets, statistics, rollouts and games in four shared collections, which
FerretDB scans whole for every operation (see ``layout``). This command moves each run into its own
collections and writes its run-index entry last, so an interrupted migration is simply run again
(a run is re-copied from scratch until its index entry says ``layout: 2``). The old collections are
dropped once every run is moved. Usage: ``trainyard-store migrate`` (MONGODB_URI, MONGODB_DB_NAME).
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from trainyard_runstore import layout, packing
from trainyard_runstore.schema import Episode
from trainyard_runstore.settings import MongoSettings
from trainyard_runstore.sync_store import RunStore, RunWriter

log = logging.getLogger(__name__)

LEGACY = {"layout": {"$exists": False}}


def pending(store: RunStore) -> int:
    """Runs still in layout 1."""
    return store.db[layout.RUNS].count_documents(LEGACY)


def _old_episodes(store: RunStore, run_id: str, last: int) -> list[Episode]:
    out: list[Episode] = []
    for bucket in layout.buckets_between(1, last):
        doc = store.db[layout.OLD_BUCKETS].find_one({"_id": f"{run_id}/b{bucket:07d}"})
        if doc:
            out.extend(Episode.model_validate({k: v for k, v in row.items() if v is not None})
                       for row in packing.unpack(doc["packed"], packing.EPISODE_COLUMNS))
    return out


def migrate_run(store: RunStore, old: dict[str, Any]) -> int:
    """Move one run; returns its episode count."""
    run_id = old["run_id"]
    for name in layout.run_collections(run_id):  # a half-moved run from an interrupted migration
        store.db.drop_collection(name)
    # summary and last_episode are recomputed from the episodes by the import below
    home_doc = {k: v for k, v in old.items() if k not in ("_id", "summary", "last_episode")}
    home_doc.update({"_id": layout.RUN_DOC_ID, "version": 1})
    store.home(run_id).insert_one(home_doc)
    last = int((old.get("summary") or {}).get("last_episode") or 0)
    episodes = _old_episodes(store, run_id, last) if last else []
    if episodes:
        RunWriter(store, run_id).import_episodes(episodes)  # not store.writer(): no state from a failed try
    last_rollout = (old.get("last_rollout") or {}).get("rollout", 0)
    for page in range(layout.rollout_page_of(last_rollout) + 1 if last_rollout else 0):
        doc = store.db[layout.OLD_ROLLOUTS].find_one({"_id": f"{run_id}/r{page:05d}"})
        if doc:
            store.home(run_id).insert_one({**doc, **layout.rollout_page_key(page)})
    games = [{**g, **layout.game_key(g["n"])} for g in store.db[layout.OLD_GAMES].find({"run_id": run_id})]
    if games:
        store.db[layout.games_collection(run_id)].insert_many(games)
    store.sync_index(run_id)  # last: from now on the run counts as moved
    return len(episodes)


def migrate(store: RunStore) -> int:
    """Move every layout-1 run; returns how many were moved."""
    store.ensure_indexes()
    moved = 0
    for old in list(store.db[layout.RUNS].find(LEGACY)):
        n = migrate_run(store, old)
        moved += 1
        log.info("moved run %s (%d episodes)", old["run_id"], n)
    if pending(store) == 0:
        for name in (layout.OLD_BUCKETS, layout.OLD_STATS, layout.OLD_ROLLOUTS, layout.OLD_GAMES):
            store.db.drop_collection(name)
    return moved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="trainyard-store", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="move layout-1 runs into per-run collections (idempotent)")
    sub.add_parser("status", help="say how many runs still need migrating")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    store = RunStore(MongoSettings())
    try:
        if args.command == "status":
            log.info("%d runs in layout 1 (run 'trainyard-store migrate')", pending(store))
            return 0
        log.info("moved %d runs to layout %d", migrate(store), layout.LAYOUT)
        return 0
    finally:
        store.close()


if __name__ == "__main__":
    sys.exit(main())
