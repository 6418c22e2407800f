/**
 * View types for runs and the list view's columns, built from wire types by pure functions. The
 * list table (pages/RunListPage) and its CSV export both read `LIST_COLUMNS`, so the export holds
 * exactly the columns shown.
 */
import type { RunStats, RunStatus, RunSummary, SortField } from "../api/types";
import { toCsv } from "./csv";
import { elapsedSeconds, formatDateTime, formatDuration, formatInteger, formatNumber, formatPercent } from "./format";

export type FinalMetric = { kind: "win_rate"; value: number } | { kind: "mean_reward"; value: number };

export interface RunRow {
  runId: string;
  agentId: string;
  algorithm: string;
  status: RunStatus;
  startTime: string;
  endTime: string | null;
  durationSeconds: number | null;
  episodes: number;
  finalMetric: FinalMetric | null;
  /** failed with the Lost verdict: the trainer stopped sending heartbeats */
  lost: boolean;
}

/** A run given the Lost verdict (no heartbeat within the timeout), shown as "lost", not "Running...". */
export function isLost(run: { status: RunStatus; metadata?: Record<string, unknown> | null }): boolean {
  const error = run.metadata?.error as { type?: unknown } | undefined;
  return run.status === "failed" && error?.type === "Lost";
}

/** Final win rate when the run records wins, else the average reward; null before any episode. */
export function finalMetric(stats: RunStats): FinalMetric | null {
  if (stats.final_win_rate !== null && stats.final_win_rate !== undefined) {
    return { kind: "win_rate", value: stats.final_win_rate };
  }
  if (stats.mean_reward !== null && stats.mean_reward !== undefined) {
    return { kind: "mean_reward", value: stats.mean_reward };
  }
  return null;
}

export function formatFinalMetric(metric: FinalMetric | null): string {
  if (!metric) return "—";
  return metric.kind === "win_rate"
    ? `${formatPercent(metric.value)} win rate`
    : `${formatNumber(metric.value)} avg reward`;
}

export function toRunRow(run: RunSummary): RunRow {
  return {
    runId: run.run_id,
    agentId: run.agent_id,
    algorithm: run.algorithm,
    status: run.status,
    startTime: run.start_time,
    endTime: run.end_time ?? null,
    durationSeconds: run.duration_seconds ?? null,
    episodes: run.summary.episodes,
    finalMetric: finalMetric(run.summary),
    lost: isLost(run),
  };
}

/** "Running..." plus the elapsed time for running runs; the stored duration otherwise. */
export function durationText(row: RunRow, now: number): string {
  if (row.status === "running") return `Running... ${formatDuration(elapsedSeconds(row.startTime, now))}`;
  return formatDuration(row.durationSeconds);
}

export interface ListColumn {
  key: string;
  label: string;
  sortField: SortField;
  /** Plain text of the cell, as shown (the run ID in full; the page shortens it visually). */
  text: (row: RunRow, now: number) => string;
}

export const LIST_COLUMNS: readonly ListColumn[] = [
  { key: "run_id", label: "Run ID", sortField: "run_id", text: (r) => r.runId },
  { key: "agent", label: "Agent / Algorithm", sortField: "agent_id", text: (r) => `${r.agentId} / ${r.algorithm}` },
  { key: "start", label: "Start Time", sortField: "start_time", text: (r) => formatDateTime(r.startTime) },
  { key: "duration", label: "Duration", sortField: "duration", text: durationText },
  { key: "episodes", label: "Episodes", sortField: "episodes", text: (r) => formatInteger(r.episodes) },
  {
    key: "final_metric",
    label: "Final Metric",
    sortField: "final_metric",
    text: (r) => formatFinalMetric(r.finalMetric),
  },
  { key: "status", label: "Status", sortField: "status", text: (r) => r.status },
];

/** CSV of the list view: the rows shown, in order, with the shown columns. */
export function listCsv(rows: readonly RunRow[], now: number): string {
  return toCsv(
    LIST_COLUMNS.map((c) => c.label),
    rows.map((row) => LIST_COLUMNS.map((c) => c.text(row, now))),
  );
}
