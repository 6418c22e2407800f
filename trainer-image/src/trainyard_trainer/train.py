"""One training run: MaskablePPO on a Blokus environment, resumed from the run's latest checkpoint.

``run(settings)`` returns the process exit code: 0 completed or stopped (SIGTERM/SIGINT save a
checkpoint first), 1 failed (the exception is recorded in the run's ``metadata.error``). All I/O
happens in callbacks (``callbacks``) and the run logger (``run_logger``). A completed run then
plays its evaluation games with the final checkpoint (``evaluation``); their outcome never changes
the run's status, only ``metadata.evaluation_status``. ``opponent: self-play`` gives every
environment a ``selfplay.SelfPlayOpponent`` over the run's checkpoint folder.
"""

from __future__ import annotations

import errno
import logging
import signal
import threading
import time
from pathlib import Path

import gymnasium as gym
import torch
from sb3_contrib import MaskablePPO
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv
from trainyard_client.run_logger import TrainingRunLogger, error_info
from trainyard_runstore.schema import Attempt, ErrorInfo, RunMetadata, RunStatus
from trainyard_runstore.settings import MongoSettings

import trainyard_trainer.envs  # noqa: F401 - registers the trainyard/* environments
from trainyard_trainer import checkpoints, evaluation, sweep
from trainyard_trainer.callbacks import (
    DiagnosticsCallback,
    ProgressCallback,
    RunCheckpointCallback,
    RunLoggerCallback,
    StopOnSignal,
)
from trainyard_trainer.curriculum import CurriculumCallback, CurriculumEnv, MixedOpponent
from trainyard_trainer.metrics import TrainerMetrics
from trainyard_trainer.periodic_eval import PeriodicEvaluationCallback
from trainyard_trainer.policy import make_policy
from trainyard_trainer.selfplay import SelfPlayEnv, SelfPlayOpponent
from trainyard_trainer.settings import SelfPlaySettings, TrainerSettings

log = logging.getLogger("trainyard_trainer")


def resolve_device(choice: str) -> str:
    if choice == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if choice == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda was requested but CUDA is not available on this machine")
    return choice


class _EnvFactory:
    """Picklable environment constructor for subprocess workers (self-play: a folder, never models)."""

    def __init__(self, env_id: str, opponent: str, seed: int, in_worker: bool,
                 self_play: tuple[Path, SelfPlaySettings] | None = None):
        self.env_id, self.opponent, self.seed, self.in_worker = env_id, opponent, seed, in_worker
        self.self_play = self_play

    def __call__(self) -> gym.Env:
        if self.in_worker:
            # Only the main process handles SIGTERM/SIGINT (checkpoint, then stop its workers).
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            import trainyard_trainer.envs  # noqa: F401 - registration in the worker process
        if self.opponent == "curriculum":
            mixed = MixedOpponent()
            return Monitor(CurriculumEnv(self._make(mixed), mixed))
        if self.self_play is None:
            return Monitor(self._make(self.opponent))
        if self.in_worker:
            torch.set_num_threads(1)  # opponent inference in every worker: avoid oversubscription
        directory, sp = self.self_play
        opponent = SelfPlayOpponent(directory, pool_size=sp.pool_size, cache_size=sp.cache_size,
                                    refresh_seconds=sp.refresh_seconds, deterministic=sp.deterministic,
                                    seed=self.seed)
        return Monitor(SelfPlayEnv(self._make(opponent), opponent))

    def _make(self, opponent) -> gym.Env:
        env = gym.make(self.env_id, opponent=opponent)
        env.reset(seed=self.seed)
        return env


def make_vec_env(settings: TrainerSettings, run_dir: Path | None = None) -> VecEnv:
    """``run_dir`` (the run's checkpoint folder) is where self-play finds its opponents."""
    subprocess = settings.n_envs > 1 and settings.vec_env == "subprocess"
    self_play = None
    if settings.opponent == "self-play":
        if run_dir is None:
            raise ValueError("opponent 'self-play' needs the run's checkpoint folder")
        self_play = (run_dir, settings.self_play)
    fns = [_EnvFactory(settings.env_id, settings.opponent, settings.seed + i, subprocess, self_play)
           for i in range(settings.n_envs)]
    return SubprocVecEnv(fns) if subprocess else DummyVecEnv(fns)


def describe_opponent(settings: TrainerSettings, run_dir: Path) -> str:
    if settings.opponent == "curriculum":
        return "curriculum (random moves, then a growing share of greedy moves, all greedy from 70% of the run)"
    if settings.opponent != "self-play":
        return settings.opponent
    sp = settings.self_play
    return (f"self-play (one of the newest {sp.pool_size} checkpoints in {run_dir} per game, "
            f"random until the first one exists)")


def _install_signal_handlers(stop: threading.Event) -> None:
    def handler(signum, _frame):
        log.info("received %s: saving a checkpoint and stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def run(settings: TrainerSettings, mongo: MongoSettings | None = None) -> int:
    run_logger = TrainingRunLogger(
        agent_id=settings.agent_id, algorithm=settings.algorithm, config=settings.run_config(),
        run_id=settings.run_id, spill_dir=settings.checkpoint_dir, mongo=mongo,
        win_window=settings.win_window, buffer_size=settings.log_buffer_size,
        flush_interval=settings.log_flush_interval, heartbeat_interval=settings.heartbeat_interval,
    )
    run_id = run_logger.run_id
    directory = checkpoints.run_dir(settings.checkpoint_dir, run_id)
    tensorboard_dir = directory / "tensorboard" if settings.tensorboard else None
    run_logger.record.metadata = RunMetadata(checkpoint_dir=str(directory),
                                             tensorboard_dir=str(tensorboard_dir) if tensorboard_dir else None)
    stop = threading.Event()
    _install_signal_handlers(stop)
    try:  # failures before training starts are recorded too (a busy port, no CUDA, a corrupt latest.json)
        metrics = TrainerMetrics(run_id, settings.agent_id)
        if settings.metrics_port:
            try:
                metrics.serve(settings.metrics_port, settings.metrics_addr)
            except OSError as exc:
                raise OSError(exc.errno, f"metrics port {settings.metrics_addr}:{settings.metrics_port} cannot be "
                                         f"used ({exc.strerror}); pick another with --metrics-port") from exc
        device = resolve_device(settings.device)
        if settings.torch_threads:
            torch.set_num_threads(settings.torch_threads)
        try:
            resume = checkpoints.latest(directory)
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{directory / checkpoints.LATEST} is corrupt ({exc}); move it away to start this "
                             f"run from its newest intact checkpoint, or from scratch") from exc
    except Exception as exc:  # noqa: BLE001 - recorded as the run's failure, then exit 1
        return _early_failure(run_logger, exc)
    attempt = Attempt(attempt=settings.attempt, device=device, resumed_from=str(resume.path) if resume else None,
                      resumed_timestep=resume.timestep if resume else 0,
                      resumed_episode=resume.episode if resume else 0)
    run_logger.start(resume_episode=resume.episode if resume else 0, attempt=attempt)
    _sweep_siblings(settings, mongo, run_id)
    log.info("run %s (agent %s) on %s%s; device %s", run_id, settings.agent_id, settings.env_id,
             f", resuming from {resume.path.name} at timestep {resume.timestep}" if resume else "", device)
    log.info("opponent: %s", describe_opponent(settings, directory))
    if device == "cuda":
        log.info("CUDA device: %s", torch.cuda.get_device_name(0))

    env: VecEnv | None = None
    ckpt: RunCheckpointCallback | None = None
    periodic: PeriodicEvaluationCallback | None = None
    try:
        env = make_vec_env(settings, directory)
        model = _model(settings, env, device, resume, tensorboard_dir)
        min_last = settings.self_play.pool_size if settings.opponent == "self-play" else 1
        if settings.evaluation.every_timesteps:
            periodic = PeriodicEvaluationCallback(settings.evaluation, settings.env_id, run_logger, stop)
        ckpt = RunCheckpointCallback(settings.checkpoint_every, directory, run_logger, metrics, settings.retention,
                                     min_last=min_last, evaluations=periodic.scores if periodic else None)
        episodes_cb = RunLoggerCallback(run_logger, metrics, settings.win_window)
        callbacks = [episodes_cb, DiagnosticsCallback(metrics, run_logger, settings.opponent), ckpt,
                     ProgressCallback(settings.total_timesteps, run_logger), StopOnSignal(stop)]
        if settings.opponent == "curriculum":
            callbacks.insert(0, CurriculumCallback(settings.total_timesteps))
        if periodic is not None:
            callbacks.append(periodic)
        remaining = settings.total_timesteps - model.num_timesteps
        if remaining > 0 and not stop.is_set():
            start_steps, t0, cpu0 = model.num_timesteps, time.perf_counter(), time.process_time()
            model.learn(total_timesteps=remaining, callback=callbacks, reset_num_timesteps=resume is None,
                        tb_log_name="ppo")
            _record_throughput(run_logger, model.num_timesteps - start_steps, time.perf_counter() - t0,
                               time.process_time() - cpu0)
        if periodic is not None:
            periodic.wait()
        ckpt.init_callback(model)
        final = ckpt.save(final=True)
        status = RunStatus.STOPPED if stop.is_set() else RunStatus.COMPLETED
        run_logger.set_status(status)
        log.info("run %s %s after %d timesteps, %d episodes; checkpoint %s", run_id, status.value,
                 model.num_timesteps, run_logger.next_episode - 1, final.path)
        if status is RunStatus.COMPLETED and settings.evaluation.games:
            env.close()
            env = None
            _evaluate_final(settings, final, run_logger, stop, device)
        return settings.stop_exit_code if status is RunStatus.STOPPED else 0
    except Exception as exc:  # noqa: BLE001 - every failure is recorded, then the process exits 1
        log.exception("run %s failed", run_id)
        run_logger.set_status(RunStatus.FAILED, _error(exc))
        return 1
    finally:
        if periodic is not None:
            periodic.wait()
        if env is not None:
            env.close()
        run_logger.close()
        log.info("episodes logged %d, written %d, spilled %d", run_logger.episodes_logged,
                 run_logger.episodes_written, run_logger.spilled)


def _error(exc: BaseException) -> ErrorInfo:
    info = error_info(exc)
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        info.reason = "VolumeFull"
        info.message = f"the checkpoint volume is full: {exc}"
    return info


def _early_failure(run_logger: TrainingRunLogger, exc: BaseException) -> int:
    """A failure before training: record a failed run when MongoDB answers, else say so clearly."""
    log.error("run %s cannot start: %s", run_logger.run_id, exc)
    try:
        run_logger.start()
        run_logger.set_status(RunStatus.FAILED, _error(exc))
        if not run_logger.flush(timeout=10):
            log.error("MongoDB is unreachable: the failure stays in %s until the next start or "
                      "'trainyard-train sweep'", run_logger.run_dir)
    except Exception as record_exc:  # noqa: BLE001 - the message above is what the user needs
        log.error("and the failure could not be recorded either: %s", record_exc)
    finally:
        run_logger.close()
    return 1


def _sweep_siblings(settings: TrainerSettings, mongo: MongoSettings | None, run_id: str) -> None:
    """Orphan logs of dead runs in the same checkpoint folder are written without a person (``sweep``)."""

    def work() -> None:
        from trainyard_runstore.sync_store import RunStore

        store = RunStore(mongo or MongoSettings())
        try:
            sweep.sweep(store, settings.checkpoint_dir, skip=run_id)
        except Exception as exc:  # noqa: BLE001 - best effort; the next start or the command retries
            log.info("sweep of %s skipped: %s", settings.checkpoint_dir, exc)
        finally:
            store.close()

    threading.Thread(target=work, name="sweep", daemon=True).start()


def _record_throughput(run_logger: TrainingRunLogger, steps: int, seconds: float, cpu_seconds: float) -> None:
    """``metadata.throughput``: wall and CPU time (all threads of this process) of ``learn``."""
    rate = steps / seconds if seconds > 0 else 0.0
    log.info("learned %d timesteps in %.1fs (%.0f steps/s, %.1f CPU s)", steps, seconds, rate, cpu_seconds)
    run_logger.set_metadata(throughput={"timesteps": steps, "learn_seconds": round(seconds, 3),
                                        "cpu_seconds": round(cpu_seconds, 3), "steps_per_second": round(rate, 2)})


def _evaluate_final(settings: TrainerSettings, final: checkpoints.SavedCheckpoint, run_logger: TrainingRunLogger,
                    stop: threading.Event, device: str) -> None:
    """Evaluation games with the final checkpoint of a completed run; failures are recorded, not raised."""
    run_logger.set_metadata(evaluation_status="running")
    try:
        result = evaluation.evaluate_checkpoint(final.path, env_id=settings.env_id, settings=settings.evaluation,
                                                timestep=final.timestep, episode=final.episode, device=device,
                                                stop=stop)
    except evaluation.EvaluationInterrupted as exc:
        log.warning("evaluation interrupted: %s; nothing stored", exc)
        run_logger.set_metadata(evaluation_status="interrupted")
        return
    except Exception as exc:  # noqa: BLE001 - the training itself completed; keep that status
        log.exception("evaluation of %s failed", final.path)
        run_logger.set_metadata(evaluation_status="failed",
                                evaluation_error=error_info(exc).model_dump(mode="json", exclude_none=True))
        return
    run_logger.log_evaluation(result)
    run_logger.set_metadata(evaluation_status="completed")
    log.info("evaluation done (win rates %s); handed to the run logger",
             ", ".join(f"{r.opponent} {r.win_rate:.3f}" for r in result.evaluation.results))


def _model(settings: TrainerSettings, env: VecEnv, device: str, resume: checkpoints.SavedCheckpoint | None,
           tensorboard_dir: Path | None) -> MaskablePPO:
    hp = settings.hyperparameters
    if resume is not None:
        model = MaskablePPO.load(resume.path, env=env, device=device)
        model.tensorboard_log = str(tensorboard_dir) if tensorboard_dir else None
        return model
    policy, kwargs = make_policy(env.observation_space)
    return MaskablePPO(
        policy,
        env,
        learning_rate=hp.learning_rate, n_steps=hp.n_steps, batch_size=hp.batch_size, n_epochs=hp.n_epochs,
        gamma=hp.gamma, gae_lambda=hp.gae_lambda, clip_range=hp.clip_range, ent_coef=hp.ent_coef,
        vf_coef=hp.vf_coef, max_grad_norm=hp.max_grad_norm, seed=settings.seed, device=device,
        tensorboard_log=str(tensorboard_dir) if tensorboard_dir else None,
        policy_kwargs=kwargs, verbose=0,
    )
