"""PPO update values reach the run store and Prometheus through SB3's logger output formats.

A short real MaskablePPO run on Blokus Duo (3 rollouts of 64 steps) writes SB3's own CSV output
beside our ``UpdateWriter``; each stored rollout must carry the values of the update that consumed
it, exactly as SB3 logged them (``train/*`` values that are no built-in metric, such as ``loss`` and a
callback's own ``train/grad_scale``, as custom per-rollout metrics declared on the run), and the
Prometheus gauges the last update's.
"""

from __future__ import annotations

import csv

import numpy as np
import pytest
from prometheus_client import generate_latest
from sb3_contrib import MaskablePPO
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.logger import configure
from trainyard_client.run_logger import TrainingRunLogger
from trainyard_runstore.sync_store import RunStore
from trainyard_trainer.callbacks import DiagnosticsCallback, UpdateWriter
from trainyard_trainer.metrics import TrainerMetrics
from trainyard_trainer.settings import load_settings
from trainyard_trainer.train import make_vec_env

pytestmark = [pytest.mark.training, pytest.mark.mongo]


class RecordsItsOwnValue(BaseCallback):
    """A user's callback logging a value of its own under SB3's ``train/`` prefix; it also keeps the share
    of legal actions of every step's mask, per rollout, as the stored ``legal_share`` must be."""

    def __init__(self):
        super().__init__()
        self.legal_shares: list[float] = []
        self._step_shares: list[float] = []

    def _on_step(self) -> bool:
        masks = np.asarray(self.locals["action_masks"], dtype=bool)
        self._step_shares.append(float(masks.mean()))
        return True

    def _on_rollout_end(self) -> None:
        self.logger.record("train/grad_scale", self.num_timesteps / 64)
        self.legal_shares.append(sum(self._step_shares) / len(self._step_shares))
        self._step_shares = []


def test_stored_rollouts_carry_the_update_values_sb3_logged(mongo_settings, tmp_path):
    settings = load_settings({"seed": 3, "n_envs": 1})
    env = make_vec_env(settings)
    model = MaskablePPO("MlpPolicy", env, n_steps=64, batch_size=32, n_epochs=1, seed=3, verbose=0)
    model.set_logger(configure(str(tmp_path), ["csv"]))
    run_logger = TrainingRunLogger(agent_id="diag", spill_dir=tmp_path, mongo=mongo_settings, flush_interval=0.1)
    run_logger.start()
    metrics = TrainerMetrics(run_logger.run_id, "diag")
    callback = DiagnosticsCallback(metrics, run_logger)
    try:
        own_callback = RecordsItsOwnValue()
        model.learn(total_timesteps=192, callback=CallbackList([own_callback, callback]))
    finally:
        run_logger.close()
        env.close()
    assert sum(isinstance(f, UpdateWriter) for f in model.logger.output_formats) == 1

    with open(tmp_path / "progress.csv") as f:
        updates = [row for row in csv.DictReader(f) if row.get("train/value_loss")]
    stored = RunStore(mongo_settings).rollouts(run_logger.run_id)
    assert [r.timestep for r in stored] == [64, 128, 192]
    assert len(updates) == 3  # SB3 logged each update once; the last when training ended
    for rollout, update in zip(stored, updates, strict=True):
        assert rollout.value_loss == pytest.approx(float(update["train/value_loss"]))
        assert rollout.approx_kl == pytest.approx(float(update["train/approx_kl"]))
        assert rollout.entropy == pytest.approx(-float(update["train/entropy_loss"]))
        assert rollout.invalid_actions == 0 and 0 < rollout.legal_share < 1
    assert [r.legal_share for r in stored] == pytest.approx(own_callback.legal_shares)
    assert len(set(own_callback.legal_shares)) == 3  # three different rollouts, three different shares
    for rollout, update in zip(stored, updates, strict=True):
        assert rollout.metrics["loss"] == pytest.approx(float(update["train/loss"]))
        own = update.get("train/grad_scale")  # in the dumps of the 2nd and 3rd rollout ends, not in the last one
        assert rollout.metrics.get("grad_scale") == (pytest.approx(float(own)) if own else None)
        assert "n_updates" not in rollout.metrics and "entropy_loss" not in rollout.metrics
    assert sum("grad_scale" in r.metrics for r in stored) == 2
    declared = RunStore(mongo_settings).get_run(run_logger.run_id).rollout_metric_specs
    assert {"loss", "grad_scale", "learning_rate"} <= set(declared) and not declared["loss"].builtin

    exported = generate_latest(metrics.registry).decode()
    last = updates[-1]
    value_line = next(line for line in exported.splitlines()
                      if line.startswith("trainyard_trainer_ppo_loss{") and 'loss="value"' in line)
    assert float(value_line.rsplit(" ", 1)[1]) == pytest.approx(float(last["train/value_loss"]))


class ForbidsSomeChosenActions(BaseCallback):
    """Rewrites, at each rollout's end, the chosen action of three steps to one their mask forbade: what a
    policy that ignored its masks would have left in MaskablePPO's rollout buffer."""

    def __init__(self):
        super().__init__()
        self.forbidden_written = 0

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        buffer = self.model.rollout_buffer
        for step in (0, 10, 63):
            forbidden = np.flatnonzero(~buffer.action_masks[step, 0].astype(bool))
            buffer.actions[step, 0, 0] = forbidden[step % len(forbidden)]
            self.forbidden_written += 1


def test_actions_the_mask_forbade_are_counted_per_rollout_and_in_prometheus(mongo_settings, tmp_path):
    settings = load_settings({"seed": 5, "n_envs": 1})
    env = make_vec_env(settings)
    model = MaskablePPO("MlpPolicy", env, n_steps=64, batch_size=64, n_epochs=1, seed=5, verbose=0)
    run_logger = TrainingRunLogger(agent_id="diag", spill_dir=tmp_path, mongo=mongo_settings, flush_interval=0.1)
    run_logger.start()
    metrics = TrainerMetrics(run_logger.run_id, "diag")
    tamper = ForbidsSomeChosenActions()
    try:  # the tampering callback runs first, so the diagnostics read the rewritten buffer
        model.learn(total_timesteps=128, callback=CallbackList([tamper, DiagnosticsCallback(metrics, run_logger)]))
    finally:
        run_logger.close()
        env.close()
    stored = RunStore(mongo_settings).rollouts(run_logger.run_id)
    assert [r.invalid_actions for r in stored] == [3, 3]
    counted = next(line for line in generate_latest(metrics.registry).decode().splitlines()
                   if line.startswith("trainyard_trainer_invalid_actions_total{"))
    assert float(counted.rsplit(" ", 1)[1]) == tamper.forbidden_written == 6
