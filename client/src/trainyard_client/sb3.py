"""``TrainyardCallback``: records a Stable-Baselines3 run's episodes in Trainyard (needs the ``sb3`` extra).

Each finished episode (the ``episode`` entry SB3's ``Monitor`` puts in ``info``) is logged with
its reward, length, the ``win`` flag when the env reports one, the timestep, the model's
exploration rate when it has one (DQN's epsilon), and the ``info`` values named in ``info_metrics``
as custom per-episode metrics (no Trainyard code to change for a new one).
"""

from __future__ import annotations

from collections.abc import Sequence

from stable_baselines3.common.callbacks import BaseCallback

from trainyard_client.run_logger import TrainingRunLogger


class TrainyardCallback(BaseCallback):
    def __init__(self, run_logger: TrainingRunLogger, *, win_key: str = "win", info_metrics: Sequence[str] = ()):
        super().__init__()
        self.run_logger = run_logger
        self.win_key = win_key
        self.info_metrics = tuple(info_metrics)

    def _on_step(self) -> bool:
        epsilon = getattr(self.model, "exploration_rate", None)
        for info in self.locals.get("infos", ()):
            episode = info.get("episode")
            if episode is None:
                continue
            win = info.get(self.win_key)
            self.run_logger.log_episode(float(episode["r"]), int(episode["l"]),
                                        win=None if win is None else bool(win),
                                        epsilon=None if epsilon is None else float(epsilon),
                                        timestep=self.num_timesteps,
                                        metrics={k: float(info[k]) for k in self.info_metrics if k in info})
        return True
