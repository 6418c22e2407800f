"""``/api/benchmarks``: agents ranked by evaluation win rate per opponent, seeds grouped.

One find on the run index, then each completed run's home (``AsyncRunStore.benchmark_runs``);
grouping, intervals and ranking are
``trainyard_runstore.benchmarks`` (in Python: FerretDB lacks the accumulators).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from trainyard_runstore import benchmarks

from trainyard_api.deps import StoreDep
from trainyard_api.routers.training_runs import ERRORS

router = APIRouter(prefix="/api/benchmarks", tags=["benchmarks"])


@router.get("", response_model=benchmarks.Benchmark, responses={503: ERRORS[503]},
            summary="Rank agents by evaluation win rate against each opponent")
async def get_benchmarks(
    store: StoreDep,
    env: Annotated[str, Query(min_length=1, max_length=200, description="gymnasium id, e.g. trainyard/BlokusDuo-v0")]
    = "trainyard/BlokusDuo-v0",
) -> benchmarks.Benchmark:
    return benchmarks.rank(env, await store.benchmark_runs(env))
