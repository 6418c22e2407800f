"""trainyard_client: record a training run in Trainyard from any Python training script.

Without torch or the Blokus trainer: ``start_run`` (a context manager) or ``TrainingRunLogger``
for a plain loop, ``TrainyardCallback`` (``trainyard_client.sb3``) for Stable-Baselines3. Records go
to MongoDB (``MONGODB_URI``/``MONGODB_DB_NAME``) off the training thread; the history API and the
web UI show them. ``custom("opponent_score", unit="points")`` declares a custom metric's unit and
description (``start_run(..., metrics=[...])``); ``custom_rollout`` a custom per-rollout metric's
(``start_run(..., rollout_metrics=[...])``, values by ``log_rollout(rollout, metrics={...})``). See client/README.md.
"""

from trainyard_runstore.metrics import MetricSpec, custom, custom_rollout

from trainyard_client.run import start_run
from trainyard_client.run_logger import RollingWinRate, TrainingRunLogger, error_info

__all__ = ["MetricSpec", "RollingWinRate", "TrainingRunLogger", "custom", "custom_rollout", "error_info", "start_run"]
