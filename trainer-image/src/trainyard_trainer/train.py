"""One training run: MaskablePPO on a Blokus environment, resumed from the run's latest checkpoint.

``run(settings)`` returns the process exit code: 0 completed or stopped (SIGTERM/SIGINT save a
checkpoint first), 1 failed (the exception is recorded in the run's ``metadata.error``). All I/O
happens in callbacks (``callbacks``) and the run logger (``run_logger``).
"""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path

import gymnasium as gym
import torch
from sb3_contrib import MaskablePPO
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv

import trainyard_trainer.envs  # noqa: F401 - registers the trainyard/* environments
from trainyard_runstore.schema import Attempt, RunStatus
from trainyard_runstore.settings import MongoSettings
from trainyard_trainer import checkpoints
from trainyard_trainer.callbacks import (
    CheckpointCallback,
    DiagnosticsCallback,
    ProgressCallback,
    RunLoggerCallback,
    StopOnSignal,
)
from trainyard_trainer.metrics import TrainerMetrics
from trainyard_trainer.policy import policy_kwargs
from trainyard_trainer.run_logger import TrainingRunLogger, error_info
from trainyard_trainer.settings import TrainerSettings

log = logging.getLogger("trainyard_trainer")


def resolve_device(choice: str) -> str:
    if choice == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if choice == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda was requested but CUDA is not available on this machine")
    return choice


class _EnvFactory:
    """Picklable environment constructor for subprocess workers."""

    def __init__(self, env_id: str, opponent: str, seed: int, in_worker: bool):
        self.env_id, self.opponent, self.seed, self.in_worker = env_id, opponent, seed, in_worker

    def __call__(self) -> gym.Env:
        if self.in_worker:
            # Only the main process handles SIGTERM/SIGINT (checkpoint, then stop its workers).
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            import trainyard_trainer.envs  # noqa: F401 - registration in the worker process
        env = gym.make(self.env_id, opponent=self.opponent)
        env.reset(seed=self.seed)
        return Monitor(env)


def make_vec_env(settings: TrainerSettings) -> VecEnv:
    subprocess = settings.n_envs > 1
    fns = [_EnvFactory(settings.env_id, settings.opponent, settings.seed + i, subprocess)
           for i in range(settings.n_envs)]
    return SubprocVecEnv(fns) if subprocess else DummyVecEnv(fns)


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
        flush_interval=settings.log_flush_interval,
    )
    run_id = run_logger.run_id
    directory = checkpoints.run_dir(settings.checkpoint_dir, run_id)
    tensorboard_dir = directory / "tensorboard" if settings.tensorboard else None
    run_logger.record.metadata = {"checkpoint_dir": str(directory),
                                  "tensorboard_dir": str(tensorboard_dir) if tensorboard_dir else None}
    metrics = TrainerMetrics(run_id, settings.agent_id)
    if settings.metrics_port:
        metrics.serve(settings.metrics_port, settings.metrics_addr)
    stop = threading.Event()
    _install_signal_handlers(stop)

    device = resolve_device(settings.device)
    if settings.torch_threads:
        torch.set_num_threads(settings.torch_threads)
    resume = checkpoints.latest(directory)
    attempt = Attempt(attempt=settings.attempt, device=device, resumed_from=str(resume.path) if resume else None,
                      resumed_timestep=resume.timestep if resume else 0,
                      resumed_episode=resume.episode if resume else 0)
    run_logger.start(resume_episode=resume.episode if resume else 0, attempt=attempt)
    log.info("run %s (agent %s) on %s%s; device %s", run_id, settings.agent_id, settings.env_id,
             f", resuming from {resume.path.name} at timestep {resume.timestep}" if resume else "", device)
    if device == "cuda":
        log.info("CUDA device: %s", torch.cuda.get_device_name(0))

    env: VecEnv | None = None
    ckpt: CheckpointCallback | None = None
    try:
        env = make_vec_env(settings)
        model = _model(settings, env, device, resume, tensorboard_dir)
        ckpt = CheckpointCallback(settings.checkpoint_every, directory, run_logger, metrics)
        episodes_cb = RunLoggerCallback(run_logger, metrics, settings.win_window)
        callbacks = [episodes_cb, DiagnosticsCallback(metrics), ckpt,
                     ProgressCallback(settings.total_timesteps, run_logger), StopOnSignal(stop)]
        remaining = settings.total_timesteps - model.num_timesteps
        if remaining > 0 and not stop.is_set():
            model.learn(total_timesteps=remaining, callback=callbacks, reset_num_timesteps=resume is None,
                        tb_log_name="ppo")
        ckpt.init_callback(model)
        final = ckpt.save()
        status = RunStatus.STOPPED if stop.is_set() else RunStatus.COMPLETED
        run_logger.set_status(status)
        log.info("run %s %s after %d timesteps, %d episodes; checkpoint %s", run_id, status.value,
                 model.num_timesteps, run_logger.next_episode - 1, final.path)
        return 0
    except Exception as exc:  # noqa: BLE001 - every failure is recorded, then the process exits 1
        log.exception("run %s failed", run_id)
        run_logger.set_status(RunStatus.FAILED, error_info(exc))
        return 1
    finally:
        if env is not None:
            env.close()
        run_logger.close()
        log.info("episodes logged %d, written %d, spilled %d", run_logger.episodes_logged,
                 run_logger.episodes_written, run_logger.spilled)


def _model(settings: TrainerSettings, env: VecEnv, device: str, resume: checkpoints.SavedCheckpoint | None,
           tensorboard_dir: Path | None) -> MaskablePPO:
    hp = settings.hyperparameters
    if resume is not None:
        model = MaskablePPO.load(resume.path, env=env, device=device)
        model.tensorboard_log = str(tensorboard_dir) if tensorboard_dir else None
        return model
    board = len(env.observation_space.shape) == 3  # planes of a board: the small CNN extractor
    return MaskablePPO(
        "CnnPolicy" if board else "MlpPolicy",
        env,
        learning_rate=hp.learning_rate, n_steps=hp.n_steps, batch_size=hp.batch_size, n_epochs=hp.n_epochs,
        gamma=hp.gamma, gae_lambda=hp.gae_lambda, clip_range=hp.clip_range, ent_coef=hp.ent_coef,
        vf_coef=hp.vf_coef, max_grad_norm=hp.max_grad_norm, seed=settings.seed, device=device,
        tensorboard_log=str(tensorboard_dir) if tensorboard_dir else None,
        policy_kwargs=policy_kwargs() if board else None, verbose=0,
    )
