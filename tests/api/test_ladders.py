"""``/api/ladders`` over real HTTP and FerretDB: ladders stored through the run store, read back."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from trainyard_runstore.ladder import Ladder, LadderPlayer, Pairing, rate

pytestmark = pytest.mark.mongo


def ladder(ladder_id: str, hour: int) -> Ladder:
    players = [LadderPlayer(name="run-a@2048", kind="checkpoint", run_id="run-a", timestep=2048),
               LadderPlayer(name="random", kind="builtin"), LadderPlayer(name="greedy", kind="builtin")]
    pairings = [Pairing(a=0, b=1, games=10, wins=8, losses=2), Pairing(a=0, b=2, games=10, wins=3, draws=1, losses=6),
                Pairing(a=1, b=2, games=10, wins=0, losses=10)]
    by_name = {p.name: p for p in rate(players, pairings)}
    return Ladder(id=ladder_id, name=f"ladder {hour}", env_id="trainyard/BlokusDuo-v0", variant="duo",
                  games_per_pair=10, time=datetime(2026, 1, 1, hour, tzinfo=UTC),
                  players=[by_name[p.name] for p in players], pairings=pairings)


def test_ladders_are_listed_newest_first_and_read_by_id(api_server, store):
    store.put_ladder(ladder("older", 1))
    store.put_ladder(ladder("newer", 2))
    body = httpx.get(f"{api_server.url}/api/ladders", timeout=10).json()
    assert [x["id"] for x in body] == ["newer", "older"]
    one = httpx.get(f"{api_server.url}/api/ladders/older", timeout=10).json()
    players = {p["name"]: p for p in one["players"]}
    assert players["random"]["rating"] == 1000.0
    assert players["greedy"]["rating"] > players["run-a@2048"]["rating"] > 1000.0
    low, high = players["greedy"]["rating_ci"]["low"], players["greedy"]["rating_ci"]["high"]
    assert low < players["greedy"]["rating"] < high
    assert one["pairings"][1] == {"a": 0, "b": 2, "games": 10, "wins": 3, "draws": 1, "losses": 6}


def test_storing_a_ladder_again_replaces_it(api_server, store):
    store.put_ladder(ladder("same", 1))
    store.put_ladder(ladder("same", 1).model_copy(update={"name": "renamed"}))
    body = httpx.get(f"{api_server.url}/api/ladders", timeout=10).json()
    assert [x["name"] for x in body] == ["renamed"]


def test_an_unknown_ladder_is_a_404_naming_it(api_server):
    r = httpx.get(f"{api_server.url}/api/ladders/nope", timeout=10)
    assert r.status_code == 404
    assert "nope" in r.json()["detail"]
