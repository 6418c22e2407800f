"""``/api/training-runs/{run_id}/rollouts`` and ``/games/{n}``: rollout diagnostics and evaluation games.

Rollouts are read page by page (``_id`` point reads); a game comes with its boards rebuilt from the
stored cells (``trainyard_runstore.games``), so the API needs no Blokus engine.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query
from trainyard_runstore import games

from trainyard_api.deps import StoreDep
from trainyard_api.models import GameDetail, RolloutList, run_rollout_metric_specs
from trainyard_api.queries import MAX_NUMBER
from trainyard_api.routers.training_runs import ERRORS, load_run

router = APIRouter(prefix="/api/training-runs", tags=["evaluation"])

MAX_ROLLOUTS = 10_000


@router.get("/{run_id}/rollouts", response_model=RolloutList, responses=ERRORS,
            summary="Per-rollout diagnostics (legal-action share, entropy, invalid actions, PPO losses, "
                    "custom metrics) with their declarations")
async def list_rollouts(
    run_id: str,
    store: StoreDep,
    from_rollout: Annotated[int, Query(ge=1, le=MAX_NUMBER, description="first rollout")] = 1,
    to_rollout: Annotated[int | None, Query(ge=1, le=MAX_NUMBER,
                                            description="last rollout (default: the newest)")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_ROLLOUTS, description=f"at most this many, 1..{MAX_ROLLOUTS}")] = 2000,
) -> RolloutList:
    run = await load_run(store, run_id)
    total = run.last_rollout.rollout if run.last_rollout is not None else 0
    last = min(to_rollout or total, total, from_rollout + limit - 1)
    rollouts = await store.rollouts(run_id, from_rollout, last) if last >= from_rollout else []
    return RolloutList(run_id=run_id, total=total, metric_specs=run_rollout_metric_specs(run), rollouts=rollouts)


@router.get("/{run_id}/games/{n}", response_model=GameDetail, responses=ERRORS,
            summary="One evaluation game with the board after each move")
async def get_game(run_id: str, n: Annotated[int, Path(ge=1, le=MAX_NUMBER)], store: StoreDep) -> GameDetail:
    game = await store.game(run_id, n)
    if game is None:
        await load_run(store, run_id)  # 404 naming the run when the run itself is unknown
        raise HTTPException(404, f"run {run_id!r} has no evaluation game {n}")
    return GameDetail(**game.model_dump(), run_id=run_id, boards=games.boards(game))
