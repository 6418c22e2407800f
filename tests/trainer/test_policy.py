"""The board-shaped policy (``trainyard_trainer.policy``): its head follows the placement table,
it is a real MaskablePPO policy (learn, save, load, predict), checkpoints are small, and
checkpoints of the legacy network still load."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sb3_contrib import MaskablePPO
from stable_baselines3.common.vec_env import DummyVecEnv
from trainyard_trainer.envs import BlokusClassicEnv, BlokusDuoEnv, BlokusGame
from trainyard_trainer.envs.blokus.pieces import N_ORIENTATIONS, placement_table
from trainyard_trainer.policy import (
    BlokusPolicy,
    BoardHeads,
    board_policy_kwargs,
    legacy_policy_kwargs,
    make_policy,
    placement_anchor_index,
)


def test_every_orientation_of_every_piece_gets_its_own_head_channel():
    table = placement_table(14)
    assert N_ORIENTATIONS == 91
    assert sorted(set(table.orientation.tolist())) == list(range(91))
    # placements of one orientation are one shape moved around: the same cell offsets from the first cell
    for o in (0, 45, 90):
        pids = np.flatnonzero(table.orientation == o)
        shapes = {tuple(table.cells(int(p)) - table.cells(int(p))[0]) for p in pids}
        assert len(shapes) == 1


@pytest.mark.parametrize("size", [14, 20])
def test_a_placement_logit_is_read_at_a_cell_it_covers(size):
    """With the head reading one feature plane, lighting one cell raises the logits of
    placements covering that cell and of no others: one per orientation anchored there."""
    table = placement_table(size)
    heads = BoardHeads(channels=1, size=size, n_actions=table.n, value_hidden=4)
    with torch.no_grad():
        heads.scores.weight.fill_(1.0)
        heads.scores.bias.zero_()
    features = torch.zeros(1, 1, size, size)
    cell = 5 * size + 6
    features[0, 0, 5, 6] = 1.0
    with torch.no_grad():
        logits = heads.forward_actor(features)[0].numpy()
    lit = np.flatnonzero(logits > 0.5)
    assert all(cell in table.cells(int(p)) for p in lit)
    # in the middle of the board every orientation fits with its anchor on the cell: one each
    assert sorted(table.orientation[lit].tolist()) == list(range(N_ORIENTATIONS))


def test_anchor_index_gives_every_placement_its_own_logit():
    for size in (14, 20):
        index = placement_anchor_index(size)
        table = placement_table(size)
        assert len(np.unique(index)) == table.n
        cells = size * size
        assert (index // cells == table.orientation).all()
        assert all(index[p] % cells in table.cells(p) for p in range(0, table.n, 97))


def test_the_trainer_uses_the_board_policy_for_blokus_envs():
    policy, kwargs = make_policy(BlokusDuoEnv().observation_space)
    assert policy is BlokusPolicy and kwargs == board_policy_kwargs()


def _learned(env_cls, tmp_path, **kwargs):
    env = DummyVecEnv([lambda: env_cls(seed=0)])
    model = MaskablePPO(BlokusPolicy, env, n_steps=32, batch_size=32, n_epochs=1, seed=0, device="cpu",
                        policy_kwargs=board_policy_kwargs(**kwargs), verbose=0)
    model.learn(64)
    path = tmp_path / "model.zip"
    model.save(path)
    return model, path


def test_default_board_policy_learns_saves_and_loads_within_five_megabytes(tmp_path):
    model, path = _learned(BlokusDuoEnv, tmp_path)
    params = sum(p.numel() for p in model.policy.parameters())
    assert params < 200_000  # the legacy network had ~7 M
    assert path.stat().st_size <= 5 * 1024 * 1024
    loaded = MaskablePPO.load(path, device="cpu")
    assert isinstance(loaded.policy, BlokusPolicy)
    game = BlokusGame("duo")
    for _ in range(6):  # the loaded policy plays legal moves, the same ones as before saving
        obs, mask = game.observe(game.current_player), game.legal_mask()
        action, _ = loaded.predict(obs, action_masks=np.array(mask), deterministic=True)
        before, _ = model.predict(obs, action_masks=np.array(mask), deterministic=True)
        assert mask[int(action)] and int(action) == int(before)
        game.play(int(action))


def test_board_policy_plays_classic(tmp_path):
    model, _ = _learned(BlokusClassicEnv, tmp_path, channels=8, blocks=1)
    assert model.policy.mlp_extractor.latent_dim_pi == placement_table(20).n


def test_checkpoints_of_the_legacy_network_still_load(tmp_path):
    env = DummyVecEnv([lambda: BlokusDuoEnv(seed=0)])
    old = MaskablePPO("CnnPolicy", env, n_steps=16, batch_size=16, n_epochs=1, device="cpu",
                      policy_kwargs=legacy_policy_kwargs(features_dim=8, channels=(4,)), verbose=0)
    old.save(tmp_path / "old.zip")
    loaded = MaskablePPO.load(tmp_path / "old.zip", device="cpu")
    game = BlokusGame("duo")
    action, _ = loaded.predict(game.observe(0), action_masks=np.array(game.legal_mask()), deterministic=True)
    assert game.legal_mask()[int(action)]


def test_a_policy_for_another_board_is_refused():
    env = BlokusDuoEnv()
    with pytest.raises(ValueError, match="placements"):
        BoardHeads(channels=4, size=20, n_actions=env.action_space.n, value_hidden=4)
