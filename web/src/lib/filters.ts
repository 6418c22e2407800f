/**
 * List-view filters and sort: parsed from and written to the page's URL search params (so a view is
 * shareable and survives reload), and turned into the list endpoint's query parameters.
 * Pure functions; used by pages/RunListPage and api/runs.
 */
import {
  RUN_STATUSES,
  SORT_FIELDS,
  type RunListQuery,
  type RunSort,
  type RunStatus,
  type SortField,
} from "../api/types";

export interface SortSpec {
  field: SortField;
  desc: boolean;
}

export interface ListFilters {
  agent: string;
  status: RunStatus | "";
  algorithm: string;
  /** Case-insensitive substring of run ID or agent ID. */
  q: string;
  /** Local calendar dates, `YYYY-MM-DD`; inclusive on both ends. */
  after: string;
  before: string;
  sort: SortSpec;
  /** 1-based page number. */
  page: number;
}

export const DEFAULT_SORT: SortSpec = { field: "start_time", desc: true };
export const PAGE_SIZE = 50;

export const EMPTY_FILTERS: ListFilters = {
  agent: "",
  status: "",
  algorithm: "",
  q: "",
  after: "",
  before: "",
  sort: DEFAULT_SORT,
  page: 1,
};

const TEXT_SORT_FIELDS: ReadonlySet<SortField> = new Set(["agent_id", "algorithm", "status", "run_id"]);
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

export function parseSort(value: string | null): SortSpec {
  if (!value) return DEFAULT_SORT;
  const desc = value.startsWith("-");
  const field = (desc ? value.slice(1) : value) as SortField;
  return SORT_FIELDS.includes(field) ? { field, desc } : DEFAULT_SORT;
}

export function formatSort(sort: SortSpec): RunSort {
  return sort.desc ? `-${sort.field}` : sort.field;
}

function isValidDate(value: string): boolean {
  const m = DATE_RE.exec(value);
  if (!m) return false;
  const date = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return date.getMonth() === Number(m[2]) - 1 && date.getDate() === Number(m[3]);
}

export function parseFilters(params: URLSearchParams): ListFilters {
  const status = params.get("status") ?? "";
  const after = params.get("after") ?? "";
  const before = params.get("before") ?? "";
  const page = Number.parseInt(params.get("page") ?? "1", 10);
  return {
    agent: params.get("agent")?.trim() ?? "",
    status: (RUN_STATUSES as readonly string[]).includes(status) ? (status as RunStatus) : "",
    algorithm: params.get("algorithm")?.trim() ?? "",
    q: params.get("q") ?? "",
    after: isValidDate(after) ? after : "",
    before: isValidDate(before) ? before : "",
    sort: parseSort(params.get("sort")),
    page: Number.isFinite(page) && page >= 1 ? page : 1,
  };
}

/** Search params for the page URL; defaults are left out so URLs stay short. */
export function filtersToParams(filters: ListFilters): URLSearchParams {
  const params = new URLSearchParams();
  if (filters.agent) params.set("agent", filters.agent);
  if (filters.status) params.set("status", filters.status);
  if (filters.algorithm) params.set("algorithm", filters.algorithm);
  if (filters.q.trim()) params.set("q", filters.q.trim());
  if (filters.after) params.set("after", filters.after);
  if (filters.before) params.set("before", filters.before);
  if (filters.sort.field !== DEFAULT_SORT.field || filters.sort.desc !== DEFAULT_SORT.desc) {
    params.set("sort", formatSort(filters.sort));
  }
  if (filters.page > 1) params.set("page", String(filters.page));
  return params;
}

export function hasActiveFilters(filters: ListFilters): boolean {
  return Boolean(
    filters.agent || filters.status || filters.algorithm || filters.q.trim() || filters.after || filters.before,
  );
}

/** Clicking a column header: flip the direction of the current column, else its natural default. */
export function toggleSort(current: SortSpec, field: SortField): SortSpec {
  if (current.field === field) return { field, desc: !current.desc };
  return { field, desc: !TEXT_SORT_FIELDS.has(field) };
}

/** At most this many runs are compared at once. */
export const MAX_COMPARE = 8;

/** `a,b,,a` → `["a", "b"]`: the comparison page's `runs` search param, deduplicated and capped. */
export function parseRunIds(value: string | null, max = MAX_COMPARE): string[] {
  const ids = (value ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  return [...new Set(ids)].slice(0, max);
}

/** Start of a local calendar day as an ISO-8601 UTC instant. */
export function localDayStart(date: string, addDays = 0): string {
  const m = DATE_RE.exec(date);
  if (!m) throw new Error(`not a YYYY-MM-DD date: ${date}`);
  return new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + addDays).toISOString();
}

/** The list endpoint's query parameters for these filters (the "before" day is included). */
export function toListQuery(filters: ListFilters, pageSize = PAGE_SIZE): RunListQuery {
  const query: RunListQuery = {
    sort: formatSort(filters.sort),
    limit: pageSize,
    offset: (filters.page - 1) * pageSize,
  };
  if (filters.agent) query.agent_id = filters.agent;
  if (filters.status) query.status = filters.status;
  if (filters.algorithm) query.algorithm = filters.algorithm;
  if (filters.q.trim()) query.q = filters.q.trim();
  if (filters.after) query.started_after = localDayStart(filters.after);
  if (filters.before) query.started_before = localDayStart(filters.before, 1);
  return query;
}
