/**
 * Fills the defaults the OpenAPI schema leaves optional (empty lists and objects, nulls), turning
 * wire responses into `RunSummary` / `RunDetail`. Pure; called by runs.ts and stream.ts.
 */
import type { RunDetail, RunSummary, WireRunDetail, WireRunSummary } from "./types";

export function normalizeSummary(wire: WireRunSummary): RunSummary {
  return {
    ...wire,
    end_time: wire.end_time ?? null,
    duration_seconds: wire.duration_seconds ?? null,
    metadata: wire.metadata ?? {},
    metrics: {
      episodes: wire.metrics?.episodes ?? [],
      rolling_win_rate: wire.metrics?.rolling_win_rate ?? [],
    },
  };
}

export function normalizeDetail(wire: WireRunDetail): RunDetail {
  return {
    ...normalizeSummary(wire),
    config: wire.config ?? {},
    metric_specs: wire.metric_specs ?? [],
    checkpoint_paths: wire.checkpoint_paths ?? [],
    evaluations: wire.evaluations ?? [],
    evaluation: wire.evaluation ?? null,
    metrics: {
      episodes: wire.metrics?.episodes ?? [],
      rolling_win_rate: wire.metrics?.rolling_win_rate ?? [],
      downsampled: wire.metrics?.downsampled ?? false,
      resolution: wire.metrics?.resolution ?? 1,
    },
  };
}
