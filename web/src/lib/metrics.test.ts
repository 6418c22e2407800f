import { describe, expect, it } from "vitest";
import { spec } from "./specFixture";
import type { Episode, WinRatePoint } from "../api/types";
import {
  axisLabel,
  chartedSpecs,
  isPercent,
  metricLabel,
  metricSeries,
  pointsOf,
  unionSpecs,
  unitLabel,
  withUndeclared,
} from "./metrics";

const raw: Episode[] = [
  { episode: 1, total_reward: 1.5, steps: 10, win: true, timestep: 10, opponent_score: 4 },
  { episode: 2, total_reward: -0.5, steps: 12, win: false, timestep: 22, opponent_score: 6 },
  { episode: 3, total_reward: 3, steps: 8, win: true, timestep: 30 },
];

const downsampled: Episode[] = [
  { episode: 100, total_reward: 2, steps: 9, total_reward_min: -1, total_reward_max: 5, count: 100, timestep: 900 },
  { episode: 200, total_reward: 3, steps: 9, total_reward_min: 0, total_reward_max: 7, count: 100, timestep: 1800 },
];

describe("metricSeries", () => {
  it("builds x = episode and y = the named metric, no band for raw points", () => {
    expect(metricSeries(raw, "total_reward")).toEqual({ x: [1, 2, 3], y: [1.5, -0.5, 3] });
  });

  it("reads custom metrics by name, null where an episode lacks one", () => {
    expect(metricSeries(raw, "opponent_score")).toEqual({ x: [1, 2, 3], y: [4, 6, null] });
  });

  it("uses timesteps on the timestep axis and drops points without one", () => {
    const eps: Episode[] = [...raw, { episode: 4, total_reward: 9, steps: 1 }];
    expect(metricSeries(eps, "total_reward", "timestep", eps)).toEqual({ x: [10, 22, 30], y: [1.5, -0.5, 3] });
  });

  it("builds the min/max band from downsampled points' <name>_min/<name>_max", () => {
    expect(metricSeries(downsampled, "total_reward")).toEqual({
      x: [100, 200],
      y: [2, 3],
      band: { min: [-1, 0], max: [5, 7] },
    });
  });

  it("falls back to the value for band edges of raw points mixed in (live appends)", () => {
    const mixed = [...downsampled, { episode: 201, total_reward: 4, steps: 9 }];
    expect(metricSeries(mixed, "total_reward").band).toEqual({ min: [-1, 0, 4], max: [5, 7, 4] });
  });

  it("sorts out-of-order points by x", () => {
    expect(metricSeries([raw[2], raw[0], raw[1]], "total_reward")).toEqual({ x: [1, 2, 3], y: [1.5, -0.5, 3] });
  });

  it("takes the win rate from its own list, mapped to timesteps through the episodes", () => {
    const wr: WinRatePoint[] = [
      { episode: 1, win_rate: 1 },
      { episode: 2, win_rate: 0.5, win_rate_min: 0.2, win_rate_max: 0.6 },
    ];
    const points = pointsOf("win_rate", raw, wr);
    expect(metricSeries(points, "win_rate", "timestep", raw)).toEqual({
      x: [10, 22],
      y: [1, 0.5],
      band: { min: [1, 0.2], max: [1, 0.6] },
    });
  });
});

describe("chart declarations", () => {
  it("charts numeric metrics the declaration does not exclude, in declaration order", () => {
    const specs = [
      spec("total_reward"),
      spec("win", { type: "bool", chart: false }),
      spec("timestep", { chart: false }),
      spec("opponent_score", { builtin: false }),
    ];
    expect(chartedSpecs(specs).map((s) => s.name)).toEqual(["total_reward", "opponent_score"]);
  });

  it("titles, units and axis labels come from the declaration", () => {
    expect(metricLabel("opponent_score")).toBe("Opponent score");
    expect(unitLabel(spec("opponent_score", { unit: "points" }))).toBe("points");
    expect(axisLabel(spec("opponent_score", { unit: "points" }))).toBe("points");
    expect(axisLabel(spec("epsilon"))).toBe("Epsilon");
    const rate = spec("win_rate", { unit: "fraction" });
    expect([isPercent(rate), unitLabel(rate), axisLabel(rate)]).toEqual([true, "%", "Win rate"]);
  });

  it("adds a default declaration for a metric the newest point carries but the run has not declared yet", () => {
    const points: Episode[] = [{ episode: 7, total_reward: 1, steps: 2, count: 3, total_reward_min: 0, moves: 12 }];
    const specs = withUndeclared([spec("total_reward"), spec("steps")], points);
    expect(specs.map((s) => [s.name, s.builtin])).toEqual([
      ["total_reward", true],
      ["steps", true],
      ["moves", false],
    ]);
  });

  it("unites several runs' metrics for Compare, each name once", () => {
    const a = [spec("total_reward"), spec("epsilon")];
    const b = [spec("total_reward"), spec("opponent_score", { unit: "points" })];
    expect(unionSpecs([a, b]).map((s) => s.name)).toEqual(["total_reward", "epsilon", "opponent_score"]);
  });
});
