"""A test-only environment that raises mid-training, to check how the trainer records a crash.

Used as ``--env-id tests.support.faulty_env:CrashingBlokusDuo-v0`` (gymnasium imports the module).
"""

from __future__ import annotations

import gymnasium
from trainyard_trainer.envs import BlokusDuoEnv


class CrashingBlokusDuo(BlokusDuoEnv):
    crash_after_steps = 300

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._steps = 0

    def step(self, action):
        self._steps += 1
        if self._steps >= self.crash_after_steps:
            raise RuntimeError(f"injected failure after {self._steps} steps")
        return super().step(action)


if "CrashingBlokusDuo-v0" not in gymnasium.registry:
    gymnasium.register(id="CrashingBlokusDuo-v0", entry_point=CrashingBlokusDuo)
