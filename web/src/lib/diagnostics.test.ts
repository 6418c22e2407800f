import { describe, expect, it } from "vitest";
import { spec } from "./specFixture";
import type { Evaluation, Rollout } from "../api/evaluation";
import {
  compareEvaluationCurves,
  curveSeries,
  diagnosticCharts,
  evaluationCurves,
  evaluationHistory,
  invalidActions,
  rolloutSeries,
  stepsPerSecond,
  timestepRange,
} from "./diagnostics";

const rollout = (n: number, timestep: number, extra: Partial<Rollout> = {}): Rollout => ({
  rollout: n,
  timestep,
  invalid_actions: 0,
  episodes: 1,
  opponents: {},
  ...extra,
});

function evaluation(id: string, timestep: number, time: string, rates: Record<string, number>): Evaluation {
  return {
    id,
    checkpoint: `ck-${timestep}`,
    timestep,
    env_id: "trainyard/BlokusDuo-v0",
    variant: "duo",
    seed: 0,
    time,
    deterministic: true,
    first_game: 1,
    last_game: 20,
    trigger: "periodic",
    results: Object.entries(rates).map(([opponent, rate], i) => ({
      opponent,
      games: 10,
      wins: rate * 10,
      draws: 0,
      losses: 10 - rate * 10,
      win_rate: rate,
      win_rate_ci: { low: rate - 0.2, high: rate + 0.1 },
      mean_score_margin: 1,
      score_margin_ci: { low: 0, high: 2 },
      first_game: 1 + i * 10,
    })),
  };
}

describe("rolloutSeries", () => {
  it("orders rollouts by timestep and keeps missing values as gaps", () => {
    const s = rolloutSeries(
      [rollout(2, 200, { entropy: 1.5 }), rollout(1, 100, { entropy: 2 }), rollout(3, 300)],
      "entropy",
    );
    expect(s.x).toEqual([100, 200, 300]);
    expect(s.y).toEqual([2, 1.5, null]);
  });

  it("uses stored steps/s, else derives it from consecutive rollouts", () => {
    const rs = [
      rollout(1, 100, { time: "2026-01-01T00:00:00Z" }),
      rollout(2, 300, { time: "2026-01-01T00:00:02Z" }),
      rollout(3, 400, { time: "2026-01-01T00:00:03Z", steps_per_second: 55 }),
    ];
    expect(stepsPerSecond(rs)).toEqual([null, 100, 55]);
  });
});

describe("diagnosticCharts", () => {
  it("draws a chart per declared metric with values, custom ones from the rollouts' metrics", () => {
    const specs = [
      spec("entropy", { unit: "nats" }),
      spec("value_loss"),
      spec("invalid_actions", { type: "int" }),
      spec("grad_norm", { builtin: false }),
      spec("never_logged", { builtin: false }),
    ];
    const rs = [
      rollout(2, 200, { entropy: 1.5, metrics: { grad_norm: 0.3 } }),
      rollout(1, 100, { entropy: 2, metrics: { grad_norm: 0.1 } }),
    ];
    const charts = diagnosticCharts(specs, rs);
    // value_loss and never_logged have no value: no chart; invalid actions always has one.
    expect(charts.map((c) => c.spec.name)).toEqual(["entropy", "invalid_actions", "grad_norm"]);
    expect(charts[2].series).toEqual({ x: [100, 200], y: [0.1, 0.3] });
    expect(charts[1].series.y).toEqual([0, 0]);
  });
});

describe("invalidActions", () => {
  it("sums invalid actions and names the rollouts that had any", () => {
    expect(
      invalidActions([rollout(1, 1), rollout(2, 2, { invalid_actions: 3 }), rollout(3, 3, { invalid_actions: 1 })]),
    ).toEqual({ total: 4, rollouts: [2, 3] });
    expect(invalidActions([rollout(1, 1)]).total).toBe(0);
  });
});

describe("evaluationCurves", () => {
  it("gives one point per timestep and opponent, the newest evaluation of a timestep winning", () => {
    const curves = evaluationCurves([
      evaluation("b", 2000, "2026-01-01T00:02:00Z", { random: 0.8, greedy: 0.3 }),
      evaluation("a", 1000, "2026-01-01T00:01:00Z", { random: 0.5, greedy: 0.1 }),
      evaluation("c", 2000, "2026-01-01T00:05:00Z", { random: 0.9 }),
    ]);
    expect([...curves.keys()]).toEqual(["greedy", "random"]);
    expect(curves.get("random")!.map((p) => [p.timestep, p.winRate, p.evaluationId])).toEqual([
      [1000, 0.5, "a"],
      [2000, 0.9, "c"],
    ]);
    expect(curves.get("greedy")!.map((p) => p.winRate)).toEqual([0.1, 0.3]);
    const s = curveSeries(curves.get("greedy")!);
    expect(s.band).toEqual({ min: [0.1 - 0.2, 0.3 - 0.2], max: [0.1 + 0.1, 0.3 + 0.1] });
  });

  it("lists the history newest first", () => {
    const h = evaluationHistory([
      evaluation("a", 1, "2026-01-01T00:01:00Z", {}),
      evaluation("b", 2, "2026-01-01T00:03:00Z", {}),
    ]);
    expect(h.map((e) => e.id)).toEqual(["b", "a"]);
  });
});

describe("compareEvaluationCurves", () => {
  it("gives every run a line per opponent any run was evaluated against", () => {
    const out = compareEvaluationCurves([
      { id: "r1", evaluations: [evaluation("a", 100, "2026-01-01T00:00:00Z", { random: 0.5 })] },
      { id: "r2", evaluations: [evaluation("b", 200, "2026-01-01T00:00:00Z", { random: 0.7, greedy: 0.2 })] },
    ]);
    expect(out.map((o) => o.opponent)).toEqual(["greedy", "random"]);
    expect(out[0].runs.map((r) => [r.run.id, r.series.x])).toEqual([
      ["r1", []],
      ["r2", [200]],
    ]);
    expect(out[1].runs.map((r) => r.series.y)).toEqual([[0.5], [0.7]]);
  });
});

describe("timestepRange", () => {
  it("draws a lone evaluation at the end of an axis that starts at 0", () => {
    expect(timestepRange(600_064, 600_064)).toEqual([0, 600_064]);
    expect(timestepRange(0, 0)).toEqual([0, 1]);
  });
  it("keeps the data's range when there are several evaluations", () => {
    expect(timestepRange(50_000, 300_000)).toEqual([50_000, 300_000]);
  });
});
