import { describe, expect, it } from "vitest";
import type { Episode, WinRatePoint } from "../api/types";
import { alignSeries, appendByEpisode, lastEpisode, rewardSeries, timestepIndex, winRateSeries } from "./series";

const raw: Episode[] = [
  { episode: 1, total_reward: 1.5, steps: 10, win: true, timestep: 10 },
  { episode: 2, total_reward: -0.5, steps: 12, win: false, timestep: 22 },
  { episode: 3, total_reward: 3, steps: 8, win: true, timestep: 30 },
];

const downsampled: Episode[] = [
  { episode: 100, total_reward: 2, steps: 9, total_reward_min: -1, total_reward_max: 5, count: 100, timestep: 900 },
  { episode: 200, total_reward: 3, steps: 9, total_reward_min: 0, total_reward_max: 7, count: 100, timestep: 1800 },
];

describe("rewardSeries", () => {
  it("builds x = episode, y = total reward and no band for raw points", () => {
    expect(rewardSeries(raw)).toEqual({ x: [1, 2, 3], y: [1.5, -0.5, 3] });
  });

  it("uses timesteps on the timestep axis and drops points without one", () => {
    const eps: Episode[] = [...raw, { episode: 4, total_reward: 9, steps: 1 }];
    expect(rewardSeries(eps, "timestep")).toEqual({ x: [10, 22, 30], y: [1.5, -0.5, 3] });
  });

  it("builds the min/max band from downsampled buckets", () => {
    expect(rewardSeries(downsampled)).toEqual({
      x: [100, 200],
      y: [2, 3],
      band: { min: [-1, 0], max: [5, 7] },
    });
  });

  it("falls back to the mean for band edges of raw points mixed in (live appends)", () => {
    const mixed = [...downsampled, { episode: 201, total_reward: 4, steps: 9 }];
    expect(rewardSeries(mixed).band).toEqual({ min: [-1, 0, 4], max: [5, 7, 4] });
  });

  it("sorts out-of-order points by x", () => {
    const shuffled = [raw[2], raw[0], raw[1]];
    expect(rewardSeries(shuffled)).toEqual({ x: [1, 2, 3], y: [1.5, -0.5, 3] });
  });
});

describe("winRateSeries", () => {
  const wr: WinRatePoint[] = [
    { episode: 1, win_rate: 1 },
    { episode: 2, win_rate: 0.5 },
    { episode: 3, win_rate: 2 / 3 },
  ];

  it("plots win rate over episodes", () => {
    expect(winRateSeries(wr)).toEqual({ x: [1, 2, 3], y: [1, 0.5, 2 / 3] });
  });

  it("maps episodes to timesteps through the episodes list", () => {
    expect(winRateSeries(wr, "timestep", raw.slice(0, 2))).toEqual({ x: [10, 22], y: [1, 0.5] });
  });

  it("builds the band from win_rate_min/max", () => {
    const pts: WinRatePoint[] = [{ episode: 100, win_rate: 0.4, win_rate_min: 0.2, win_rate_max: 0.6 }];
    expect(winRateSeries(pts)).toEqual({ x: [100], y: [0.4], band: { min: [0.2], max: [0.6] } });
  });
});

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
