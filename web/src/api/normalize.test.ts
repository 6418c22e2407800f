import { describe, expect, it } from "vitest";
import { normalizeDetail, normalizeSummary } from "./normalize";
import type { WireRunDetail } from "./types";

const stats = { episodes: 0, timesteps: 0, reward_sum: 0, wins: 0, last_episode: 0 };
const minimal: WireRunDetail = {
  id: "1",
  run_id: "r1",
  agent_id: "a",
  algorithm: "PPO",
  status: "running",
  start_time: "2024-01-01T00:00:00Z",
  summary: stats,
  metrics: { downsampled: false, resolution: 1 },
};

describe("normalize", () => {
  it("fills every defaulted field of a detail", () => {
    expect(normalizeDetail(minimal)).toEqual({
      ...minimal,
      end_time: null,
      duration_seconds: null,
      metadata: {},
      config: {},
      metric_specs: [],
      checkpoint_paths: [],
      evaluations: [],
      evaluation: null,
      metrics: { episodes: [], rolling_win_rate: [], downsampled: false, resolution: 1 },
    });
  });

  it("keeps values that are present", () => {
    const run = normalizeSummary({
      ...minimal,
      end_time: "2024-01-01T01:00:00Z",
      duration_seconds: 3600,
      metadata: { node: "n1" },
      metrics: { episodes: [{ episode: 3, total_reward: 1, steps: 2 }] },
    });
    expect(run.end_time).toBe("2024-01-01T01:00:00Z");
    expect(run.duration_seconds).toBe(3600);
    expect(run.metadata).toEqual({ node: "n1" });
    expect(run.metrics).toEqual({ episodes: [{ episode: 3, total_reward: 1, steps: 2 }], rolling_win_rate: [] });
  });
});
