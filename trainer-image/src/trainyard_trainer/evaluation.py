"""Evaluation games: a checkpoint plays the built-in opponents in the turn-based env, seats alternating.

``evaluate`` plays and scores (no I/O); ``evaluate_checkpoint`` loads the checkpoint first. The caller
stores the ``EvaluationResult``: ``train`` through the run logger once a run completes,
``trainyard-train evaluate`` through the run store. Game i against each opponent uses seed
``seed + i`` (opponent tie-breaks, the agent's sampling when not deterministic) and puts the agent in
seat ``i % seats``, so an evaluation of a checkpoint is reproducible. Every game is kept with its
moves, seats, covered cells and scores so the API can replay it.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import gymnasium as gym
import numpy as np
from trainyard_runstore.schema import EvalGame, Evaluation, EvaluationResult, Interval, OpponentResult
from trainyard_runstore.stats import mean_sd, t_interval, wilson

from trainyard_trainer.envs import BlokusTurnEnv, make_opponent
from trainyard_trainer.envs.blokus.env import Outcome
from trainyard_trainer.settings import EvaluationSettings

log = logging.getLogger(__name__)

# (observation, legal mask) -> placement id
Predict = Callable[[np.ndarray, np.ndarray], int]


class EvaluationInterrupted(RuntimeError):
    """SIGTERM/SIGINT arrived while evaluation games were being played."""


def variant_of(env_id: str) -> str:
    """The Blokus variant behind a gymnasium id (custom ids such as test envs included)."""
    env = gym.make(env_id)
    try:
        variant = getattr(env.unwrapped, "variant", None)
        if variant is None:
            raise ValueError(f"{env_id} is not a Blokus environment; evaluation needs one")
        return variant.name
    finally:
        env.close()


def play_game(predict: Predict, opponent_name: str, env: BlokusTurnEnv, *, agent_seat: int, seed: int) -> EvalGame:
    """One game of the agent (``predict``) in ``agent_seat`` against ``opponent_name`` in every other seat."""
    opponent = make_opponent(opponent_name)
    rng = np.random.default_rng(seed)
    obs, _ = env.reset(seed=seed)
    game = env.game
    moves: list[int] = []
    seats: list[int] = []
    cells: list[int] = []
    counts: list[int] = []
    done = False
    info: dict = {}
    while not done:
        seat = game.current_player
        mask = env.action_masks()
        action = predict(obs, mask) if seat == agent_seat else opponent.select(game, mask, rng)
        moves.append(int(action))
        seats.append(seat)
        covered = game.table.cells(int(action))
        cells.extend(int(c) for c in covered)
        counts.append(len(covered))
        obs, _, done, _, info = env.step(action)
    return EvalGame(evaluation_id="", opponent=opponent_name, variant=env.variant.name, board_size=env.variant.size,
                    agent_seat=agent_seat, seed=seed, moves=moves, seats=seats, cells=cells, cell_counts=counts,
                    scores=[int(s) for s in info["scores"]])


def summarize(opponent: str, games: list[EvalGame], first_game: int) -> OpponentResult:
    outcomes = [Outcome.of(g.scores, g.agent_seat) for g in games]
    wins = sum(o.margin > 0 for o in outcomes)
    draws = sum(o.margin == 0 for o in outcomes)
    margins = [float(o.margin) for o in outcomes]
    mean, _ = mean_sd(margins) if margins else (0.0, 0.0)
    low, high = t_interval(margins) if margins else (0.0, 0.0)
    wl, wh = wilson(wins, len(games))
    return OpponentResult(
        opponent=opponent, games=len(games), wins=wins, draws=draws, losses=len(games) - wins - draws,
        win_rate=wins / len(games) if games else 0.0, win_rate_ci=Interval(low=wl, high=wh),
        mean_score_margin=mean, score_margin_ci=Interval(low=low, high=high), first_game=first_game,
    )


def evaluate(predict: Predict, *, env_id: str, settings: EvaluationSettings, checkpoint: str, timestep: int,
             episode: int | None = None, trigger: str = "training",
             stop: threading.Event | None = None) -> EvaluationResult:
    """Play ``settings.games`` games against each of ``settings.opponents``; games come numbered 1.."""
    assert settings.games is not None
    variant = variant_of(env_id)
    env = BlokusTurnEnv(variant)
    evaluation_id = uuid.uuid4().hex
    t0 = time.monotonic()
    games: list[EvalGame] = []
    results = []
    report_every = max(1, settings.games // 5)
    log.info("evaluation of %s (timestep %d): %d games against each of %s", Path(checkpoint).name, timestep,
             settings.games, ", ".join(settings.opponents))
    for opponent in settings.opponents:
        played: list[EvalGame] = []
        for i in range(settings.games):
            if stop is not None and stop.is_set():
                raise EvaluationInterrupted(f"stopped after {len(games) + len(played)} evaluation games")
            game = play_game(predict, opponent, env, agent_seat=i % env.variant.n_players, seed=settings.seed + i)
            played.append(game.model_copy(update={"n": len(games) + len(played) + 1, "evaluation_id": evaluation_id}))
            if (i + 1) % report_every == 0 or i + 1 == settings.games:
                wins = sum(Outcome.of(g.scores, g.agent_seat).win for g in played)
                log.info("evaluation vs %s: %d/%d games, %d wins", opponent, i + 1, settings.games, wins)
        result = summarize(opponent, played, first_game=len(games) + 1)
        log.info("evaluation vs %s: win rate %.3f [%.3f, %.3f] (95%% Wilson), mean score margin %+.2f, %d games",
                 opponent, result.win_rate, result.win_rate_ci.low, result.win_rate_ci.high,
                 result.mean_score_margin, result.games)
        results.append(result)
        games.extend(played)
    evaluation = Evaluation(
        id=evaluation_id, checkpoint=str(checkpoint), timestep=timestep, episode=episode, env_id=env_id,
        variant=variant, deterministic=settings.deterministic, seed=settings.seed, trigger=trigger,
        duration_seconds=time.monotonic() - t0, first_game=1, last_game=len(games), results=results,
    )
    return EvaluationResult(evaluation=evaluation, games=games)


def load_model(path: Path, device: str = "cpu"):
    from sb3_contrib import MaskablePPO

    return MaskablePPO.load(path, device=device)


def model_predict(model, deterministic: bool = True) -> Predict:
    def predict(obs: np.ndarray, mask: np.ndarray) -> int:
        action, _ = model.predict(obs, action_masks=np.array(mask), deterministic=deterministic)
        return int(action)

    return predict


def evaluate_checkpoint(path: Path, *, env_id: str, settings: EvaluationSettings, timestep: int | None = None,
                        episode: int | None = None, trigger: str = "training", device: str = "cpu",
                        stop: threading.Event | None = None) -> EvaluationResult:
    """Load the checkpoint at ``path`` and evaluate it (its own timestep unless one is given)."""
    import torch

    model = load_model(path, device)
    if not settings.deterministic:
        torch.manual_seed(settings.seed)
    return evaluate(model_predict(model, settings.deterministic), env_id=env_id, settings=settings,
                    checkpoint=str(path), timestep=model.num_timesteps if timestep is None else timestep,
                    episode=episode, trigger=trigger, stop=stop)
