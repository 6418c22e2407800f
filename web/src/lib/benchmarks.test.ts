import { describe, expect, it } from "vitest";
import type { BenchmarkEntry } from "../api/evaluation";
import { budgetSections, configSummary } from "./benchmarks";

const entry = (rank: number, agent: string, budget: number | null, rate: number): BenchmarkEntry => ({
  rank,
  group: `${agent}-${budget}`,
  agent_id: agent,
  total_timesteps: budget,
  config: {},
  mean_win_rate: rate,
  ci: { low: rate - 0.1, high: rate + 0.1 },
  ci_method: "wilson",
  seeds: 1,
  seed_values: [0],
  run_ids: [`${agent}-run`],
  win_rates: [rate],
  mean_score_margin: 0,
  games: 10,
  timesteps: [budget ?? 0],
});

describe("budgetSections", () => {
  it("never ranks different budgets together and renumbers ranks per budget", () => {
    const sections = budgetSections([
      entry(1, "big", 100_000, 0.9),
      entry(2, "a", 2048, 0.6),
      entry(3, "b", 100_000, 0.5),
      entry(4, "c", 2048, 0.4),
      entry(5, "d", null, 0.1),
    ]);
    expect(sections.map((s) => s.budget)).toEqual([2048, 100_000, null]);
    expect(sections[0].entries.map((e) => [e.agent_id, e.budgetRank])).toEqual([
      ["a", 1],
      ["c", 2],
    ]);
    expect(sections[1].entries.map((e) => [e.agent_id, e.budgetRank])).toEqual([
      ["big", 1],
      ["b", 2],
    ]);
  });

  it("summarises the learning setup of a group", () => {
    expect(configSummary({ opponent: "random", learning_rate: 0.0003, checkpoint_dir: "x" })).toBe(
      "opponent=random · learning_rate=0.0003",
    );
  });
});
