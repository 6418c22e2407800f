"""SB3 callbacks: every side effect of training lives here, the training loop stays pure.

``RunLoggerCallback`` feeds finished episodes to the ``TrainingRunLogger`` (MongoDB) and the
Prometheus metrics; ``DiagnosticsCallback`` exports PPO losses, entropy, legal-action share and
invalid actions to Prometheus and records them per rollout in the run store (with the opponents
played), taking the update values from SB3's logger through an output format (``UpdateWriter``);
``RunCheckpointCallback`` saves and records a checkpoint every K timesteps; ``StopOnSignal`` ends
``learn`` when SIGTERM/SIGINT arrived. Wired together by ``train``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from gymnasium import spaces
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import KVWriter
from trainyard_client.run_logger import TrainingRunLogger
from trainyard_runstore.metrics import ROLLOUT_BUILTIN, check_rollout_name
from trainyard_runstore.schema import Rollout, utcnow

from trainyard_trainer import checkpoints, retention
from trainyard_trainer.metrics import TrainerMetrics
from trainyard_trainer.settings import RetentionSettings


class RunLoggerCallback(BaseCallback):
    def __init__(self, run_logger: TrainingRunLogger, metrics: TrainerMetrics, window: int = 100):
        super().__init__()
        self.run_logger = run_logger
        self.metrics = metrics
        self.episodes_seen = 0
        self._rewards: deque[float] = deque(maxlen=window)

    def _on_step(self) -> bool:
        n_envs = len(self.locals["infos"])
        self.metrics.timesteps.inc(n_envs)
        for info in self.locals["infos"]:
            ep = info.get("episode")
            if ep is None:
                continue
            logged = self.run_logger.log_episode(ep["r"], ep["l"], win=info.get("win"),
                                                 timestep=self.num_timesteps)
            self.episodes_seen += 1
            self._rewards.append(float(ep["r"]))
            self.metrics.episodes.inc()
            self.metrics.episode_reward_mean.set(sum(self._rewards) / len(self._rewards))
            self.metrics.observe_episode(logged, self.run_logger.record.metric_specs)
        return True

    def _on_rollout_end(self) -> None:
        self.metrics.buffered.set(self.run_logger.buffered)
        self.metrics.spilled.set(self.run_logger.spilled)
        self.metrics.db_up.set(1 if self.run_logger.db_ok else 0)


class UpdateWriter(KVWriter):
    """An SB3 logger output format (beside stdout, CSV, TensorBoard) that hands each dump's PPO
    update values (``train/*``) to a function: how Prometheus and the run store get them."""

    PREFIX = "train/"

    def __init__(self, on_update: Callable[[dict[str, float]], None]):
        self.on_update = on_update

    def write(self, key_values: dict[str, Any], key_excluded: dict[str, tuple[str, ...]], step: int = 0) -> None:
        update = {k.removeprefix(self.PREFIX): float(v) for k, v in key_values.items()
                  if k.startswith(self.PREFIX) and isinstance(v, int | float | np.number)}
        if update:
            self.on_update(update)

    def close(self) -> None:
        pass


# SB3's ``train/*`` names of an update -> the loss label of the Prometheus gauge
_LOSSES = {"policy_gradient_loss": "policy_gradient", "value_loss": "value", "loss": "total",
           "entropy_loss": "entropy"}
# SB3's ``train/*`` names that are built-in per-rollout metrics (trainyard_runstore.metrics.ROLLOUT_METRICS),
# kept as the Rollout's typed fields; ``entropy_loss`` is kept as ``entropy`` (its negative).
_ROLLOUT_FIELDS = tuple(n for n in ROLLOUT_BUILTIN if n not in ("entropy", "legal_share", "invalid_actions",
                                                                 "steps_per_second"))
# ... and names that are no metric: the update counter, and ``entropy_loss`` (kept as ``entropy``). Every other
# ``train/*`` value (``loss``, ``learning_rate``, ``clip_range``, a user callback's ``train/my_value``...)
# is stored as a custom per-rollout metric, declared on first use.
_NOT_CUSTOM = frozenset({"n_updates", "entropy_loss"})


class DiagnosticsCallback(BaseCallback):
    """Per rollout: legal-action share, invalid actions, episodes per opponent; per update: losses.

    The update values arrive through SB3's logger: an ``UpdateWriter`` joins the model's output
    formats when training starts. SB3 dumps its logger after each rollout, before the update that
    consumes it, so a dump carries the values of the update of the rollout before; each one completes
    the oldest rollout waiting for its update, which is then handed to the run logger. The last
    update is dumped when training ends. A rollout cut short by a stop is not recorded (no update
    consumed it). Every ``train/*`` value of the dump that is no built-in per-rollout metric (SB3's
    ``loss``, ``learning_rate``, a user callback's ``train/<name>``) is stored as a custom per-rollout
    metric (``Rollout.metrics``), declared on the run on first use, so it gets its own chart.
    """

    def __init__(self, metrics: TrainerMetrics, run_logger: TrainingRunLogger | None = None,
                 opponent: str = "random"):
        super().__init__()
        self.metrics = metrics
        self.run_logger = run_logger
        self.opponent = opponent
        self.invalid_actions = 0
        self._opponents: Counter[str] = Counter()
        self._seen_opponents: set[str] = set()
        self._awaiting_update: deque[Rollout] = deque()
        self._refused: set[str] = set()  # train/* names that cannot be custom metrics (warned once)
        self._t0 = time.monotonic()
        self._steps0 = 0

    def _on_training_start(self) -> None:
        formats = self.logger.output_formats
        if not any(isinstance(f, UpdateWriter) and f.on_update == self.on_update for f in formats):
            formats.append(UpdateWriter(self.on_update))

    def on_update(self, values: dict[str, float]) -> None:
        """One PPO update's values (SB3's ``train/*`` names without the prefix)."""
        if "n_updates" not in values:
            # No update in this dump (SB3 records ``train/n_updates`` with every one): only a callback's own
            # ``train/*`` value, recorded before the first update. It must not complete a rollout.
            return
        for key, kind in _LOSSES.items():
            if key in values:
                self.metrics.loss(kind, values[key])
        out: dict[str, Any] = {k: values[k] for k in _ROLLOUT_FIELDS if k in values}
        custom = self._custom(values)
        self.metrics.observe_rollout(custom, self.run_logger.record.rollout_metric_specs if self.run_logger else None)
        if "entropy_loss" in values:
            out["entropy"] = -values["entropy_loss"]
            self.metrics.entropy.set(out["entropy"])
        if "approx_kl" in out:
            self.metrics.approx_kl.set(out["approx_kl"])
        if "clip_fraction" in out:
            self.metrics.clip_fraction.set(out["clip_fraction"])
        if self._awaiting_update:
            rollout = self._awaiting_update.popleft().model_copy(update=out)
            if self.run_logger is not None:
                self.run_logger.log_rollout(rollout, metrics=custom)

    def _custom(self, values: dict[str, float]) -> dict[str, float]:
        """The update's values that are no built-in metric, as custom per-rollout metrics; a name the store
        cannot take (upper case, reserved...) is left out, with one warning."""
        out = {}
        for k, v in values.items():
            if k in ROLLOUT_BUILTIN or k in _NOT_CUSTOM or k in self._refused:
                continue
            try:
                out[check_rollout_name(k)] = v
            except ValueError as exc:
                self._refused.add(k)
                logging.getLogger("trainyard_trainer").warning("train/%s is not recorded per rollout: %s", k, exc)
        return out

    def _on_rollout_start(self) -> None:
        self._opponents = Counter()

    def _on_training_end(self) -> None:
        self.logger.dump(step=self.num_timesteps)  # the last update's values, through every output format

    def _on_step(self) -> bool:
        # Per step only the finished games' opponents; the masks are read once per rollout, from the buffer.
        for info in self.locals["infos"]:
            if "episode" in info:
                name = info.get("opponent", self.opponent)
                self._opponents[name] += 1
                if name not in self._seen_opponents:
                    self._seen_opponents.add(name)
                    logging.getLogger("trainyard_trainer").info("first game against opponent %s at timestep %d",
                                                                name, self.num_timesteps)
        return True

    def _masks(self) -> tuple[float | None, int]:
        """The rollout's mean legal-action share and its actions the masks forbade, from the rollout buffer
        (MaskablePPO keeps every step's mask there): one vectorised pass per rollout instead of numpy
        calls on every step. (None, 0) for a buffer without masks."""
        buffer = getattr(self.model, "rollout_buffer", None)
        masks = getattr(buffer, "action_masks", None)
        if masks is None or not buffer.full:
            return None, 0
        legal = np.count_nonzero(masks) / masks.size
        if isinstance(self.model.action_space, spaces.Discrete):  # one mask entry per action: was it allowed?
            chosen = np.take_along_axis(masks, buffer.actions.astype(np.intp), axis=-1)
            return legal, int(chosen.size - np.count_nonzero(chosen))
        return legal, 0

    def _on_rollout_end(self) -> None:
        legal, invalid = self._masks()
        if legal is not None:
            self.metrics.legal_actions.set(legal)
        if invalid:
            self.invalid_actions += invalid
            self.metrics.invalid_actions.inc(invalid)
        now = time.monotonic()
        rate = None
        if now > self._t0:
            rate = (self.num_timesteps - self._steps0) / (now - self._t0)
            self.metrics.steps_per_second.set(rate)
        self._t0, self._steps0 = now, self.num_timesteps
        self._awaiting_update.append(Rollout(
            rollout=1, timestep=self.num_timesteps, legal_share=legal, invalid_actions=invalid,
            steps_per_second=rate, episodes=sum(self._opponents.values()), opponents=dict(self._opponents)))


class RunCheckpointCallback(BaseCallback):
    """Every ``every`` timesteps: save a checkpoint (checkpoints.py), record it in the run store, then apply
    the run's checkpoint retention (``retention``). Not SB3's ``CheckpointCallback``: it saves our layout,
    records the episode it was taken at and prunes old checkpoints."""

    def __init__(self, every: int, directory: Path, run_logger: TrainingRunLogger, metrics: TrainerMetrics,
                 retention_settings: RetentionSettings | None = None, min_last: int = 1,
                 evaluations: Callable[[], list[tuple[int, float]]] | None = None):
        super().__init__()
        self.evaluations = evaluations  # (timestep, score) of the periodic evaluations so far: "best" by them
        self.every = every
        self.directory = directory
        self.run_logger = run_logger
        self.metrics = metrics
        self.retention = retention_settings or RetentionSettings()
        self.min_last = min_last
        self._next = None

    def _on_training_start(self) -> None:
        self._next = (self.num_timesteps // self.every + 1) * self.every

    def _on_step(self) -> bool:
        if self.num_timesteps >= self._next:
            self.save()
            self._next = (self.num_timesteps // self.every + 1) * self.every
        return True

    def save(self, tag: str | None = None, *, final: bool = False) -> checkpoints.SavedCheckpoint:
        # No wait for MongoDB: every logged episode is already in the run's write-ahead log, which is
        # what a retried attempt numbers its episodes after.
        episode = self.run_logger.next_episode - 1
        saved = checkpoints.save(self.model, self.directory, timestep=self.num_timesteps, episode=episode, tag=tag)
        win_rate = self.run_logger.win_rate.value
        self.run_logger.log_checkpoint(str(saved.path), timestep=saved.timestep, episode=episode, win_rate=win_rate)
        self.metrics.checkpoints.inc()
        entry = retention.Entry(saved.path.name, saved.timestep, episode, win_rate, final=final)
        evaluations = self.evaluations() if self.evaluations is not None else None
        for gone in retention.record_and_prune(self.directory, entry, self.retention, min_last=self.min_last,
                                               protect=saved.path.name, evaluations=evaluations):
            self.run_logger.log_checkpoint(str(self.directory / gone.path), timestep=gone.timestep,
                                           episode=gone.episode, win_rate=gone.win_rate, pruned=True,
                                           pruned_at=utcnow())
        return saved


class StopOnSignal(BaseCallback):
    """Ends ``learn`` at the next step once ``stop`` is set (by the SIGTERM/SIGINT handler)."""

    def __init__(self, stop: threading.Event):
        super().__init__()
        self.stop = stop

    def _on_step(self) -> bool:
        return not self.stop.is_set()


class ProgressCallback(BaseCallback):
    """A log line every ``interval`` seconds: progress that reads well in ``kubectl logs`` too."""

    def __init__(self, total: int, run_logger: TrainingRunLogger, interval: float = 5.0):
        super().__init__()
        self.total = total
        self.run_logger = run_logger
        self.interval = interval
        self._last = 0.0
        self._t0 = 0.0
        self._start_steps = 0

    def _on_training_start(self) -> None:
        self._t0 = self._last = time.monotonic()
        self._start_steps = self.num_timesteps

    def _on_step(self) -> bool:
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            done = self.num_timesteps - self._start_steps
            rate = done / max(now - self._t0, 1e-9)
            left = max(self.total - self.num_timesteps, 0)
            self.logger.record("trainyard/steps_per_second", rate)
            logging.getLogger("trainyard_trainer").info(
                "timesteps %d/%d (%.0f%%)  episodes %d  %.0f steps/s  eta %.0fs%s",
                self.num_timesteps, self.total, 100 * self.num_timesteps / self.total,
                self.run_logger.next_episode - 1, rate, left / rate if rate else 0,
                "" if self.run_logger.db_ok else "  [MongoDB unreachable: buffering]",
            )
        return True
