"""Periodic evaluation during training: what it costs the training, and what one evaluation costs.

Two short smoke runs of ``trainyard-train`` (Blokus Duo against ``random``, seed 0, one torch thread,
2048 timesteps) in fresh processes against a FerretDB started here: one without periodic evaluation,
one evaluating every 512 timesteps (10 games per opponent against random and greedy, played on a
background thread). The table gives the learn throughput the trainer records (``metadata.throughput``),
the periodic evaluations stored and their mean wall time, and, measured in this process, the time
the training thread spends copying the policy for one evaluation (the only part on that thread).
A warm-up run first fills numba's and torch's caches. Prints the table (``bench/table.py``).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.table import print_table  # noqa: E402

TIMESTEPS = 2048
EVERY = 512
GAMES = 10


def _train(db, tmp: Path, run_id: str, every: int) -> dict:
    from trainyard_runstore.settings import MongoSettings
    from trainyard_runstore.sync_store import RunStore

    from tests.support.processes import trainer

    config = tmp / "config.json"
    config.write_text(f'{{"torch_threads": 1, "device": "cpu", "evaluation": {{"periodic_games": {GAMES}}}}}')
    args = ["--mode", "smoke", "--run-id", run_id, "--total-timesteps", str(TIMESTEPS), "--seed", "0",
            "--checkpoint-dir", str(tmp / "ck"), "--eval-games", "0", "--eval-every", str(every), "--config",
            str(config)]
    log = tmp / f"{run_id}.log"
    proc = trainer(args, db.uri, "bench", log)
    if proc.wait(900) != 0:
        raise RuntimeError(f"{run_id} failed:\n{log.read_text()[-2000:]}")
    store = RunStore(MongoSettings(uri=db.uri, db_name="bench"))
    try:
        return store.get_run(run_id)
    finally:
        store.close()


def policy_copy_ms(repeats: int = 20) -> float:
    import gymnasium as gym
    import torch
    import trainyard_trainer.envs  # noqa: F401 - registers trainyard/*
    from sb3_contrib import MaskablePPO
    from trainyard_trainer.policy import make_policy

    torch.set_num_threads(1)
    env = gym.make("trainyard/BlokusDuo-v0")
    policy, kwargs = make_policy(env.observation_space)
    model = MaskablePPO(policy, env, policy_kwargs=kwargs, n_steps=256, device="cpu")
    from trainyard_trainer.periodic_eval import snapshot

    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        snapshot(model.policy)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> int:
    from tests.support.ferretdb import FerretDB

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        with FerretDB(tmp / "db") as db:
            _train(db, tmp, "warmup", 0)
            rows = []
            for name, every in (("off", 0), (f"every {EVERY}", EVERY)):
                run = _train(db, tmp, f"bench-{every}", every)
                thr = run.metadata.throughput
                assert thr is not None, "a completed run records its throughput"
                periodic = [e for e in run.evaluations if e.trigger == "periodic"]
                durations = [e.duration_seconds for e in periodic if e.duration_seconds]
                rows.append([name, f"{thr.learn_seconds:.1f}", f"{thr.steps_per_second:.1f}",
                             f"{thr.cpu_seconds:.1f}", str(len(periodic)),
                             f"{statistics.mean(durations):.1f}" if durations else "—"])
    base = float(rows[0][2])
    for row in rows:
        row.append(f"{(1 - float(row[2]) / base) * 100:+.1f}%" if base else "—")
    header = ["periodic evaluation", "learn s", "steps/s", "CPU s", "evaluations", "s per evaluation",
              "throughput cost"]
    print_table("Periodic evaluation: training cost", header, rows)
    print(f"policy copy on the training thread per evaluation: {policy_copy_ms():.1f} ms (median of 20); "
          f"{GAMES} games per opponent against random and greedy, {TIMESTEPS} timesteps")
    return 0


if __name__ == "__main__":
    sys.exit(main())
