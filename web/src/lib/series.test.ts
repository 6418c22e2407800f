import { describe, expect, it } from "vitest";
import type { Episode } from "../api/types";
import { alignSeries, appendByEpisode, lastEpisode, timestepIndex } from "./series";

const raw: Episode[] = [
  { episode: 1, total_reward: 1.5, steps: 10, win: true, timestep: 10 },
  { episode: 2, total_reward: -0.5, steps: 12, win: false, timestep: 22 },
  { episode: 3, total_reward: 3, steps: 8, win: true, timestep: 30 },
];

describe("timestepIndex", () => {
  it("maps episode numbers to timesteps", () => {
    expect([...timestepIndex(raw)]).toEqual([
      [1, 10],
      [2, 22],
      [3, 30],
    ]);
  });
});

describe("appendByEpisode", () => {
  it("appends only points past the last known episode", () => {
    const out = appendByEpisode(raw, [
      { episode: 3, total_reward: 99, steps: 1 },
      { episode: 4, total_reward: 4, steps: 1 },
      { episode: 5, total_reward: 5, steps: 1 },
    ]);
    expect(out.map((e) => e.episode)).toEqual([1, 2, 3, 4, 5]);
    expect(out[2].total_reward).toBe(3);
  });

  it("returns the same array when nothing is new", () => {
    expect(appendByEpisode(raw, [raw[0]])).toBe(raw);
  });

  it("appends to an empty history", () => {
    expect(appendByEpisode([], raw)).toEqual(raw);
  });
});

describe("lastEpisode", () => {
  it("is the highest episode, 0 when empty", () => {
    expect(lastEpisode(raw)).toBe(3);
    expect(lastEpisode([])).toBe(0);
  });
});

describe("alignSeries", () => {
  it("joins series on the union of x values with nulls for gaps", () => {
    const out = alignSeries([
      { x: [1, 2, 4], y: [10, 20, 40] },
      { x: [2, 3], y: [0.2, 0.3] },
    ]);
    expect(out.x).toEqual([1, 2, 3, 4]);
    expect(out.ys).toEqual([
      [10, 20, null, 40],
      [null, 0.2, 0.3, null],
    ]);
  });

  it("returns empty arrays for no points", () => {
    expect(alignSeries([{ x: [], y: [] }])).toEqual({ x: [], ys: [[]] });
  });
});
