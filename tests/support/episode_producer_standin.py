"""Stand-in for PPO's episode source: the real ``TrainingRunLogger`` in a real process, fed episodes by a
loop instead of a policy, so the fault suite can SIGKILL it two dozen times in seconds (the real trainer
is killed too, once, in ``tests/faults``; a torch start per kill would not fit the suite's budget).

Usage: ``python -m tests.support.episode_producer_standin CHECKPOINT_DIR RUN_ID TAG EPISODES ACK_FILE [PAUSE]``.
Each episode's reward is ``TAG * 1e6 + i`` (unique across attempts). After ``log_episode`` returns,
the reward goes to ACK_FILE with one ``write`` (what the test counts as "completed": the logger
acknowledged it). After EPISODES episodes the run is set completed and the logger closed.
MongoDB comes from MONGODB_URI / MONGODB_DB_NAME / MONGODB_TIMEOUT_MS.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

from trainyard_client.run_logger import TrainingRunLogger
from trainyard_runstore.schema import RunStatus


def main() -> int:
    checkpoint_dir, run_id, tag, episodes, ack = sys.argv[1:6]
    pause = float(sys.argv[6]) if len(sys.argv) > 6 else 0.002
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logger = TrainingRunLogger(agent_id="faults", run_id=run_id, spill_dir=Path(checkpoint_dir),
                               flush_interval=0.05, heartbeat_interval=1.0, close_timeout=60)
    logger.start()
    fd = os.open(ack, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    for i in range(int(episodes)):
        reward = int(tag) * 1_000_000 + i
        logger.log_episode(float(reward), 1, win=i % 3 == 0)
        os.write(fd, f"{reward}\n".encode())
        time.sleep(pause)
    logger.set_status(RunStatus.COMPLETED)
    logger.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
