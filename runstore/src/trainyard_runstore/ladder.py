"""Elo ladders: a fixed-seed round robin between checkpoints and built-in opponents, rated.

``trainyard-train ladder`` plays the games and hands a ``Ladder`` to ``RunStore.put_ladder``; the API
reads it back (``AsyncRunStore.ladders``). Ratings are the maximum-likelihood Bradley–Terry fit on the
Elo scale (400 points = 10:1 odds) with one anchor held fixed (``random`` = 1000 by default), so
ratings from different ladders share one scale. Every pair that met gets one virtual draw, which keeps
ratings finite when one side won every game; the 95% intervals come from the inverse Fisher
information (the anchor has none). Pure functions, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel, Field

from trainyard_runstore.schema import Interval, utcnow

ELO = 400 / math.log(10)  # natural log-odds -> Elo points
DEFAULT_ANCHOR = "random"
ANCHOR_RATING = 1000.0
Z95 = 1.959964


class LadderPlayer(BaseModel):
    name: str = Field(description="'random', 'greedy', or '<run_id>@<timestep>' for a checkpoint")
    kind: str = Field(description="'builtin' or 'checkpoint'")
    run_id: str | None = None
    checkpoint: str | None = None
    timestep: int | None = None
    rating: float = 0.0
    rating_ci: Interval = Field(default_factory=lambda: Interval(low=0, high=0), description="95% interval")
    rating_se: float = Field(default=0.0, description="standard error (0 for the anchor)")
    games: int = 0
    wins: int = 0
    draws: int = 0
    losses: int = 0


class Pairing(BaseModel):
    """Games between players ``a`` and ``b`` (indexes into ``players``), from ``a``'s side."""

    a: int = Field(ge=0)
    b: int = Field(ge=0)
    games: int = Field(ge=0)
    wins: int = Field(ge=0)
    draws: int = Field(default=0, ge=0)
    losses: int = Field(ge=0)


class Ladder(BaseModel):
    id: str
    name: str
    env_id: str
    variant: str
    anchor: str = DEFAULT_ANCHOR
    anchor_rating: float = ANCHOR_RATING
    games_per_pair: int = Field(ge=1)
    seed: int = 0
    time: datetime = Field(default_factory=utcnow)
    duration_seconds: float | None = None
    players: list[LadderPlayer]
    pairings: list[Pairing]


def fit_ratings(n: int, pairings: Sequence[Pairing], anchor: int, anchor_rating: float = ANCHOR_RATING,
                iterations: int = 100) -> tuple[list[float], list[float]]:
    """(ratings, standard errors) of ``n`` players on the Elo scale, player ``anchor`` fixed.

    Newton's method on the Bradley–Terry log-likelihood (draws count half a win), one virtual draw per
    pair that met. Players connected to the anchor by no games keep the anchor's rating with an
    infinite standard error.
    """
    score = [[0.0] * n for _ in range(n)]  # score[i][j]: points i took from j
    games = [[0.0] * n for _ in range(n)]
    for p in pairings:
        if p.games == 0 or p.a == p.b:
            continue
        won = p.wins + 0.5 * p.draws + 0.5
        lost = p.losses + 0.5 * p.draws + 0.5
        score[p.a][p.b] += won
        score[p.b][p.a] += lost
        games[p.a][p.b] += p.games + 1
        games[p.b][p.a] += p.games + 1
    free = [i for i in range(n) if i != anchor and _connected(i, anchor, games)]
    theta = [0.0] * n
    for _ in range(iterations):
        grad, hess = _derivatives(theta, score, games, free)
        if not free:
            break
        step = _solve(hess, grad)
        for k, i in enumerate(free):
            theta[i] += step[k]
        if max(abs(s) for s in step) < 1e-10:
            break
    _, hess = _derivatives(theta, score, games, free)
    cov = _inverse(hess) if free else []
    se = [math.inf] * n
    se[anchor] = 0.0
    for k, i in enumerate(free):
        se[i] = math.sqrt(max(cov[k][k], 0.0)) * ELO
    ratings = [anchor_rating + (t - theta[anchor]) * ELO for t in theta]
    return ratings, se


def _connected(i: int, anchor: int, games: list[list[float]]) -> bool:
    seen, todo = {i}, [i]
    while todo:
        k = todo.pop()
        if k == anchor:
            return True
        for j, g in enumerate(games[k]):
            if g > 0 and j not in seen:
                seen.add(j)
                todo.append(j)
    return False


def _derivatives(theta: list[float], score: list[list[float]], games: list[list[float]],
                 free: list[int]) -> tuple[list[float], list[list[float]]]:
    """Gradient of the log-likelihood and the (positive definite) negative Hessian over ``free``."""
    index = {i: k for k, i in enumerate(free)}
    grad = [0.0] * len(free)
    hess = [[0.0] * len(free) for _ in free]
    n = len(theta)
    for i in range(n):
        for j in range(i + 1, n):
            g = games[i][j]
            if g == 0:
                continue
            p = 1 / (1 + math.exp(theta[j] - theta[i]))
            w = g * p * (1 - p)
            if i in index:
                grad[index[i]] += score[i][j] - g * p
                hess[index[i]][index[i]] += w
            if j in index:
                grad[index[j]] += score[j][i] - g * (1 - p)
                hess[index[j]][index[j]] += w
            if i in index and j in index:
                hess[index[i]][index[j]] -= w
                hess[index[j]][index[i]] -= w
    return grad, hess


def _solve(a: list[list[float]], b: list[float]) -> list[float]:
    inv = _inverse(a)
    return [sum(inv[r][c] * b[c] for c in range(len(b))) for r in range(len(b))]


def _inverse(a: list[list[float]]) -> list[list[float]]:
    """Gauss–Jordan inverse with partial pivoting (ladders have a handful of players)."""
    n = len(a)
    m = [row[:] + [1.0 if r == c else 0.0 for c in range(n)] for r, row in enumerate(a)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        m[col], m[pivot] = m[pivot], m[col]
        div = m[col][col]
        if abs(div) < 1e-300:
            raise ValueError("singular information matrix")
        m[col] = [v / div for v in m[col]]
        for r in range(n):
            if r != col and m[r][col] != 0:
                f = m[r][col]
                m[r] = [v - f * w for v, w in zip(m[r], m[col], strict=True)]
    return [row[n:] for row in m]


def rate(players: list[LadderPlayer], pairings: list[Pairing], anchor: str = DEFAULT_ANCHOR,
         anchor_rating: float = ANCHOR_RATING) -> list[LadderPlayer]:
    """The players with ratings, intervals and game totals filled in, best first."""
    names = [p.name for p in players]
    if anchor not in names:
        raise ValueError(f"the anchor {anchor!r} is not a player of the ladder ({', '.join(names)})")
    ratings, se = fit_ratings(len(players), pairings, names.index(anchor), anchor_rating)
    totals = [[0, 0, 0, 0] for _ in players]
    for p in pairings:
        for side, (w, d, lost) in ((p.a, (p.wins, p.draws, p.losses)), (p.b, (p.losses, p.draws, p.wins))):
            totals[side][0] += p.games
            totals[side][1] += w
            totals[side][2] += d
            totals[side][3] += lost
    out = []
    for player, r, s, (g, w, d, lost) in zip(players, ratings, se, totals, strict=True):
        half = Z95 * s if math.isfinite(s) else math.inf
        out.append(player.model_copy(update={
            "rating": r, "rating_se": s if math.isfinite(s) else 1e9,
            "rating_ci": Interval(low=r - half if math.isfinite(half) else -1e9,
                                  high=r + half if math.isfinite(half) else 1e9),
            "games": g, "wins": w, "draws": d, "losses": lost}))
    return sorted(out, key=lambda p: -p.rating)
