"""Training throughput with and without the platform: what the MongoDB logger, Prometheus endpoint,
checkpoints, diagnostics and TensorBoard cost a short MaskablePPO run.

Both sides train the same configuration (Blokus Duo against ``random``, seed 0, smoke-mode PPO
settings, one torch thread) for the same timesteps, each run in a fresh process:

* platform: ``train.run`` (the ``trainyard-train`` path) logging to a real FerretDB started here,
  Prometheus on a free port, a checkpoint every half of the run plus the final one, TensorBoard;
  evaluation games off (they are not training);
* bare: ``MaskablePPO(...).learn`` on the same Monitor-wrapped environment, no callbacks.

"learn" is the wall time of ``learn()`` alone (the platform records it in ``metadata.throughput``);
"end to end" adds setup and teardown (run record, model construction, final checkpoint, flush).
Wall time on a shared machine is noisy, so the table also gives the training process's CPU time
during ``learn`` (every thread: the run logger's writer included) and FerretDB's own CPU time, which
a remote MongoDB would not take from training. A warm-up pair runs first (numba and torch caches),
then rounds alternate which side goes first.

Identical bare runs differ by 10-20% on this shared 2-core VM, far more than the 2% goal, so a
second table measures the overhead inside each platform run (``_Attribution``): the wall time the
training thread spends in Trainyard's code during ``learn`` (callbacks, logger output formats,
checkpoints) and the CPU of the process's other threads. The goal: at most 2% of learn time.

A third table gives the run logger's own cost on the training thread: ``log_episode`` (validated,
appended to the write-ahead log with one write()) while its writer thread batches the episodes into the
same FerretDB, as µs per episode and episodes per second, the ingest rate through ``close()``, and the
share of a platform run's learn time its episodes cost at that rate.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.table import print_table  # noqa: E402

GOAL = 0.02
LOGGER_EPISODES = 20_000


def _config(timesteps: int, checkpoint_dir: Path, metrics_port: int) -> dict:
    return {"mode": "smoke", "total_timesteps": timesteps, "seed": 0, "n_envs": 1, "torch_threads": 1,
            "device": "cpu", "opponent": "random", "checkpoint_dir": checkpoint_dir,
            "checkpoint_every": max(timesteps // 2, 1), "metrics_port": metrics_port, "evaluation": {"games": 0}}


def child_platform(args) -> dict:
    from trainyard_runstore.settings import MongoSettings
    from trainyard_runstore.sync_store import RunStore
    from trainyard_trainer import train
    from trainyard_trainer.settings import load_settings

    from tests.support.ports import free_port

    settings = load_settings({**_config(args.timesteps, Path(args.tmp) / "ck", free_port()), "run_id": args.run_id})
    mongo = MongoSettings(uri=args.uri, db_name=args.db)
    attribution = _Attribution()
    t0 = time.perf_counter()
    with attribution:
        code = train.run(settings, mongo)
    total = time.perf_counter() - t0
    store = RunStore(mongo)
    run = store.get_run(args.run_id)
    store.close()
    if code != 0 or run is None or run.status != "completed" or run.metadata.throughput is None:
        raise SystemExit(f"platform run failed: exit {code}, status {run.status if run else None}")
    throughput = run.metadata.throughput
    return {"steps": throughput.timesteps, "learn": throughput.learn_seconds, "cpu": throughput.cpu_seconds,
            "total": total, "episodes": run.summary.episodes, "checkpoints": len(run.checkpoint_paths),
            "ours": attribution.ours, "threads_cpu": attribution.threads_cpu}


class _Attribution:
    """Where a platform run's learn() time goes that bare training does not spend, measured in the run
    instead of as the difference of two noisy runs: wall time inside the callbacks SB3 calls on the
    training thread (every Trainyard callback: episodes to the run logger, diagnostics, checkpoints,
    progress, stop), inside the logger output formats the platform adds (the run store's update values,
    TensorBoard), and the CPU time of every other thread of the process during learn() (the run
    logger's writer, Prometheus), which takes the second core rather than the training thread."""

    def __init__(self) -> None:
        self.ours = 0.0
        self.threads_cpu = 0.0
        self._patched: list[tuple[type, str, object]] = []

    def _time(self, cls: type, name: str) -> None:
        original = getattr(cls, name)

        def timed(this, *args, **kwargs):
            t = time.perf_counter()
            try:
                return original(this, *args, **kwargs)
            finally:
                self.ours += time.perf_counter() - t

        self._patched.append((cls, name, original))
        setattr(cls, name, timed)

    def __enter__(self) -> _Attribution:
        from sb3_contrib import MaskablePPO
        from stable_baselines3.common.callbacks import CallbackList
        from stable_baselines3.common.logger import TensorBoardOutputFormat
        from trainyard_trainer.callbacks import UpdateWriter

        for name in ("update_child_locals", "_on_step", "_on_rollout_start", "_on_rollout_end"):
            self._time(CallbackList, name)  # SB3 wraps the run's callbacks in one CallbackList
        self._time(UpdateWriter, "write")
        self._time(TensorBoardOutputFormat, "write")
        learn = MaskablePPO.learn

        def measured(model, *args, **kwargs):
            thread0, process0 = time.thread_time(), time.process_time()
            try:
                return learn(model, *args, **kwargs)
            finally:
                self.threads_cpu += (time.process_time() - process0) - (time.thread_time() - thread0)

        self._patched.append((MaskablePPO, "learn", learn))
        MaskablePPO.learn = measured
        return self

    def __exit__(self, *exc) -> None:
        for cls, name, original in reversed(self._patched):
            setattr(cls, name, original)


def child_bare(args) -> dict:
    import gymnasium as gym
    import torch
    import trainyard_trainer.envs  # noqa: F401 - registers the environments
    from sb3_contrib import MaskablePPO
    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.vec_env import DummyVecEnv
    from trainyard_trainer.policy import make_policy
    from trainyard_trainer.settings import load_settings

    settings = load_settings(_config(args.timesteps, Path(args.tmp) / "unused", 0))
    hp = settings.hyperparameters
    torch.set_num_threads(settings.torch_threads)
    t0 = time.perf_counter()

    def make():
        env = gym.make(settings.env_id, opponent=settings.opponent)
        env.reset(seed=settings.seed)
        return Monitor(env)

    env = DummyVecEnv([make])
    policy, kwargs = make_policy(env.observation_space)  # the trainer's own policy (train._model)
    model = MaskablePPO(policy, env, learning_rate=hp.learning_rate, n_steps=hp.n_steps,
                        batch_size=hp.batch_size, n_epochs=hp.n_epochs, gamma=hp.gamma, gae_lambda=hp.gae_lambda,
                        clip_range=hp.clip_range, ent_coef=hp.ent_coef, vf_coef=hp.vf_coef,
                        max_grad_norm=hp.max_grad_norm, seed=settings.seed, device="cpu",
                        policy_kwargs=kwargs, verbose=0)
    t1, cpu1 = time.perf_counter(), time.process_time()
    model.learn(total_timesteps=settings.total_timesteps)
    t2, cpu2 = time.perf_counter(), time.process_time()
    return {"steps": model.num_timesteps, "learn": t2 - t1, "cpu": cpu2 - cpu1, "total": t2 - t0, "episodes": None,
            "checkpoints": 0}


def process_cpu_seconds(pid: int) -> float:
    """user + system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_child(kind: str, *, uri: str, db: str, tmp: Path, timesteps: int, run_id: str, db_pid: int) -> dict:
    out = tmp / f"{run_id}.json"
    db_cpu = process_cpu_seconds(db_pid)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    cmd = [sys.executable, __file__, "--child", kind, "--uri", uri, "--db", db, "--tmp", str(tmp),
           "--timesteps", str(timesteps), "--run-id", run_id, "--out", str(out)]
    with open(tmp / f"{run_id}.log", "wb") as log:
        code = subprocess.call(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    if code:
        raise SystemExit(f"{kind} run {run_id} failed (exit {code}); see {tmp / f'{run_id}.log'}")
    return {**json.loads(out.read_text()), "db_cpu": process_cpu_seconds(db_pid) - db_cpu}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timesteps", type=int, default=4096)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--logger-episodes", type=int, default=LOGGER_EPISODES)
    parser.add_argument("--child", choices=["platform", "bare"], help=argparse.SUPPRESS)
    parser.add_argument("--uri", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--tmp", help=argparse.SUPPRESS)
    parser.add_argument("--run-id", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = (child_platform if args.child == "platform" else child_bare)(args)
        Path(args.out).write_text(json.dumps(result))
        return 0

    from tests.support.ferretdb import FerretDB

    with tempfile.TemporaryDirectory(prefix="trainyard-overhead-") as tmpdir:
        tmp = Path(tmpdir)
        with FerretDB(tmp / "ferretdb") as db:
            common = {"uri": db.uri, "db": "overhead", "tmp": tmp, "timesteps": args.timesteps, "db_pid": db.proc.pid}
            for kind in ("bare", "platform"):  # warm-up: numba and torch caches, FerretDB's first writes
                run_child(kind, run_id=f"warmup-{kind}", **common)
            results: dict[str, list[dict]] = {"platform": [], "bare": []}
            logger: list[dict[str, float]] = []
            for i in range(args.rounds):
                order = ("platform", "bare") if i % 2 == 0 else ("bare", "platform")
                for kind in order:
                    results[kind].append(run_child(kind, run_id=f"r{i}-{kind}", **common))
                logger.append(logger_cost(db.uri, tmp / f"logger-{i}", args.logger_episodes))
    print_table(*_table(results, args.timesteps))
    print_table(*_attribution_table(results["platform"]))
    print_table(*_logger_table(logger, results))
    return 0


def logger_cost(uri: str, tmp: Path, episodes: int) -> dict[str, float]:
    """The run logger alone, in this process: training-thread time per ``log_episode`` with the writer
    thread running, episodes per second through ``close()`` (everything written to FerretDB) with the
    process's CPU per episode, and ``log_episode`` + ``flush()`` per second (``history_bench.flush_rate``)."""
    from trainyard_client.run_logger import TrainingRunLogger
    from trainyard_runstore.settings import MongoSettings

    from bench.history_bench import flush_rate

    settings = MongoSettings(uri=uri, db_name="overhead")
    logger = TrainingRunLogger(agent_id="bench_logger", spill_dir=tmp, mongo=settings, flush_interval=0.2)
    logger.start()
    thread = 0.0
    c0, t0 = time.process_time(), time.perf_counter()
    for i in range(episodes):
        t = time.perf_counter()
        logger.log_episode(float(i % 50), 40, win=i % 3 == 0, timestep=i * 40)
        thread += time.perf_counter() - t
    logger.close()
    total, cpu = time.perf_counter() - t0, time.process_time() - c0
    if logger.episodes_written != episodes:
        raise SystemExit(f"logger bench: {logger.episodes_written} of {episodes} episodes written")
    flush = flush_rate(settings, tmp, 200)
    return {"us": 1e6 * thread / episodes, "thread_rate": episodes / thread, "ingest": episodes / total,
            "cpu_us": 1e6 * cpu / episodes, "flush_rate": flush["rate"], "flush_ops": flush["ops"]}


_LOGGER_COLUMNS = (("us", "{:.1f}"), ("thread_rate", "{:,.0f}"), ("ingest", "{:,.0f}"), ("cpu_us", "{:.1f}"),
                   ("flush_rate", "{:,.0f}"), ("flush_ops", "{:.2f}"))


def _logger_table(rounds: list[dict[str, float]], results: dict[str, list[dict]]) -> tuple[str, list[str],
                                                                                            list[list[str]]]:
    rows = [[f"round {i}", *(fmt.format(r[k]) for k, fmt in _LOGGER_COLUMNS)] for i, r in enumerate(rounds, 1)]
    rows.append(["median", *(fmt.format(statistics.median(r[k] for r in rounds)) for k, fmt in _LOGGER_COLUMNS)])
    rows.append(["goal (issue 13)", "", "", "≥ 35,000", "", "≥ 250", ""])
    us = statistics.median(r["us"] for r in rounds)
    # What a platform run's episodes cost on its training thread at this rate, as a share of learn time.
    shares = [p["episodes"] * us / 1e6 / p["learn"] for p in results["platform"] if p.get("episodes")]
    if shares:
        rows.append(["share of a platform run's learn time", f"{statistics.median(shares):.3%}", "", "", "", "", ""])
    title = (f"Run logger on the training thread: log_episode with the write-ahead log, {rounds and len(rounds)} "
             "rounds (writer thread batching into FerretDB meanwhile); then log_episode + flush() per episode")
    return title, ["", "µs per log_episode", "log_episode per s", "ingest through close(), episodes/s",
                   "CPU µs per episode (both threads)", "log_episode + flush() per s", "operations per flush"], rows


def _table(results: dict[str, list[dict]], timesteps: int) -> tuple[str, list[str], list[list[str]]]:
    def rate(r: dict) -> float:
        return r["steps"] / r["learn"]

    def cpu_ms(r: dict) -> float:
        return 1000 * r["cpu"] / r["steps"]

    rows = []
    for i, (p, b) in enumerate(zip(results["platform"], results["bare"], strict=True), 1):
        rows.append([f"round {i}", f"{rate(b):.1f}", f"{rate(p):.1f}", f"{rate(p) / rate(b):.3f}",
                     f"{cpu_ms(b):.2f}", f"{cpu_ms(p):.2f}", f"{cpu_ms(p) / cpu_ms(b):.3f}", f"{p['db_cpu']:.1f}",
                     f"{b['total']:.1f} / {p['total']:.1f}"])
    med = {k: statistics.median(rate(r) for r in v) for k, v in results.items()}
    best = {k: max(rate(r) for r in v) for k, v in results.items()}
    cpu = {k: statistics.median(cpu_ms(r) for r in v) for k, v in results.items()}
    tot = {k: statistics.median(r["total"] for r in v) for k, v in results.items()}
    db_cpu = statistics.median(r["db_cpu"] for r in results["platform"])
    rows.append(["median", f"{med['bare']:.1f}", f"{med['platform']:.1f}", f"{med['platform'] / med['bare']:.3f}",
                 f"{cpu['bare']:.2f}", f"{cpu['platform']:.2f}", f"{cpu['platform'] / cpu['bare']:.3f}",
                 f"{db_cpu:.1f}", f"{tot['bare']:.1f} / {tot['platform']:.1f}"])
    rows.append(["best of rounds", f"{best['bare']:.1f}", f"{best['platform']:.1f}",
                 f"{best['platform'] / best['bare']:.3f}", "", "", "", "", ""])
    wall_cost = 1 - best["platform"] / best["bare"]
    cpu_cost = cpu["platform"] / cpu["bare"] - 1
    rows.append(["platform cost", "", "", f"{wall_cost:+.1%} (best)", "", "", f"{cpu_cost:+.1%}", "",
                 f"{tot['platform'] / tot['bare'] - 1:+.1%}"])
    # Identical bare runs differ this much on a shared VM: the A/B above resolves nothing finer.
    bare_rates = [rate(r) for r in results["bare"]]
    rows.append(["bare-to-bare spread (noise)", f"{max(bare_rates) / min(bare_rates) - 1:.1%}", "", "", "", "", "",
                 "", ""])
    title = (f"Training throughput, {timesteps} timesteps of Blokus Duo (seed 0, 1 env, 1 torch thread), "
             f"{len(results['bare'])} rounds; CPU ms per step = the training process during learn()")
    header = ["", "bare steps/s", "platform steps/s", "platform / bare", "bare CPU ms/step",
              "platform CPU ms/step", "CPU platform / bare", "FerretDB CPU s", "end to end s (bare / platform)"]
    return title, header, rows


def _attribution_table(platform: list[dict]) -> tuple[str, list[str], list[list[str]]]:
    def row(label: str, learn: float, ours: float, threads: float) -> list[str]:
        return [label, f"{learn:.2f}", f"{ours:.3f}", f"{ours / learn:.2%}", f"{threads:.3f}", f"{threads / learn:.2%}"]

    rows = [row(f"round {i}", p["learn"], p["ours"], p["threads_cpu"]) for i, p in enumerate(platform, 1)]
    med = {k: statistics.median(p[k] for p in platform) for k in ("learn", "ours", "threads_cpu")}
    rows.append(row("median", med["learn"], med["ours"], med["threads_cpu"]))
    share = statistics.median(p["ours"] / p["learn"] for p in platform)
    rows.append(["goal: at most 2% of learn", "", "", "met" if share <= GOAL else "NOT met", "", ""])
    title = ("Platform overhead measured inside each platform run: wall time of Trainyard's callbacks and logger "
             "output formats on the training thread, and CPU of the process's other threads, during learn()")
    header = ["", "learn s", "Trainyard on the training thread s", "share of learn", "other threads CPU s",
              "share of learn (second core)"]
    return title, header, rows


if __name__ == "__main__":
    sys.exit(main())
