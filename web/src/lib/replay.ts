/**
 * Shaping a stored evaluation game for the replay viewer: the cells of each move, the score after
 * each move (squares placed per seat), the winner and the move index from the URL. Pure.
 */
import type { GameDetail } from "../api/evaluation";

/** Board cells (row * size + col) covered by each move, in play order. */
export function moveCells(game: Pick<GameDetail, "cells" | "cell_counts">): number[][] {
  const out: number[][] = [];
  let start = 0;
  for (const count of game.cell_counts) {
    out.push(game.cells.slice(start, start + count));
    start += count;
  }
  return out;
}

/** Squares placed per seat after `moves` moves (0: the empty board). */
export function scoreAfter(game: Pick<GameDetail, "seats" | "cell_counts" | "scores">, moves: number): number[] {
  const scores = new Array<number>(game.scores.length).fill(0);
  for (let i = 0; i < Math.min(moves, game.seats.length); i++) scores[game.seats[i]] += game.cell_counts[i];
  return scores;
}

export type GameOutcome = "win" | "loss" | "draw";

/** The agent's result from the final scores: the margin over the best other seat. */
export function outcome(game: Pick<GameDetail, "scores" | "agent_seat">): { result: GameOutcome; margin: number } {
  const own = game.scores[game.agent_seat];
  const best = Math.max(...game.scores.filter((_, i) => i !== game.agent_seat));
  const margin = own - best;
  return { result: margin > 0 ? "win" : margin < 0 ? "loss" : "draw", margin };
}

/** The move shown for a URL's `move` segment: 0..moves, the last move when absent or out of range. */
export function parseMove(value: string | undefined, moves: number): number {
  if (value === undefined || value === "") return moves;
  const n = Number(value);
  if (!Number.isInteger(n)) return moves;
  return Math.min(Math.max(0, n), moves);
}

/** The page of game `n` of a run, at `move` (absent: the final position). */
export function gamePath(runId: string, n: number, move?: number): string {
  const base = `/training/${encodeURIComponent(runId)}/games/${n}`;
  return move === undefined ? base : `${base}/${move}`;
}
