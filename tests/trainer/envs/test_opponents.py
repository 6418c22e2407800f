"""Opponent policies: legality, the greedy heuristic, strength against random, wiring."""

from __future__ import annotations

import numpy as np
import pytest
from trainyard_trainer.envs import BlokusDuoEnv, BlokusGame, Opponent
from trainyard_trainer.envs.blokus.opponents import GreedyOpponent, PolicyOpponent, RandomOpponent, make_opponent
from trainyard_trainer.envs.blokus.pieces import PIECE_SIZES

pytestmark = pytest.mark.unit


def play_game(game, seats, seed):
    rng = np.random.default_rng(seed)
    game.reset()
    while not game.done:
        seat = game.current_player
        game.play(seats[seat].select(game, game.legal_mask(seat), rng))
    return game.scores()


def corner_balance(game, player):
    own = int(game.usable_corners(player).sum())
    others = sum(int(game.usable_corners(p).sum()) for p in range(game.variant.n_players) if p != player)
    return own - others


def test_greedy_beats_random_in_at_least_90_percent_of_duo_games():
    game = BlokusGame("duo")
    greedy, rand = GreedyOpponent(), RandomOpponent()
    wins = 0
    for i in range(100):
        seat = i % 2
        seats = [greedy, rand] if seat == 0 else [rand, greedy]
        scores = play_game(game, seats, seed=i)
        wins += scores[seat] > scores[1 - seat]
    assert wins >= 90


@pytest.mark.parametrize("variant", ["duo", "classic"])
def test_greedy_plays_the_largest_piece_with_the_best_corner_balance(variant):
    game = BlokusGame(variant)
    rng = np.random.default_rng(5)
    greedy = GreedyOpponent()
    checked = 0
    while not game.done:
        player = game.current_player
        legal = np.flatnonzero(game.legal_mask())
        choice = greedy.select(game, game.legal_mask(), rng)
        assert choice in legal
        sizes = np.array([PIECE_SIZES[p] for p in game.table.piece[legal]])
        assert PIECE_SIZES[game.table.piece[choice]] == sizes.max()
        if checked < 6:  # brute force: play every largest candidate on a copy
            balance = {}
            for pid in legal[sizes == sizes.max()]:
                trial = game.copy()
                trial.play(int(pid))
                balance[int(pid)] = corner_balance(trial, player)
            assert balance[choice] == max(balance.values())
            checked += 1
        game.play(int(rng.choice(legal)))  # random moves keep the positions varied


def test_greedy_tie_break_is_seeded():
    game = BlokusGame("duo")
    greedy = GreedyOpponent()
    picks = {greedy.select(game, game.legal_mask(), np.random.default_rng(s)) for s in range(20)}
    assert len(picks) > 1, "the empty board has many equally good moves"
    again = {greedy.select(game, game.legal_mask(), np.random.default_rng(s)) for s in range(20)}
    assert picks == again


def test_random_opponent_is_uniform_over_legal_moves():
    game = BlokusGame("duo")
    rng = np.random.default_rng(0)
    picks = [RandomOpponent().select(game, game.legal_mask(), rng) for _ in range(4000)]
    legal = set(np.flatnonzero(game.legal_mask()).tolist())
    assert set(picks) <= legal
    counts = np.bincount(picks, minlength=game.table.n)[sorted(legal)]
    assert len(set(picks)) > 0.95 * len(legal) and counts.max() < 40  # mean ~9.7 per move


def test_policy_opponent_sees_its_own_view():
    seen = []

    def predict(obs, mask):
        seen.append((obs.copy(), mask.copy()))
        return int(np.flatnonzero(mask)[-1])

    env = BlokusDuoEnv(opponent=PolicyOpponent(predict), agent_seat=1, seed=0)
    env.reset()
    obs, mask = seen[0]
    assert obs.shape == (25, 14, 14) and mask.sum() == 414
    assert obs[0].sum() == 0 and obs[1].sum() == 0, "nothing on the board before the opponent's first move"
    assert env.game.board2d()[4, 4] == 0, "the opponent (seat 0) opened on its start square"
    env.step(int(np.flatnonzero(env.action_masks())[0]))
    obs, _ = seen[1]
    assert obs[0].sum() == PIECE_SIZES[env.game.table.piece[env.game.moves[0]]], "plane 0 is the opponent's own"


def test_make_opponent_and_protocol():
    assert isinstance(make_opponent("random"), RandomOpponent)
    assert isinstance(make_opponent("greedy"), GreedyOpponent)
    for opp in (RandomOpponent(), GreedyOpponent(), PolicyOpponent(lambda o, m: 0)):
        assert isinstance(opp, Opponent)
    with pytest.raises(ValueError, match="self-play"):
        make_opponent("self-play")
    with pytest.raises(TypeError):
        BlokusDuoEnv(opponent=object())
