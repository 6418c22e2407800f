"""``trainyard-train evaluate --run-id ID``: evaluate a checkpoint of a stored run and record the result.

Reads the run's configuration (environment, evaluation settings) and checkpoint folder from the run
store, plays the games (``evaluation``) and writes them with ``RunStore.add_evaluation``: the
result joins the run's ``evaluations`` (newest last) and becomes its ``evaluation``; game numbers
continue after the run's earlier evaluation games. Unlike training there is nothing to keep going
through a database outage, so an unreachable database exits 1; a bad request exits 2.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from pymongo.errors import PyMongoError
from trainyard_runstore.schema import RunRecord
from trainyard_runstore.sync_store import RunStore

from trainyard_trainer import checkpoints
from trainyard_trainer.settings import ConfigError, evaluation_settings

log = logging.getLogger("trainyard_trainer")

EXIT_OK, EXIT_FAILED, EXIT_BAD_CONFIG = 0, 1, 2
DEFAULT_GAMES = 100
DEFAULT_ENV = "trainyard/BlokusDuo-v0"


def resolve_checkpoint(run: RunRecord, explicit: Path | None,
                       checkpoint_dir: Path | None) -> tuple[Path, int | None, int | None]:
    """(path, timestep, episode) of the checkpoint to evaluate; timestep None: read it from the model."""
    run_id = run.run_id
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"--checkpoint {explicit}: no such file")
        return explicit, None, None
    recorded = run.metadata.checkpoint_dir
    folder = checkpoints.run_dir(checkpoint_dir, run_id) if checkpoint_dir else Path(recorded) if recorded else None
    saved = checkpoints.latest(folder) if folder is not None else None
    if saved is not None:
        return saved.path, saved.timestep, saved.episode
    for entry in reversed(run.checkpoint_paths):  # newest recorded checkpoint that still exists
        path = Path(entry.path)
        if path.is_file():
            return path, entry.timestep, entry.episode
    raise ConfigError(f"run {run_id!r}: no checkpoint found (looked in {folder or 'no recorded folder'} and the "
                      "run's recorded checkpoints); pass --checkpoint or --checkpoint-dir")


def _settings(run: RunRecord, args: argparse.Namespace):
    base = run.config.evaluation.model_dump() if run.config.evaluation is not None else {}
    if not base.get("games"):
        base["games"] = DEFAULT_GAMES  # the run may have trained with evaluation off
    flags = {"games": args.games, "opponents": args.opponents, "seed": args.eval_seed}
    settings = evaluation_settings({**base, **{k: v for k, v in flags.items() if v is not None}})
    if not settings.games:
        raise ConfigError("--games: must be at least 1")
    return settings


def evaluate_run(args: argparse.Namespace) -> int:
    from trainyard_trainer import evaluation
    from trainyard_trainer.train import resolve_device

    run_id = args.eval_run_id
    store = RunStore()
    try:
        run = store.get_run(run_id)
        if run is None:
            print(f"trainyard-train evaluate: no training run with run_id {run_id!r}", file=sys.stderr)
            return EXIT_BAD_CONFIG
        try:
            settings = _settings(run, args)
            path, timestep, episode = resolve_checkpoint(run, args.checkpoint, args.eval_checkpoint_dir)
        except ConfigError as err:
            print(f"trainyard-train evaluate: {err}", file=sys.stderr)
            return EXIT_BAD_CONFIG
        env_id = run.config.env_id or DEFAULT_ENV
        log.info("evaluating run %s: %s", run_id, path)
        result = evaluation.evaluate_checkpoint(path, env_id=env_id, settings=settings, timestep=timestep,
                                                episode=episode, trigger="cli", device=resolve_device(args.eval_device))
        stored = store.add_evaluation(run_id, result)
        log.info("evaluation %s of run %s stored: games %d-%d; %s", stored.id, run_id, stored.first_game,
                 stored.last_game, ", ".join(f"{r.opponent} {r.win_rate:.3f}" for r in stored.results))
        return EXIT_OK
    except PyMongoError as exc:
        log.error("MongoDB unreachable: %s", exc)
        return EXIT_FAILED
    finally:
        store.close()
