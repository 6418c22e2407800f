/**
 * Shaping an Elo ladder for its page: the leaderboard (best first) and the head-to-head matrix of
 * win rates (row player's score against the column player, draws counting half). Pure.
 */
import type { Ladder, LadderPlayer } from "../api/evaluation";

export function leaderboard(ladder: Ladder): (LadderPlayer & { rank: number; anchor: boolean })[] {
  return [...ladder.players]
    .sort((a, b) => b.rating - a.rating)
    .map((p, i) => ({ ...p, rank: i + 1, anchor: p.name === ladder.anchor }));
}

export interface HeadToHeadCell {
  /** Row player's score share against the column player, or null when they did not meet. */
  score: number | null;
  games: number;
  wins: number;
  draws: number;
  losses: number;
}

/** Matrix in leaderboard order: `cells[r][c]` is row player r against column player c. */
export function headToHead(ladder: Ladder): { players: string[]; cells: HeadToHeadCell[][] } {
  const order = leaderboard(ladder).map((p) => p.name);
  const index = new Map(ladder.players.map((p, i) => [p.name, i]));
  const empty = (): HeadToHeadCell => ({ score: null, games: 0, wins: 0, draws: 0, losses: 0 });
  const byPair = new Map<string, HeadToHeadCell>();
  const add = (a: number, b: number, games: number, wins: number, draws: number, losses: number) => {
    const key = `${a}:${b}`;
    const cell = byPair.get(key) ?? empty();
    cell.games += games;
    cell.wins += wins;
    cell.draws += draws;
    cell.losses += losses;
    cell.score = cell.games ? (cell.wins + cell.draws / 2) / cell.games : null;
    byPair.set(key, cell);
  };
  for (const p of ladder.pairings) {
    const draws = p.draws ?? 0;
    add(p.a, p.b, p.games, p.wins, draws, p.losses);
    add(p.b, p.a, p.games, p.losses, draws, p.wins);
  }
  const cells = order.map((row) => order.map((col) => byPair.get(`${index.get(row)}:${index.get(col)}`) ?? empty()));
  return { players: order, cells };
}
