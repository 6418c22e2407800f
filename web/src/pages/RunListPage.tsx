/**
 * `/training`: the training history list. Filters, sort and page live in the URL search params
 * (lib/filters); rows come from api/runs' useRunList (which refreshes every 2 s while a shown run
 * is running). Pick 2–8 runs to compare; export the shown rows as CSV.
 */
import { useMemo, useState } from "react";
import { useNavigate, useSearchParams } from "react-router";
import { useAgents, useRunList } from "../api/runs";
import type { SortField } from "../api/types";
import { ApiStatusBanner } from "../components/ApiStatusBanner";
import { useNow } from "../hooks/useNow";
import {
  EMPTY_FILTERS,
  MAX_COMPARE,
  PAGE_SIZE,
  filtersToParams,
  hasActiveFilters,
  parseFilters,
  toggleSort,
  type ListFilters,
} from "../lib/filters";
import { listCsv, toRunRow } from "../lib/runView";
import { RunFilters } from "./RunFilters";
import { RunTable } from "./RunTable";

const detailHref = (runId: string) => `/training/${encodeURIComponent(runId)}`;

function downloadText(text: string, filename: string, type: string) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function timestampForFile(now: number): string {
  return new Date(now).toISOString().slice(0, 19).replace(/[-:]/g, "").replace("T", "-");
}

export function RunListPage() {
  const [searchParams, setSearchParams] = useSearchParams();
  const filters = useMemo(() => parseFilters(searchParams), [searchParams]);
  const navigate = useNavigate();
  const list = useRunList(filters);
  const agents = useAgents();
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());

  const rows = useMemo(() => (list.data?.runs ?? []).map(toRunRow), [list.data]);
  const algorithms = useMemo(() => [...new Set(rows.map((r) => r.algorithm))].sort(), [rows]);
  const now = useNow(rows.some((r) => r.status === "running"));

  const update = (patch: Partial<ListFilters>, options?: { replace?: boolean }) => {
    const next = { ...filters, ...patch, page: patch.page ?? 1 };
    setSearchParams(filtersToParams(next), { replace: options?.replace });
  };
  const onSort = (field: SortField) => update({ sort: toggleSort(filters.sort, field) }, { replace: true });
  const onToggle = (runId: string) =>
    setSelected((prev) => {
      const next = new Set(prev);
      if (next.has(runId)) next.delete(runId);
      else if (next.size < MAX_COMPARE) next.add(runId);
      return next;
    });
  const compare = () => navigate(`/training/compare?runs=${[...selected].map(encodeURIComponent).join(",")}`);
  const exportCsv = () =>
    downloadText(listCsv(rows, Date.now()), `training-runs-${timestampForFile(Date.now())}.csv`, "text/csv");

  const total = list.data?.total ?? 0;
  const first = (filters.page - 1) * PAGE_SIZE;
  const hardError = list.error;
  const filtered = hasActiveFilters(filters);
  const canCompare = selected.size >= 2 && selected.size <= MAX_COMPARE;

  return (
    <div className="page">
      <title>Training History · Trainyard</title>
      <div className="page__header">
        <div>
          <h1>Training History</h1>
          <p className="muted" data-testid="run-count">
            {list.data
              ? `${total} run${total === 1 ? "" : "s"}${filtered ? " match these filters" : ""}`
              : "Loading runs…"}
          </p>
        </div>
        <div className="page__actions">
          <span className="muted selection-count" aria-live="polite">
            {selected.size > 0 && `${selected.size} selected`}
          </span>
          {selected.size > 0 && (
            <button type="button" className="button button--ghost" onClick={() => setSelected(new Set())}>
              Clear selection
            </button>
          )}
          <button
            type="button"
            className="button button--primary"
            disabled={!canCompare}
            onClick={compare}
            title={canCompare ? "Compare the selected runs" : `Select 2–${MAX_COMPARE} runs to compare`}
            data-testid="compare-button"
          >
            Compare{selected.size > 0 ? ` (${selected.size})` : ""}
          </button>
          <button
            type="button"
            className="button"
            onClick={exportCsv}
            disabled={rows.length === 0}
            data-testid="export-list-csv"
          >
            Export CSV
          </button>
        </div>
      </div>

      <ApiStatusBanner errors={[list.failureReason, agents.failureReason]} />

      <RunFilters
        filters={filters}
        agents={agents.data?.agent_ids ?? []}
        algorithms={algorithms}
        onChange={update}
        onClear={() => setSearchParams(filtersToParams({ ...EMPTY_FILTERS, sort: filters.sort }))}
      />

      {hardError && !list.data ? (
        <div className="banner banner--error" role="alert">
          Could not load runs: {hardError.message}
        </div>
      ) : (
        <>
          {!(list.data && rows.length === 0) && (
            <RunTable
              rows={rows}
              loading={!list.data}
              sort={filters.sort}
              onSort={onSort}
              selected={selected}
              onToggle={onToggle}
              onOpen={(runId) => navigate(detailHref(runId))}
              now={now}
              detailHref={detailHref}
              updating={list.isPlaceholderData}
            />
          )}
          {list.data && rows.length === 0 && (
            <div className="empty-state" data-testid="empty-state">
              {total > 0 ? (
                <>
                  <p>There are no runs on this page.</p>
                  <button type="button" className="button" onClick={() => update({ page: 1 })}>
                    Go to the first page
                  </button>
                </>
              ) : filtered ? (
                <>
                  <p>No runs match these filters.</p>
                  <button
                    type="button"
                    className="button"
                    onClick={() => update({ ...EMPTY_FILTERS, sort: filters.sort })}
                  >
                    Clear filters
                  </button>
                </>
              ) : (
                <p>
                  No runs yet — start one with <code>make dev</code> or{" "}
                  <code>kubectl apply -f examples/trainingrun-smoke.yaml</code>
                </p>
              )}
            </div>
          )}
          {total > PAGE_SIZE && (
            <nav className="pager" aria-label="Pages">
              <button
                type="button"
                className="button button--small"
                disabled={filters.page <= 1}
                onClick={() => update({ page: filters.page - 1 })}
              >
                ← Previous
              </button>
              <span className="muted">
                {first + 1}–{Math.min(first + PAGE_SIZE, total)} of {total}
              </span>
              <button
                type="button"
                className="button button--small"
                disabled={first + PAGE_SIZE >= total}
                onClick={() => update({ page: filters.page + 1 })}
              >
                Next →
              </button>
            </nav>
          )}
        </>
      )}
    </div>
  );
}
