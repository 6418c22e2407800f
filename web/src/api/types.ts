/**
 * Wire types (the JSON the API sends, from the OpenAPI-generated schema) and the normalised run
 * types the rest of the UI uses. The generated types mark every field that has a server-side default
 * as optional; `normalize.ts` fills those defaults once, in the fetch layer, so components never
 * deal with "absent vs empty". View types for tables and charts are built from these in `src/lib/`.
 *
 * Nested types are derived through the response structure rather than by schema name, so a renamed
 * helper model on the API side does not break the UI.
 */
import { runSortValues, runStatusValues, type components, type paths } from "./schema.gen";

type Schemas = components["schemas"];

export type WireRunSummary = Schemas["RunSummary"];
export type WireRunDetail = Schemas["RunDetail"];
export type AgentList = Schemas["AgentList"];
/** A checkpoint file on the shared volume, with the URL that downloads it. */
export type CheckpointFile = Schemas["CheckpointFile"];

export type RunStatus = WireRunSummary["status"];
export type RunStats = WireRunSummary["summary"];
export type Episode = NonNullable<WireRunDetail["metrics"]["episodes"]>[number];
export type WinRatePoint = NonNullable<WireRunDetail["metrics"]["rolling_win_rate"]>[number];
export type Checkpoint = NonNullable<WireRunDetail["checkpoint_paths"]>[number];
export type RunEvaluation = NonNullable<WireRunDetail["evaluations"]>[number];
/** A per-episode or per-rollout metric's declaration (built-in or custom): name, type, unit, description, aggregation. */
export type MetricSpec = NonNullable<WireRunDetail["metric_specs"]>[number];

type Defaulted = "end_time" | "duration_seconds" | "metadata" | "metrics";

/** A run as listed: wire fields with their defaults filled in. */
export interface RunSummary extends Omit<WireRunSummary, Defaulted> {
  end_time: string | null;
  duration_seconds: number | null;
  metadata: Record<string, unknown>;
  /** In list responses only the newest episode and win rate. */
  metrics: { episodes: Episode[]; rolling_win_rate: WinRatePoint[] };
}

/** One run with its (possibly downsampled) series, configuration and checkpoints. */
export interface RunDetail extends Omit<RunSummary, "metrics"> {
  config: Record<string, unknown>;
  /** The run's per-episode metrics, built-in then custom; charts and Compare iterate over these. */
  metric_specs: MetricSpec[];
  checkpoint_paths: Checkpoint[];
  /** Every evaluation of the run, newest last (empty when none), and the newest one. */
  evaluations: RunEvaluation[];
  evaluation: RunEvaluation | null;
  metrics: {
    episodes: Episode[];
    rolling_win_rate: WinRatePoint[];
    downsampled: boolean;
    /** Episodes per point; 1 when raw. */
    resolution: number;
  };
}

/** Payload of the `episodes` server-sent event: only the episodes new since the last event. */
export interface EpisodesEvent {
  episodes?: Episode[];
  rolling_win_rate?: WinRatePoint[];
}

/** Every run status, from the generated schema. */
export const RUN_STATUSES: readonly RunStatus[] = runStatusValues;

/** The list endpoint's `sort` values: a field, or `-` and a field for descending (generated). */
export type RunSort = Schemas["RunSort"];
/** Fields the list endpoint sorts by. */
export type SortField = Exclude<RunSort, `-${string}`>;
export const SORT_FIELDS: readonly SortField[] = runSortValues.filter((s): s is SortField => !s.startsWith("-"));

/** Formats of a run's export download. */
export type ExportFormat = NonNullable<
  NonNullable<paths["/api/training-runs/{run_id}/export"]["get"]["parameters"]["query"]>["format"]
>;

/** The list endpoint's query parameters (the API's `RunListQuery`). */
export type RunListQuery = NonNullable<paths["/api/training-runs"]["get"]["parameters"]["query"]>;
