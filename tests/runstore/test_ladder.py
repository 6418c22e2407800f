"""Elo fit of a ladder: anchored, ordered by strength, finite under clean sweeps, honest intervals."""

from __future__ import annotations

import math

import pytest
from trainyard_runstore.ladder import LadderPlayer, Pairing, fit_ratings, rate

pytestmark = pytest.mark.unit


def test_the_anchor_keeps_its_rating_and_an_even_pair_rates_equal():
    ratings, se = fit_ratings(2, [Pairing(a=0, b=1, games=20, wins=10, losses=10)], anchor=0)
    assert ratings == [1000.0, pytest.approx(1000.0, abs=1e-6)]
    assert se[0] == 0 and se[1] > 0


def test_a_75_percent_score_is_about_190_elo():
    # 75% expected score <=> 400*log10(3) = 190.8 points; the virtual draw pulls it in a little.
    ratings, _ = fit_ratings(2, [Pairing(a=1, b=0, games=400, wins=300, losses=100)], anchor=0)
    assert ratings[1] - 1000 == pytest.approx(190.8, abs=2)


def test_a_clean_sweep_stays_finite_and_more_games_narrow_the_interval():
    few, few_se = fit_ratings(2, [Pairing(a=1, b=0, games=4, wins=4, losses=0)], anchor=0)
    many, many_se = fit_ratings(2, [Pairing(a=1, b=0, games=100, wins=100, losses=0)], anchor=0)
    assert math.isfinite(few[1]) and few[1] > 1000
    assert many[1] > few[1]
    assert many_se[1] < few_se[1]


def test_rate_orders_players_and_totals_their_games():
    players = [LadderPlayer(name=n, kind="builtin") for n in ("random", "greedy")] + [
        LadderPlayer(name="run@64", kind="checkpoint", run_id="run", timestep=64)]
    pairings = [Pairing(a=0, b=1, games=10, wins=1, losses=9), Pairing(a=2, b=0, games=10, wins=7, losses=3),
                Pairing(a=2, b=1, games=10, wins=2, draws=2, losses=6)]
    rated = rate(players, pairings)
    assert [p.name for p in rated] == ["greedy", "run@64", "random"]
    by = {p.name: p for p in rated}
    assert by["random"].rating == 1000.0 and by["random"].rating_ci.low == by["random"].rating_ci.high == 1000.0
    assert (by["run@64"].games, by["run@64"].wins, by["run@64"].draws, by["run@64"].losses) == (20, 9, 2, 9)
    assert by["greedy"].rating_ci.low < by["greedy"].rating < by["greedy"].rating_ci.high


def test_an_unknown_anchor_is_a_clear_error():
    with pytest.raises(ValueError, match="anchor 'random' is not a player"):
        rate([LadderPlayer(name="greedy", kind="builtin")], [])
