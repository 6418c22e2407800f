"""Self-play opponents: past checkpoints of the run, drawn per game, refreshed, in subprocess workers."""

from __future__ import annotations

import numpy as np
import pytest
from sb3_contrib import MaskablePPO
from trainyard_trainer import train
from trainyard_trainer.envs import BlokusGame
from trainyard_trainer.selfplay import SelfPlayOpponent
from trainyard_trainer.settings import load_settings

from tests.trainer.policies import save, tiny_model

pytestmark = pytest.mark.training


def test_random_until_a_checkpoint_exists_then_past_checkpoints(tmp_path):
    opponent = SelfPlayOpponent(tmp_path, pool_size=2, cache_size=1, refresh_seconds=0, seed=3)
    game = BlokusGame("duo")
    assert opponent.new_game() == "random"
    assert game.legal_mask()[opponent.select(game, game.legal_mask(), np.random.default_rng(0))]

    models = {t: tiny_model(seed=t) for t in (100, 200, 300)}
    for t, model in models.items():
        save(model, tmp_path, t)
    drawn = {opponent.new_game() for _ in range(40)}
    assert drawn == {"ckpt_0000000200", "ckpt_0000000300"}  # the newest pool_size checkpoints
    assert len(opponent._cache) == 1

    for _ in range(6):  # the drawn checkpoint's policy plays: same move as the saved model
        name = opponent.new_game()
        loaded = MaskablePPO.load(tmp_path / f"{name}.zip", device="cpu")
        game.reset()
        rng = np.random.default_rng(0)
        while not game.done:
            mask = game.legal_mask()
            if game.current_player == 0:
                move = opponent.select(game, mask, rng)
                expected, _ = loaded.predict(game.observe(0), action_masks=np.array(mask), deterministic=True)
                assert move == int(expected)
            else:
                move = int(rng.choice(np.flatnonzero(mask)))
            game.play(move)


def test_the_pool_is_listed_again_only_when_due(tmp_path):
    opponent = SelfPlayOpponent(tmp_path, refresh_seconds=3600)
    assert opponent.new_game() == "random"
    save(tiny_model(), tmp_path, 100)
    assert opponent.new_game() == "random"  # not listed again yet
    opponent._listed_at -= 3600
    assert opponent.new_game() == "ckpt_0000000100"


def test_subprocess_workers_play_checkpoints_from_the_run_folder(tmp_path):
    save(tiny_model(seed=1), tmp_path, 64)
    settings = load_settings({"opponent": "self-play", "n_envs": 2, "self_play": {"refresh_seconds": 0}})
    env = train.make_vec_env(settings, tmp_path)
    try:
        env.reset()
        names: list[str] = []
        while len(names) < 4:
            masks = env.env_method("action_masks")
            actions = np.array([int(np.flatnonzero(m)[0]) for m in masks])
            _, _, dones, infos = env.step(actions)
            names += [info["opponent"] for info, done in zip(infos, dones, strict=True) if done]
        assert set(names) == {"ckpt_0000000064"}
    finally:
        env.close()
