import { describe, expect, it } from "vitest";
import type { RunStats, RunSummary } from "../api/types";
import { formatDateTime } from "./format";
import { durationText, finalMetric, formatFinalMetric, LIST_COLUMNS, listCsv, toRunRow } from "./runView";

const stats: RunStats = {
  episodes: 120,
  last_episode: 120,
  timesteps: 5000,
  reward_sum: 150,
  mean_reward: 1.25,
  max_reward: 9,
  min_reward: -3,
  last_reward: 2,
  final_win_rate: null,
  wins: 0,
};

function summary(over: Partial<RunSummary> = {}): RunSummary {
  return {
    id: "1",
    run_id: "550e8400-e29b-41d4-a716-446655440000",
    agent_id: "ppo_agent",
    algorithm: "MaskablePPO",
    status: "completed",
    start_time: "2024-01-01T00:00:00Z",
    end_time: "2024-01-01T02:30:00Z",
    duration_seconds: 9000,
    summary: stats,
    metrics: { episodes: [], rolling_win_rate: [] },
    metadata: {},
    ...over,
  };
}

describe("finalMetric", () => {
  it("prefers the final win rate when wins are recorded", () => {
    expect(finalMetric({ ...stats, final_win_rate: 0.6, wins: 72 })).toEqual({ kind: "win_rate", value: 0.6 });
  });
  it("falls back to the average reward", () => {
    expect(finalMetric(stats)).toEqual({ kind: "mean_reward", value: 1.25 });
  });
  it("is null before the first episode", () => {
    expect(finalMetric({ ...stats, episodes: 0, mean_reward: null })).toBeNull();
  });
  it("formats both kinds", () => {
    expect(formatFinalMetric({ kind: "win_rate", value: 0.6 })).toBe("60.0% win rate");
    expect(formatFinalMetric({ kind: "mean_reward", value: -3.2 })).toBe("-3.20 avg reward");
    expect(formatFinalMetric(null)).toBe("—");
  });
});

describe("durationText", () => {
  it("shows the stored duration of finished runs", () => {
    expect(durationText(toRunRow(summary()), 0)).toBe("2h 30m 0s");
  });
  it("shows Running... and the elapsed time of running runs", () => {
    const row = toRunRow(summary({ status: "running", end_time: null, duration_seconds: null }));
    expect(durationText(row, Date.UTC(2024, 0, 1, 0, 5, 3))).toBe("Running... 5m 3s");
  });
});

describe("listCsv", () => {
  it("exports the shown columns and rows, with the full run ID", () => {
    const rows = [
      toRunRow(summary()),
      toRunRow(
        summary({
          run_id: "r2",
          agent_id: "dqn, v2",
          status: "failed",
          summary: { ...stats, final_win_rate: 0.5, wins: 3 },
        }),
      ),
    ];
    const csv = listCsv(rows, 0).split("\r\n");
    expect(csv[0]).toBe(LIST_COLUMNS.map((c) => c.label).join(","));
    expect(csv[0]).toBe("Run ID,Agent / Algorithm,Start Time,Duration,Episodes,Final Metric,Status");
    const start = formatDateTime(new Date(Date.UTC(2024, 0, 1))); // local time, as shown
    expect(csv[1]).toBe(
      `550e8400-e29b-41d4-a716-446655440000,ppo_agent / MaskablePPO,${start},2h 30m 0s,120,1.25 avg reward,completed`,
    );
    expect(csv[2]).toContain('r2,"dqn, v2 / MaskablePPO"');
    expect(csv[2]).toContain(",50.0% win rate,failed");
    expect(csv).toHaveLength(4); // header, two rows, trailing empty after the last CRLF
  });
});

describe("isLost", () => {
  it("marks a failed run with the Lost verdict, not other failures or running runs", () => {
    const lost = { type: "Lost", message: "no heartbeat for more than 120 s", source: "api" };
    expect(toRunRow(summary({ status: "failed", metadata: { error: lost } })).lost).toBe(true);
    expect(toRunRow(summary({ status: "failed", metadata: { error: { type: "ValueError" } } })).lost).toBe(false);
    expect(toRunRow(summary({ status: "running", metadata: { error: lost } })).lost).toBe(false);
  });
});
