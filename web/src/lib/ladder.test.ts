import { describe, expect, it } from "vitest";
import type { Ladder } from "../api/evaluation";
import { headToHead, leaderboard } from "./ladder";

const player = (name: string, rating: number) => ({
  name,
  kind: name.includes("@") ? "checkpoint" : "builtin",
  rating,
  rating_ci: { low: rating - 50, high: rating + 50 },
  rating_se: 25,
  games: 0,
  wins: 0,
  draws: 0,
  losses: 0,
});

const ladder = {
  id: "l1",
  name: "test",
  env_id: "trainyard/BlokusDuo-v0",
  variant: "duo",
  anchor: "random",
  anchor_rating: 1000,
  games_per_pair: 10,
  seed: 0,
  time: "2026-01-01T00:00:00Z",
  players: [player("run@64", 1100), player("random", 1000), player("greedy", 1300)],
  pairings: [
    { a: 0, b: 1, games: 10, wins: 7, draws: 0, losses: 3 },
    { a: 0, b: 2, games: 10, wins: 2, draws: 2, losses: 6 },
  ],
} as unknown as Ladder;

describe("ladder", () => {
  it("ranks players by rating and marks the anchor", () => {
    expect(leaderboard(ladder).map((p) => [p.rank, p.name, p.anchor])).toEqual([
      [1, "greedy", false],
      [2, "run@64", false],
      [3, "random", true],
    ]);
  });

  it("fills the head-to-head matrix from both sides, draws counting half", () => {
    const { players, cells } = headToHead(ladder);
    expect(players).toEqual(["greedy", "run@64", "random"]);
    expect(cells[1][2]).toMatchObject({ score: 0.7, wins: 7, losses: 3 }); // run vs random
    expect(cells[2][1]).toMatchObject({ score: 0.3, wins: 3, losses: 7 });
    expect(cells[0][1].score).toBeCloseTo(0.7); // greedy vs run: 6 wins, 2 draws of 10
    expect(cells[0][2].score).toBeNull(); // greedy and random did not meet
    expect(cells[0][0].games).toBe(0);
  });
});
