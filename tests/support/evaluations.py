"""Hand-made evaluation results for store, logger and API tests (no games played)."""

from __future__ import annotations

from trainyard_runstore.schema import EvalGame, Evaluation, EvaluationResult, Interval, OpponentResult


def make_evaluation(eid: str, games_per_opponent: int = 2, opponents: tuple[str, ...] = ("random", "greedy"),
                    timestep: int = 100) -> EvaluationResult:
    """Games numbered 1.. (two tiny moves each); every opponent won half of them."""
    games, results = [], []
    for opponent in opponents:
        first = len(games) + 1
        for i in range(games_per_opponent):
            games.append(EvalGame(n=len(games) + 1, evaluation_id=eid, opponent=opponent, variant="duo",
                                  board_size=14, agent_seat=i % 2, seed=i, moves=[1, 2], seats=[0, 1],
                                  cells=[0, 1, 30], cell_counts=[2, 1], scores=[-80, -87]))
        results.append(OpponentResult(opponent=opponent, games=games_per_opponent, wins=1, win_rate=0.5,
                                      win_rate_ci=Interval(low=0.1, high=0.9), mean_score_margin=1.0,
                                      score_margin_ci=Interval(low=0.0, high=2.0), first_game=first))
    ev = Evaluation(id=eid, checkpoint="ck.zip", timestep=timestep, env_id="trainyard/BlokusDuo-v0", variant="duo",
                    seed=0, first_game=1, last_game=len(games), results=results)
    return EvaluationResult(evaluation=ev, games=games)
