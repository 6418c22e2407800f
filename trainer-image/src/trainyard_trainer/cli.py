"""``trainyard-train``: argument parsing for training, ``replay FILE``, ``evaluate`` and ``ladder``.

Turns flags into ``TrainerSettings`` (``settings``); a bad configuration exits 2 before
anything is written anywhere. Training itself is ``train.run``; ``evaluate --run-id ID``
plays evaluation games with a checkpoint of a stored run (``evaluation``) and stores them.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from trainyard_trainer import ladder_cmd
from trainyard_trainer.settings import ConfigError, load_settings

log = logging.getLogger("trainyard_trainer")

EXIT_OK, EXIT_FAILED, EXIT_BAD_CONFIG = 0, 1, 2


def _train_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mode", choices=["smoke", "full"], help="smoke: a short run to check the setup")
    parser.add_argument("--total-timesteps", type=int, help="environment steps to train for")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--agent-id")
    parser.add_argument("--run-id", help="default: a new UUID; reuse one to resume a run")
    parser.add_argument("--config", type=Path, help="YAML/JSON file of settings (flags win over it)")
    parser.add_argument("--checkpoint-dir", type=Path, help="checkpoints go to <dir>/<run_id>/")
    parser.add_argument("--checkpoint-every", type=int, help="timesteps between checkpoints")
    parser.add_argument("--metrics-port", type=int, help="serve Prometheus metrics on this port (0: off)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--n-envs", type=int, help="parallel environments (default 1 smoke, 8 full)")
    parser.add_argument("--vec-env", choices=["subprocess", "dummy"],
                        help="subprocess: a worker per environment; dummy: all in this process (the full default)")
    parser.add_argument("--env-id", help="gymnasium id, default trainyard/BlokusDuo-v0")
    parser.add_argument("--opponent", help="random | greedy | self-play | curriculum (default random smoke, "
                        "curriculum full)")
    parser.add_argument("--eval-games", type=int, help="evaluation games per opponent after completion (0: none)")
    parser.add_argument("--eval-every", type=int, help="also evaluate the current policy every N timesteps (0: off)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trainyard-train", allow_abbrev=False,  # else "evaluate --checkpoint" clashes with --checkpoint-dir
        description="Train MaskablePPO on Blokus and record the run in MongoDB (MONGODB_URI, MONGODB_DB_NAME).",
    )
    _train_parser(parser)
    sub = parser.add_subparsers(dest="command")
    replay = sub.add_parser("replay", help="write a spill file (episodes.spill.jsonl) into MongoDB")
    replay.add_argument("file", type=Path)
    sweep = sub.add_parser("sweep", help="write orphan write-ahead logs of dead runs and mark those runs Lost")
    sweep.add_argument("--checkpoint-dir", type=Path, dest="sweep_dir", default=Path("checkpoints"))
    sweep.add_argument("--timeout", type=float, default=120.0, help="seconds without a heartbeat before a run is lost")
    evaluate = sub.add_parser("evaluate", help="play evaluation games with a checkpoint of a run and store them")
    evaluate.add_argument("--run-id", required=True, dest="eval_run_id")
    evaluate.add_argument("--checkpoint", type=Path, help="default: the run's latest checkpoint")
    evaluate.add_argument("--checkpoint-dir", type=Path, dest="eval_checkpoint_dir",
                          help="where <run_id>/ lives; default: the folder the run recorded")
    evaluate.add_argument("--games", type=int, help="games per opponent (default: the run's setting, else 100)")
    evaluate.add_argument("--opponents", help="comma-separated: random,greedy (default: the run's setting)")
    evaluate.add_argument("--seed", type=int, dest="eval_seed", help="game i uses seed + i")
    evaluate.add_argument("--device", choices=["auto", "cpu", "cuda"], dest="eval_device", default="cpu")
    ladder_cmd.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    if args.command == "replay":
        return _replay(args.file)
    if args.command == "sweep":
        return _sweep(args.sweep_dir, args.timeout)
    if args.command == "evaluate":
        from trainyard_trainer.evaluate_cmd import evaluate_run

        return evaluate_run(args)
    if args.command == "ladder":
        return ladder_cmd.run_ladder(args)
    cli = {k: v for k, v in vars(args).items()
           if k not in {"command", "config", "file", "eval_games", "eval_every", "sweep_dir", "timeout"}}
    cli["evaluation"] = {"games": args.eval_games, "every_timesteps": args.eval_every}
    try:
        settings = load_settings(cli, args.config)
        _check_env(settings.env_id)
    except ConfigError as err:
        print(f"trainyard-train: {err}", file=sys.stderr)
        return EXIT_BAD_CONFIG

    from trainyard_trainer import train  # torch is imported only once the config is known to be good

    return train.run(settings)


def _check_env(env_id: str) -> None:
    import gymnasium as gym

    import trainyard_trainer.envs  # noqa: F401 - registers trainyard/*

    try:
        if ":" in env_id:  # "package.module:EnvId-v0": gymnasium imports the module, which registers the id
            import importlib

            module, name = env_id.split(":", 1)
            importlib.import_module(module)
            gym.spec(name)
        else:
            gym.spec(env_id)
    except Exception as exc:  # noqa: BLE001 - gymnasium raises several kinds for unknown ids
        known = ", ".join(k for k in gym.registry if k.startswith("trainyard/"))
        raise ConfigError(f"env_id: unknown environment {env_id!r} ({exc}); known: {known}") from None


def _replay(path: Path) -> int:
    from trainyard_client import spill
    from trainyard_runstore.sync_store import RunStore

    if not path.exists():
        print(f"trainyard-train replay: {path} does not exist", file=sys.stderr)
        return EXIT_BAD_CONFIG
    store = RunStore()
    try:
        run_id, n = spill.replay_file(store, path)
    finally:
        store.close()
    done = path.with_name(path.name + ".replayed")
    path.rename(done)
    log.info("replayed %d episodes of run %s from %s (kept as %s)", n, run_id, path, done.name)
    return EXIT_OK


def _sweep(directory: Path, timeout: float) -> int:
    from trainyard_runstore.sync_store import RunStore

    from trainyard_trainer.sweep import sweep

    store = RunStore()
    try:
        report = sweep(store, directory, timeout=timeout)
    finally:
        store.close()
    log.info("sweep of %s: %d runs written (%d episodes), %d lost, %d alive and left alone", directory,
             len(report.drained), sum(report.drained.values()), len(report.lost), len(report.skipped_alive))
    return EXIT_OK
