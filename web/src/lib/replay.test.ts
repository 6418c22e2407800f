import { describe, expect, it } from "vitest";
import { moveCells, outcome, parseMove, scoreAfter } from "./replay";

const game = {
  seats: [0, 1, 0],
  cells: [0, 1, 24, 23, 22, 5],
  cell_counts: [2, 3, 1],
  scores: [3, 3],
  agent_seat: 1,
};

describe("replay", () => {
  it("splits the flat cells into each move's cells", () => {
    expect(moveCells(game)).toEqual([[0, 1], [24, 23, 22], [5]]);
  });

  it("counts squares placed per seat after each move", () => {
    expect(scoreAfter(game, 0)).toEqual([0, 0]);
    expect(scoreAfter(game, 2)).toEqual([2, 3]);
    expect(scoreAfter(game, 3)).toEqual([3, 3]);
  });

  it("names the agent's result by the margin over the best other seat", () => {
    expect(outcome(game)).toEqual({ result: "draw", margin: 0 });
    expect(outcome({ scores: [10, 4], agent_seat: 0 })).toEqual({ result: "win", margin: 6 });
    expect(outcome({ scores: [10, 4], agent_seat: 1 })).toEqual({ result: "loss", margin: -6 });
  });

  it("reads the move from the URL, clamped, defaulting to the final position", () => {
    expect(parseMove(undefined, 30)).toBe(30);
    expect(parseMove("7", 30)).toBe(7);
    expect(parseMove("99", 30)).toBe(30);
    expect(parseMove("-2", 30)).toBe(0);
    expect(parseMove("x", 30)).toBe(30);
  });
});
