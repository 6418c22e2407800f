"""Periodic evaluation during training: every ``evaluation.every_timesteps`` the current policy plays a
small fixed-seed evaluation (``evaluation.evaluate``) against the configured opponents.

Between rollouts (after the update) the callback copies the policy's weights to the CPU on the
training thread (milliseconds) and plays the games on one background thread, so training keeps
stepping meanwhile; a due evaluation is skipped (and logged) while the previous one still plays,
except the one due when training ends, which waits for it.
Results go to the run logger with ``trigger="periodic"`` and become points of the run page's
evaluation curve. ``train`` waits for the last one before the run ends.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import torch
from stable_baselines3.common.callbacks import BaseCallback
from trainyard_client.run_logger import TrainingRunLogger
from trainyard_runstore.schema import EvaluationResult

from trainyard_trainer import evaluation
from trainyard_trainer.settings import EvaluationSettings

log = logging.getLogger(__name__)


def policy_predict(policy, deterministic: bool) -> evaluation.Predict:
    """A ``Predict`` over a (copied) MaskablePPO policy."""

    def predict(obs: np.ndarray, mask: np.ndarray) -> int:
        action, _ = policy.predict(obs, action_masks=np.array(mask), deterministic=deterministic)
        return int(action)

    return predict


def snapshot(policy) -> tuple[type, dict, dict]:
    """What rebuilds ``policy`` elsewhere: its class, constructor arguments and a CPU copy of its weights.

    (``copy.deepcopy`` of a policy fails while the optimizer's graph holds non-leaf tensors.)
    """
    with torch.no_grad():
        state = {k: v.detach().to("cpu", copy=True) for k, v in policy.state_dict().items()}
    return type(policy), policy._get_constructor_parameters(), state


def restore(weights: tuple[type, dict, dict]):
    cls, params, state = weights
    policy = cls(**params)
    policy.load_state_dict(state)
    policy.set_training_mode(False)
    return policy.to("cpu")


class PeriodicEvaluationCallback(BaseCallback):
    def __init__(self, settings: EvaluationSettings, env_id: str, run_logger: TrainingRunLogger,
                 stop: threading.Event):
        super().__init__()
        self.every = settings.every_timesteps
        self.settings = settings.model_copy(update={"games": settings.periodic_games})
        self.env_id = env_id
        self.run_logger = run_logger
        self.stop = stop
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="periodic-eval")
        self._future: Future | None = None
        self._next = 0
        self.done: list[EvaluationResult] = []
        self.skipped = 0
        self.copy_seconds = 0.0

    def _on_training_start(self) -> None:
        self._next = (self.num_timesteps // self.every + 1) * self.every

    def _on_step(self) -> bool:
        return True

    # Due evaluations start between rollouts, after the update: the policy that learned from the
    # timesteps so far (the last one when training ends).
    def _on_rollout_start(self) -> None:
        self._submit_if_due()

    def _on_training_end(self) -> None:
        # Nothing left to hold up: the last due evaluation waits for a playing one instead of being
        # skipped, so the curve reaches the final timestep (a stop interrupts the playing one).
        if self.num_timesteps >= self._next and self._future is not None:
            self._future.result()
        self._submit_if_due()

    def _submit_if_due(self) -> None:
        if self.num_timesteps >= self._next:
            self._next = (self.num_timesteps // self.every + 1) * self.every
            self.submit()

    def submit(self) -> bool:
        """Start an evaluation of the current policy; False when the previous one still plays."""
        if self._future is not None and not self._future.done():
            self.skipped += 1
            log.info("periodic evaluation at timestep %d skipped: the previous one is still playing",
                     self.num_timesteps)
            return False
        t0 = time.perf_counter()
        weights = snapshot(self.model.policy)
        self.copy_seconds += time.perf_counter() - t0
        self._future = self._pool.submit(self._play, weights, self.num_timesteps, self.run_logger.next_episode - 1)
        return True

    def _play(self, weights, timestep: int, episode: int) -> EvaluationResult | None:
        try:
            policy = restore(weights)
            result = evaluation.evaluate(
                policy_predict(policy, self.settings.deterministic), env_id=self.env_id, settings=self.settings,
                checkpoint=f"policy@{timestep}", timestep=timestep, episode=episode, trigger="periodic",
                stop=self.stop)
        except evaluation.EvaluationInterrupted:
            return None
        except Exception:  # noqa: BLE001 - a failed evaluation must not end the training
            log.exception("periodic evaluation at timestep %d failed", timestep)
            return None
        self.run_logger.log_evaluation(result)
        self.done.append(result)
        log.info("periodic evaluation at timestep %d: %s", timestep,
                 ", ".join(f"{r.opponent} {r.win_rate:.2f}" for r in result.evaluation.results))
        return result

    def scores(self) -> list[tuple[int, float]]:
        """(timestep, mean win rate over the opponents) of each finished evaluation: retention's "best"."""
        return [(r.evaluation.timestep, sum(o.win_rate for o in r.evaluation.results) / len(r.evaluation.results))
                for r in list(self.done) if r.evaluation.results]

    def wait(self) -> None:
        """Let a playing evaluation finish (a stop interrupts it), then release the thread."""
        if self._future is not None:
            self._future.result()
        self._pool.shutdown(wait=True)
