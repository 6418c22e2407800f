"""trainyard_client: record a training run in Trainyard from any Python training script.

Without torch or the Blokus trainer: ``start_run`` (a context manager) or ``TrainingRunLogger``
for a plain loop, ``TrainyardCallback`` (``trainyard_client.sb3``) for Stable-Baselines3. Records go
to MongoDB (``MONGODB_URI``/``MONGODB_DB_NAME``) off the training thread; the history API and the
web UI show them. See client/README.md.
"""

from trainyard_client.run import start_run
from trainyard_client.run_logger import RollingWinRate, TrainingRunLogger, error_info

__all__ = ["RollingWinRate", "TrainingRunLogger", "error_info", "start_run"]
