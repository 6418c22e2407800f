"""``trainyard-train ladder``: a fixed-seed round robin between checkpoints and built-in opponents, Elo-rated.

Players: the latest checkpoint of each ``--run-id`` (or ``--checkpoint`` files) and the built-in
``--opponents`` (the anchor, ``random`` by default, among them). Every pair plays ``--games`` games in the
turn-based env, seats alternating, game i with seed ``seed + i``, so a ladder is reproducible. Ratings
(``trainyard_runstore.ladder.rate``) are anchored (``random`` = 1000) and stored with their intervals
through ``RunStore.put_ladder``; the web UI's /ladder page shows them.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np
from pymongo.errors import PyMongoError
from trainyard_runstore.ladder import DEFAULT_ANCHOR, Ladder, LadderPlayer, Pairing, rate
from trainyard_runstore.sync_store import RunStore

from trainyard_trainer.settings import ConfigError

log = logging.getLogger("trainyard_trainer")

EXIT_OK, EXIT_FAILED, EXIT_BAD_CONFIG = 0, 1, 2
BUILTINS = ("random", "greedy")
# (env, rng) -> placement id for the seat to move
Act = Callable[[object, np.random.Generator], int]


def add_parser(sub) -> None:
    p = sub.add_parser("ladder", help="Elo ladder: round robin of checkpoints and built-in opponents")
    p.add_argument("--run-id", action="append", default=[], dest="ladder_runs",
                   help="a run whose latest checkpoint plays (repeat for more)")
    p.add_argument("--checkpoint", action="append", default=[], type=Path, dest="ladder_checkpoints",
                   help="a checkpoint file that plays (repeat for more)")
    p.add_argument("--opponents", default="random,greedy", dest="ladder_opponents",
                   help="built-in players, comma-separated (must include the anchor)")
    p.add_argument("--games", type=int, default=20, dest="ladder_games", help="games per pair (seats alternate)")
    p.add_argument("--seed", type=int, default=0, dest="ladder_seed", help="game i of each pair uses seed + i")
    p.add_argument("--anchor", default=DEFAULT_ANCHOR, dest="ladder_anchor", help="player held at 1000")
    p.add_argument("--name", dest="ladder_name", help="shown in the UI (default: the players)")
    p.add_argument("--env-id", default="trainyard/BlokusDuo-v0", dest="ladder_env")


def _builtin(name: str) -> Act:
    from trainyard_trainer.envs import make_opponent

    opponent = make_opponent(name)
    return lambda env, rng: int(opponent.select(env.game, env.action_masks(), rng))


def _policy(path: Path) -> Act:
    from trainyard_trainer import evaluation

    predict = evaluation.model_predict(evaluation.load_model(path))
    return lambda env, rng: predict(env.game.observe(env.game.current_player), env.action_masks())


def play(env, acts: tuple[Act, Act], seed: int) -> list[int]:
    """One game, ``acts[k]`` playing seat k; the final scores."""
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    done, info = False, {}
    while not done:
        _, _, done, _, info = env.step(acts[env.game.current_player](env, rng))
    return [int(s) for s in info["scores"]]


def _players(store: RunStore, args) -> tuple[list[LadderPlayer], list[Act]]:
    from trainyard_trainer.evaluate_cmd import resolve_checkpoint

    players, acts = [], []
    for run_id in args.ladder_runs:
        run = store.get_run(run_id)
        if run is None:
            raise ConfigError(f"--run-id {run_id}: no such training run")
        path, timestep, _ = resolve_checkpoint(run, None, None)
        players.append(LadderPlayer(name=f"{run_id}@{timestep}", kind="checkpoint", run_id=run_id,
                                    checkpoint=str(path), timestep=timestep))
        acts.append(_policy(path))
    for path in args.ladder_checkpoints:
        if not path.is_file():
            raise ConfigError(f"--checkpoint {path}: no such file")
        players.append(LadderPlayer(name=path.name, kind="checkpoint", checkpoint=str(path)))
        acts.append(_policy(path))
    for name in [o.strip() for o in args.ladder_opponents.split(",") if o.strip()]:
        if name not in BUILTINS:
            raise ConfigError(f"--opponents: unknown built-in {name!r} (known: {', '.join(BUILTINS)})")
        players.append(LadderPlayer(name=name, kind="builtin"))
        acts.append(_builtin(name))
    if args.ladder_anchor not in [p.name for p in players]:
        raise ConfigError(f"--anchor {args.ladder_anchor}: not among the players; add it to --opponents")
    if len(players) < 2:
        raise ConfigError("a ladder needs at least two players")
    if args.ladder_games < 1:
        raise ConfigError("--games: must be at least 1")
    return players, acts


def round_robin(env, acts: list[Act], games: int, seed: int) -> list[Pairing]:
    from trainyard_trainer.envs.blokus.env import Outcome

    pairings = []
    for a, b in itertools.combinations(range(len(acts)), 2):
        wins = draws = 0
        for i in range(games):
            seat_a = i % 2
            seats = (acts[a], acts[b]) if seat_a == 0 else (acts[b], acts[a])
            margin = Outcome.of(play(env, seats, seed + i), seat_a).margin
            wins += margin > 0
            draws += margin == 0
        pairings.append(Pairing(a=a, b=b, games=games, wins=wins, draws=draws, losses=games - wins - draws))
        log.info("ladder: pair %d-%d: %d wins, %d draws, %d losses", a, b, wins, draws, games - wins - draws)
    return pairings


def run_ladder(args: argparse.Namespace) -> int:
    from trainyard_trainer.envs import BlokusTurnEnv
    from trainyard_trainer.evaluation import variant_of

    store = RunStore()
    try:
        try:
            players, acts = _players(store, args)
            variant = variant_of(args.ladder_env)
        except (ConfigError, ValueError) as err:
            print(f"trainyard-train ladder: {err}", file=sys.stderr)
            return EXIT_BAD_CONFIG
        t0 = time.monotonic()
        pairings = round_robin(BlokusTurnEnv(variant), acts, args.ladder_games, args.ladder_seed)
        rated = rate(players, pairings, anchor=args.ladder_anchor)
        # Pairings index the players in play order; keep that order and let the UI sort.
        by_name = {p.name: p for p in rated}
        ladder = Ladder(id=uuid.uuid4().hex, name=args.ladder_name or " vs ".join(p.name for p in players),
                        env_id=args.ladder_env, variant=variant, anchor=args.ladder_anchor,
                        games_per_pair=args.ladder_games, seed=args.ladder_seed,
                        duration_seconds=time.monotonic() - t0, players=[by_name[p.name] for p in players],
                        pairings=pairings)
        store.put_ladder(ladder)
        for p in rated:
            log.info("ladder %s: %-40s %7.1f [%7.1f, %7.1f]  %d games", ladder.id, p.name, p.rating,
                     p.rating_ci.low, p.rating_ci.high, p.games)
        return EXIT_OK
    except PyMongoError as exc:
        log.error("MongoDB unreachable: %s", exc)
        return EXIT_FAILED
    finally:
        store.close()
