/**
 * Query options and hooks for training runs: the list, one run's detail (optionally a zoomed episode
 * range), several runs for comparison, the agent list, and the URLs of the export downloads.
 * Built on the generated client in `client.ts`; pages import from here and never build URLs.
 */
import { keepPreviousData, queryOptions, useQueries, useQuery } from "@tanstack/react-query";
import type { ListFilters } from "../lib/filters";
import { toListQuery } from "../lib/filters";
import { api, ApiError, apiUrl, shouldRetry, unwrap } from "./client";
import { normalizeDetail, normalizeSummary } from "./normalize";
import type { AgentList, CheckpointFile, ExportFormat, RunDetail, RunListQuery, RunSummary } from "./types";

/** While any shown run is running, rows refresh this often. */
export const LIVE_REFRESH_MS = 2000;
/** Otherwise the list still refreshes slowly, so new runs and database outages show up. */
export const IDLE_REFRESH_MS = 10_000;

export interface RunList {
  runs: RunSummary[];
  /** Runs matching the filters (X-Total-Count), not just this page. */
  total: number;
}

/** An episode window of a run's metrics; absent bounds mean "from the start" / "to the end". */
export interface EpisodeRange {
  fromEpisode?: number;
  toEpisode?: number;
  maxPoints?: number;
}

export const runKeys = {
  all: ["training-runs"] as const,
  list: (query: RunListQuery) => ["training-runs", "list", query] as const,
  details: (runId: string) => ["training-runs", "detail", runId] as const,
  detail: (runId: string, range: EpisodeRange | null) => ["training-runs", "detail", runId, range ?? {}] as const,
  agents: () => ["training-runs", "agents"] as const,
  checkpointFiles: (runId: string) => ["training-runs", "checkpoint-files", runId] as const,
};

const runPath = (runId: string) => ({ path: { run_id: runId } });

export function runListOptions(query: RunListQuery) {
  return queryOptions({
    queryKey: runKeys.list(query),
    queryFn: async ({ signal }): Promise<RunList> => {
      const { data, headers } = await unwrap(api.GET("/api/training-runs", { params: { query }, signal }), signal);
      const total = Number.parseInt(headers.get("X-Total-Count") ?? "", 10);
      return { runs: data.map(normalizeSummary), total: Number.isFinite(total) ? total : data.length };
    },
  });
}

export function runDetailOptions(runId: string, range: EpisodeRange | null = null) {
  return queryOptions({
    queryKey: runKeys.detail(runId, range),
    queryFn: async ({ signal }): Promise<RunDetail> => {
      const query = { max_points: range?.maxPoints, from_episode: range?.fromEpisode, to_episode: range?.toEpisode };
      const request = api.GET("/api/training-runs/{run_id}", { params: { ...runPath(runId), query }, signal });
      const { data } = await unwrap(request, signal);
      return normalizeDetail(data);
    },
  });
}

export function agentsOptions() {
  return queryOptions({
    queryKey: runKeys.agents(),
    queryFn: async ({ signal }): Promise<AgentList> =>
      (await unwrap(api.GET("/api/training-runs/agents/list", { signal }), signal)).data,
    staleTime: 60_000,
  });
}

/**
 * Checkpoint files of a run on the shared volume (each with its download URL). The API answers 404
 * when no volume is mounted: that is "no files", not an error worth retrying.
 */
export function checkpointFilesOptions(runId: string) {
  return queryOptions({
    queryKey: runKeys.checkpointFiles(runId),
    queryFn: async ({ signal }): Promise<CheckpointFile[]> =>
      (await unwrap(api.GET("/api/training-runs/{run_id}/checkpoints", { params: runPath(runId), signal }), signal))
        .data,
    retry: (count, error) => !(error instanceof ApiError && error.isNotFound) && shouldRetry(count, error),
    staleTime: 30_000,
  });
}

const anyRunning = (list: RunList | undefined) => Boolean(list?.runs.some((r) => r.status === "running"));

/** The list for the page's filters; keeps showing the previous rows while new filters load. */
export function useRunList(filters: ListFilters) {
  return useQuery({
    ...runListOptions(toListQuery(filters)),
    placeholderData: keepPreviousData,
    refetchInterval: (query) => (anyRunning(query.state.data) ? LIVE_REFRESH_MS : IDLE_REFRESH_MS),
  });
}

export function useAgents() {
  return useQuery(agentsOptions());
}

/** A run's detail; with a range, the finer metrics of that episode window (previous window shown meanwhile). */
export function useRunDetail(runId: string, range: EpisodeRange | null = null, enabled = true) {
  return useQuery({
    ...runDetailOptions(runId, range),
    enabled,
    placeholderData: range ? keepPreviousData : undefined,
  });
}

export function useCheckpointFiles(runId: string, enabled: boolean) {
  return useQuery({ ...checkpointFilesOptions(runId), enabled });
}

/** Points per run requested for the comparison overlay. */
export const COMPARE_MAX_POINTS = 1000;

export interface CompareRuns {
  /** Per requested run ID, in order: its detail once loaded. */
  runs: (RunDetail | undefined)[];
  errors: unknown[];
  failureReasons: unknown[];
  pending: boolean;
}

// Module-level so TanStack re-runs it only when a query result changes.
function combineCompare(
  results: { data?: RunDetail; error: unknown; failureReason: unknown; isPending: boolean }[],
): CompareRuns {
  return {
    runs: results.map((r) => r.data),
    errors: results.map((r) => r.error),
    failureReasons: results.map((r) => r.failureReason),
    pending: results.some((r) => r.isPending),
  };
}

export function useCompareRuns(runIds: readonly string[]): CompareRuns {
  return useQueries({
    queries: runIds.map((id) => runDetailOptions(id, { maxPoints: COMPARE_MAX_POINTS })),
    combine: combineCompare,
  });
}

export function runExportUrl(runId: string, format: ExportFormat): string {
  return apiUrl("/api/training-runs/{run_id}/export", { ...runPath(runId), query: { format } });
}

export function runStreamUrl(runId: string, sinceEpisode: number): string {
  return apiUrl("/api/training-runs/{run_id}/stream", { ...runPath(runId), query: { since_episode: sinceEpisode } });
}
