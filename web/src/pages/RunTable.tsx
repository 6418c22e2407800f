/**
 * The runs table: sortable headers, selection checkboxes for comparison, status badges, ticking
 * durations for running runs, and a "View Details" action per row (the whole row opens it too).
 * Column labels and sort fields come from lib/runView's LIST_COLUMNS, shared with the CSV export.
 */
import type { MouseEvent } from "react";
import { Link } from "react-router";
import { CopyButton } from "../components/CopyButton";
import { SkeletonRows } from "../components/Skeleton";
import { StatusBadge } from "../components/StatusBadge";
import type { SortField } from "../api/types";
import { MAX_COMPARE, type SortSpec } from "../lib/filters";
import { elapsedSeconds, formatDateTime, formatDuration, formatInteger, shortId } from "../lib/format";
import { LIST_COLUMNS, formatFinalMetric, type RunRow } from "../lib/runView";

export interface RunTableProps {
  rows: readonly RunRow[];
  loading: boolean;
  sort: SortSpec;
  onSort: (field: SortField) => void;
  selected: ReadonlySet<string>;
  onToggle: (runId: string) => void;
  onOpen: (runId: string) => void;
  now: number;
  detailHref: (runId: string) => string;
  /** Rows are from the previous filters while the new ones load. */
  updating?: boolean;
}

function SortHeader({
  label,
  field,
  sort,
  onSort,
}: {
  label: string;
  field: SortField;
  sort: SortSpec;
  onSort: (f: SortField) => void;
}) {
  const active = sort.field === field;
  const ariaSort = active ? (sort.desc ? "descending" : "ascending") : "none";
  return (
    <th aria-sort={ariaSort} scope="col">
      <button
        type="button"
        className={`sort-button${active ? " sort-button--active" : ""}`}
        onClick={() => onSort(field)}
      >
        {label}
        <span className="sort-button__arrow" aria-hidden="true">
          {active ? (sort.desc ? "▼" : "▲") : "↕"}
        </span>
      </button>
    </th>
  );
}

/** Clicks on controls inside a row do their own thing, not "open the run". */
const fromControl = (target: EventTarget) =>
  target instanceof Element && Boolean(target.closest("a, button, input, label, select"));

export function RunTable({
  rows,
  loading,
  sort,
  onSort,
  selected,
  onToggle,
  onOpen,
  now,
  detailHref,
  updating = false,
}: RunTableProps) {
  const full = selected.size >= MAX_COMPARE;
  const open = (event: MouseEvent, runId: string) => {
    if (fromControl(event.target)) return;
    onOpen(runId);
  };

  return (
    <div className="table-wrap">
      <table
        className={`runs-table${updating ? " runs-table--updating" : ""}`}
        data-testid="runs-table"
        aria-busy={updating || loading}
      >
        <thead>
          <tr>
            <th scope="col" className="col-select">
              <span className="visually-hidden">Select for comparison</span>
            </th>
            {LIST_COLUMNS.map((c) => (
              <SortHeader key={c.key} label={c.label} field={c.sortField} sort={sort} onSort={onSort} />
            ))}
            <th scope="col" className="col-actions">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {loading ? (
            <SkeletonRows rows={6} cols={LIST_COLUMNS.length + 2} />
          ) : (
            rows.map((row) => {
              const checked = selected.has(row.runId);
              return (
                <tr
                  key={row.runId}
                  className={`run-row${checked ? " run-row--selected" : ""}`}
                  data-testid="run-row"
                  data-run-id={row.runId}
                  data-status={row.status}
                  onClick={(e) => open(e, row.runId)}
                >
                  <td className="col-select">
                    <input
                      type="checkbox"
                      checked={checked}
                      disabled={!checked && full}
                      onChange={() => onToggle(row.runId)}
                      aria-label={`Select run ${row.runId} for comparison`}
                      title={!checked && full ? `At most ${MAX_COMPARE} runs can be compared` : undefined}
                      data-testid="select-run"
                    />
                  </td>
                  <td className="col-id">
                    <span className="mono" title={row.runId}>
                      {shortId(row.runId)}
                    </span>
                    <CopyButton text={row.runId} label="Copy run ID" />
                  </td>
                  <td>
                    <div className="cell-main">{row.agentId}</div>
                    <div className="cell-sub">{row.algorithm}</div>
                  </td>
                  <td title={row.startTime}>{formatDateTime(row.startTime)}</td>
                  <td data-testid="duration">
                    {row.status === "running" ? (
                      <>
                        <span className="running-label">Running...</span>{" "}
                        <span className="cell-sub">{formatDuration(elapsedSeconds(row.startTime, now))}</span>
                      </>
                    ) : (
                      formatDuration(row.durationSeconds)
                    )}
                  </td>
                  <td className="num" data-testid="episodes">
                    {formatInteger(row.episodes)}
                  </td>
                  <td className="num">{formatFinalMetric(row.finalMetric)}</td>
                  <td>
                    <StatusBadge status={row.status} lost={row.lost} />
                  </td>
                  <td className="col-actions">
                    <Link to={detailHref(row.runId)} className="button button--small" data-testid="view-details">
                      View Details
                    </Link>
                  </td>
                </tr>
              );
            })
          )}
        </tbody>
      </table>
    </div>
  );
}
