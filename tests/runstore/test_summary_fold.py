"""A run's summary after many incremental writes (and a replay into an older bucket) is the summary of
the same episodes written at once: the writer's cached fold of the older buckets never goes stale."""

from __future__ import annotations

import pytest
from trainyard_runstore import layout
from trainyard_runstore.schema import Episode, RunRecord
from trainyard_runstore.sync_store import RunStore

pytestmark = pytest.mark.mongo


def _eps(first: int, last: int, bonus: float = 0.0) -> list[Episode]:
    return [Episode(episode=n, total_reward=float(n % 11) - 5 + bonus, steps=n % 7, win=n % 3 == 0,
                    timestep=n * 10, win_rate=(n % 4) / 4) for n in range(first, last + 1)]


def test_incremental_summary_equals_the_summary_of_one_write(mongo_settings):
    store = RunStore(mongo_settings)
    store.create_run(RunRecord(run_id="steps", agent_id="a"))
    store.create_run(RunRecord(run_id="once", agent_id="a"))
    writer = store.writer("steps")
    for first in range(1, 3501, 97):  # across four buckets, the newest changing each time
        writer.write_episodes(_eps(first, min(first + 96, 3500)))
    writer.write_episodes(_eps(1, 50, bonus=100.0))  # a replay into the first bucket changes the totals
    writer.write_episodes(_eps(3501, 3600))
    store.writer("once").write_episodes(_eps(1, 50, bonus=100.0) + _eps(51, 3600))
    steps, once = (store.home(r).find_one(layout.HOME_KEY)["summary"] for r in ("steps", "once"))
    assert steps == once
    assert steps["episodes"] == 3600 and steps["max_reward"] == 105.0
    store.close()
