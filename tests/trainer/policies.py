"""Tiny MaskablePPO models for trainer tests: the real board-shaped policy class, narrow and shallow."""

from __future__ import annotations

from pathlib import Path

from sb3_contrib import MaskablePPO
from stable_baselines3.common.vec_env import DummyVecEnv
from trainyard_trainer import checkpoints
from trainyard_trainer.envs import BlokusDuoEnv
from trainyard_trainer.policy import BlokusPolicy, board_policy_kwargs


def tiny_model(seed: int = 0, learn: int = 0) -> MaskablePPO:
    env = DummyVecEnv([lambda: BlokusDuoEnv(seed=seed)])
    model = MaskablePPO(BlokusPolicy, env, n_steps=16, batch_size=16, n_epochs=1, seed=seed, device="cpu",
                        policy_kwargs=board_policy_kwargs(channels=4, blocks=0, value_hidden=8), verbose=0)
    if learn:
        model.learn(learn)
    return model


def save(model: MaskablePPO, directory: Path, timestep: int) -> checkpoints.SavedCheckpoint:
    return checkpoints.save(model, directory, timestep=timestep, episode=timestep // 10)
