"""Speed of the Blokus envs (``trainyard_trainer.envs``), one process, turn-based form.

Prints per variant: moves/s of uniformly random legal play inside the engine
(``BlokusGame.random_games``, the numba loop: legal lists and masks maintained, no Python per
move; the figure to set against Pentobi's ~230,000/s on Duo), the same through the gymnasium env (reset +
``action_masks()`` + choice + ``step`` + observation), ``action_masks()`` queries/s, µs per
``step`` (replaying recorded games), and the single-agent env against the random and greedy
opponents. Rates are per second of this process's CPU time, so other load on the machine
does not count against them (it still slows caches a little); the first-use times are wall time.
``--compile-times`` also measures import + first reset + first step in fresh processes with
an empty (cold) and then a filled (warm) ``NUMBA_CACHE_DIR``.

    python bench/env_speed.py [--seconds 3] [--compile-times]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from trainyard_trainer.envs import BlokusEnv, BlokusGame, BlokusTurnEnv

_FIRST_USE = """
import time
t0 = time.perf_counter()
from trainyard_trainer.envs import BlokusDuoEnv
t1 = time.perf_counter()
env = BlokusDuoEnv(opponent="greedy", seed=0)
env.reset()
t2 = time.perf_counter()
env.step(int(env.action_masks().nonzero()[0][0]))
t3 = time.perf_counter()
print(f"{t1 - t0:.2f} {t2 - t1:.2f} {t3 - t2:.2f} {t3 - t0:.2f}")
"""


def engine_random_play(variant: str, seconds: float) -> float:
    """Moves/s of uniformly random legal play inside the engine (numba, masks maintained)."""
    game = BlokusGame(variant)
    game.random_games(2, 0)  # compile / warm up
    moves, games, start = 0, 0, time.process_time()
    while time.process_time() - start < seconds:
        moves += game.random_games(50, games)
        games += 50
    return moves / (time.process_time() - start)


def random_play(env: BlokusTurnEnv, seconds: float, seed: int = 0) -> tuple[float, list[list[int]]]:
    """Moves/s of uniformly random legal play; also returns the games played."""
    rng = np.random.default_rng(seed)
    games: list[list[int]] = []
    moves = 0
    start = time.process_time()
    while time.process_time() - start < seconds:
        env.reset()
        done = False
        while not done:
            legal = np.flatnonzero(env.action_masks())
            _, _, done, _, _ = env.step(int(legal[int(rng.random() * len(legal))]))
            moves += 1
        games.append(list(env.game.moves))
    return moves / (time.process_time() - start), games


def mask_queries(env: BlokusTurnEnv, game: list[int], n: int = 200_000) -> float:
    """``action_masks()`` calls per second, halfway through a recorded game."""
    env.reset()
    for action in game[: len(game) // 2]:
        env.step(action)
    start = time.process_time()
    for _ in range(n):
        env.action_masks()
    return n / (time.process_time() - start)


def step_us(env: BlokusTurnEnv, games: list[list[int]]) -> float:
    """Mean µs per ``step`` replaying recorded games (resets not timed)."""
    total, steps = 0.0, 0
    for game in games:
        env.reset()
        start = time.process_time()
        for action in game:
            env.step(action)
        total += time.process_time() - start
        steps += len(game)
    return 1e6 * total / steps


def agent_steps(variant: str, opponent: str, seconds: float) -> float:
    """Single-agent env steps/s (each step includes the opponents' moves), random agent."""
    env = BlokusEnv(variant, opponent=opponent, seed=0)
    rng = np.random.default_rng(0)
    env.reset()  # compile / warm up the opponent's kernels outside the timed loop
    env.step(int(np.flatnonzero(env.action_masks())[0]))
    steps = 0
    start = time.process_time()
    while time.process_time() - start < seconds:
        env.reset()
        done = False
        while not done:
            legal = np.flatnonzero(env.action_masks())
            _, _, done, _, _ = env.step(int(legal[int(rng.random() * len(legal))]))
            steps += 1
    return steps / (time.process_time() - start)


def first_use_times() -> list[tuple[str, str]]:
    """Import / first reset / first step / total seconds in fresh processes, cold then warm."""
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        environ = dict(os.environ, NUMBA_CACHE_DIR=cache)
        for label in ("cold", "warm"):
            out = subprocess.run(
                [sys.executable, "-c", _FIRST_USE], env=environ, check=True, capture_output=True, text=True
            ).stdout.split()
            rows.append((label, " / ".join(out)))
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    parser.add_argument("--compile-times", action="store_true", help="also time cold/warm numba start")
    args = parser.parse_args(argv)

    header = (
        f"{'variant':<9}{'engine moves/s':>16}{'env moves/s':>13}{'mask queries/s':>16}{'µs/step':>9}{'moves/game':>12}"
        f"{'agent steps/s vs random':>25}{'vs greedy':>11}"
    )
    print(header)
    print("-" * len(header))
    for variant in ("duo", "classic"):
        engine = engine_random_play(variant, args.seconds)
        env = BlokusTurnEnv(variant)
        random_play(env, 0.2)  # compile / warm up
        moves_s, games = random_play(env, args.seconds)
        per_game = sum(map(len, games)) / len(games)
        queries = mask_queries(env, games[0])
        step = step_us(env, games[:2000])
        vs_random = agent_steps(variant, "random", args.seconds / 2)
        vs_greedy = agent_steps(variant, "greedy", args.seconds / 2)
        print(
            f"{variant:<9}{engine:>16,.0f}{moves_s:>13,.0f}{queries:>16,.0f}{step:>9.2f}{per_game:>12.1f}"
            f"{vs_random:>25,.0f}{vs_greedy:>11,.0f}"
        )
    if args.compile_times:
        print("\nfirst use, seconds: import / env+first reset / first step / total")
        for label, times in first_use_times():
            print(f"{label:<6}{times}")


if __name__ == "__main__":
    main()
