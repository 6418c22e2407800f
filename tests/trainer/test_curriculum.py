"""``opponent: curriculum`` and the mode defaults that go with it."""

from __future__ import annotations

import numpy as np
from stable_baselines3.common.vec_env import DummyVecEnv
from trainyard_trainer import train
from trainyard_trainer.curriculum import CurriculumEnv, MixedOpponent, level_at
from trainyard_trainer.envs import BlokusGame, GreedyOpponent, RandomOpponent
from trainyard_trainer.settings import load_settings


def test_the_greedy_share_rises_from_none_to_all_over_the_run():
    assert level_at(0.0) == level_at(0.1) == 0.0
    assert 0.0 < level_at(0.3) < level_at(0.5) < 1.0
    assert level_at(0.7) == level_at(1.0) == 1.0


def test_mixed_opponent_plays_random_at_level_zero_and_greedy_at_level_one():
    game = BlokusGame("duo")
    game.play(game.random_move(np.random.default_rng(0)))
    mask = game.legal_mask()
    for level, reference in ((0.0, RandomOpponent()), (1.0, GreedyOpponent())):
        mixed = MixedOpponent(level)
        for seed in range(5):
            # MixedOpponent draws once to choose, then the chosen policy uses the same generator
            rng_a, rng_b = np.random.default_rng(seed), np.random.default_rng(seed)
            rng_b.random()
            assert mixed.select(game, mask, rng_a) == reference.select(game, mask, rng_b)


def test_mode_defaults():
    smoke, full = load_settings({}), load_settings({"mode": "full"})
    assert (smoke.n_envs, smoke.torch_threads, smoke.vec_env, smoke.opponent) == (1, 1, "subprocess", "random")
    assert (full.n_envs, full.torch_threads, full.vec_env, full.opponent) == (8, 2, "dummy", "curriculum")
    assert full.total_timesteps == 600_000 and full.hyperparameters.n_epochs == 4
    assert load_settings({"mode": "full", "n_envs": 2, "opponent": "greedy"}).opponent == "greedy"


def test_curriculum_envs_take_the_level_and_name_it_at_game_end():
    settings = load_settings({"mode": "full", "n_envs": 2})
    env = train.make_vec_env(settings)
    try:
        assert isinstance(env, DummyVecEnv)
        env.env_method("set_opponent_level", 1.0)
        assert all(isinstance(e.env, CurriculumEnv) and e.env.opponent.level == 1.0 for e in env.envs)
        env.reset()
        names = []
        while not names:
            actions = np.array([int(np.flatnonzero(m)[0]) for m in env.env_method("action_masks")])
            _, _, dones, infos = env.step(actions)
            names += [i["opponent"] for i, d in zip(infos, dones, strict=True) if d]
        assert set(names) == {"curriculum@1.0"}
    finally:
        env.close()
