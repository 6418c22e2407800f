"""``/api/ladders``: stored Elo ladders (``trainyard-train ladder``), newest first, and one by id.

Each ladder carries its players (rating, 95% interval, game totals) and the head-to-head pairings;
the documents are ``trainyard_runstore.ladder.Ladder`` as the trainer stored them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path
from trainyard_runstore.ladder import Ladder

from trainyard_api.deps import StoreDep
from trainyard_api.routers.training_runs import ERRORS

router = APIRouter(prefix="/api/ladders", tags=["ladders"])


@router.get("", response_model=list[Ladder], responses={503: ERRORS[503]},
            summary="Every Elo ladder, newest first (ratings anchored: random = 1000)")
async def list_ladders(store: StoreDep) -> list[Ladder]:
    return await store.ladders()


@router.get("/{ladder_id}", response_model=Ladder, responses=ERRORS, summary="One Elo ladder")
async def get_ladder(ladder_id: Annotated[str, Path(min_length=1, max_length=64)], store: StoreDep) -> Ladder:
    ladder = await store.ladder(ladder_id)
    if ladder is None:
        raise HTTPException(404, f"no ladder with id {ladder_id!r}")
    return ladder
