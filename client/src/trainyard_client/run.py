"""The plain-loop form: ``with start_run(...) as run: run.log_episode(...)``.

Starting creates the run and the logger's writer thread; leaving the block ends the run
``completed``, ``stopped`` on KeyboardInterrupt, or ``failed`` with the exception's type, message
and traceback (the exception still propagates), then flushes and closes the logger.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from trainyard_runstore.schema import RunStatus
from trainyard_runstore.settings import MongoSettings

from trainyard_client.run_logger import TrainingRunLogger, error_info


@contextmanager
def start_run(agent_id: str, *, algorithm: str, config: dict[str, Any] | None = None, run_id: str | None = None,
              spill_dir: Path | None = None, mongo: MongoSettings | None = None,
              **options: Any) -> Iterator[TrainingRunLogger]:
    """A started ``TrainingRunLogger`` whose run ends with the block. ``spill_dir`` (default: a
    temporary folder) holds the records written while MongoDB is unreachable; ``options`` go to
    ``TrainingRunLogger`` (``metrics``/``rollout_metrics``: custom metric declarations, ``win_window``, ``buffer_size``,
    ``flush_interval``)."""
    logger = TrainingRunLogger(agent_id=agent_id, algorithm=algorithm, config=config, run_id=run_id,
                               spill_dir=spill_dir or Path(tempfile.gettempdir()) / "trainyard-spill", mongo=mongo,
                               **options)
    logger.start()
    try:
        yield logger
    except KeyboardInterrupt:
        logger.set_status(RunStatus.STOPPED)
        raise
    except BaseException as exc:
        logger.set_status(RunStatus.FAILED, error_info(exc))
        raise
    else:
        logger.set_status(RunStatus.COMPLETED)
    finally:
        logger.close()
