/**
 * Charts from metric declarations: which of a run's declared per-episode metrics get a chart, their
 * titles and axis labels, and the series of any metric by name (with the min/max band that
 * downsampled points carry as `<name>_min`/`<name>_max`). A new declaration on the API side (built-in
 * or logged by a training script) gets a chart through these, with no chart code of its own.
 */
import type { Episode, MetricSpec, WinRatePoint } from "../api/types";
import type { MetricSeries, XAxis } from "./series";
import { timestepIndex } from "./series";

/** The unit of a value stored as a fraction and shown as a percentage on a 0–100% axis. */
export const FRACTION_UNIT = "fraction";

/** What a metric's points carry: the metric by name, and its band fields in downsampled points. */
type MetricPoint = { episode: number; timestep?: number | null } & Record<string, unknown>;

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

/**
 * The points that carry a metric. The API sends the rolling win rate as its own list
 * (`metrics.rolling_win_rate`), every other per-episode metric on the episode points.
 */
export function pointsOf(name: string, episodes: readonly Episode[], winRates: readonly WinRatePoint[]) {
  return (name === "win_rate" ? winRates : episodes) as readonly MetricPoint[];
}

/**
 * One metric over episodes (or over timesteps, through the episodes' timesteps; points without one
 * are dropped), sorted by x; `band` only when some point is a downsampled group.
 */
export function metricSeries(
  points: readonly MetricPoint[],
  name: string,
  axis: XAxis = "episode",
  episodes: readonly Episode[] = [],
): MetricSeries {
  const steps = axis === "timestep" ? timestepIndex(episodes) : null;
  const rows: [number, number | null, number | null, number | null][] = [];
  let banded = false;
  for (const p of points) {
    const x = steps ? (num(p.timestep) ?? steps.get(p.episode) ?? null) : p.episode;
    if (x === null) continue;
    const y = num(p[name]);
    const lo = num(p[`${name}_min`]);
    const hi = num(p[`${name}_max`]);
    if (lo !== null || hi !== null) banded = true;
    rows.push([x, y, lo ?? y, hi ?? y]);
  }
  if (rows.some((r, i) => i > 0 && r[0] < rows[i - 1][0])) rows.sort((a, b) => a[0] - b[0]);
  const series: MetricSeries = { x: rows.map((r) => r[0]), y: rows.map((r) => r[1]) };
  return banded ? { ...series, band: { min: rows.map((r) => r[2]), max: rows.map((r) => r[3]) } } : series;
}

export const hasValues = (series: MetricSeries) => series.y.some((v) => v !== null);

/** The declared metrics that get a chart: numeric ones not shown another way (`chart`), declaration order. */
export function chartedSpecs(specs: readonly MetricSpec[]): MetricSpec[] {
  return specs.filter((s) => s.chart !== false && s.type !== "bool");
}

// Point fields that are not metrics: the x axes and a downsampled point's bookkeeping.
const NOT_METRICS = new Set(["episode", "time", "count", "timestep"]);

/**
 * The declarations plus a default one (unitless, averaged) for each metric the points carry but the
 * declarations lack: a custom metric first logged after the page loaded its run arrives by the live
 * stream before its declaration, and still gets its chart.
 */
export function withUndeclared(specs: readonly MetricSpec[], points: readonly Record<string, unknown>[]): MetricSpec[] {
  const known = new Set(specs.map((s) => s.name));
  const extra: MetricSpec[] = [];
  for (const p of points.length > 0 ? [points[points.length - 1]] : []) {
    for (const [name, value] of Object.entries(p)) {
      if (known.has(name) || NOT_METRICS.has(name) || /_(min|max)$/.test(name) || typeof value !== "number") continue;
      known.add(name);
      extra.push({
        name,
        type: "float",
        unit: "",
        description: "",
        aggregation: "mean",
        builtin: false,
        chart: true,
        title: "",
      });
    }
  }
  return extra.length ? [...specs, ...extra] : [...specs];
}

/** `opponent_score` → `Opponent score`. */
export function metricLabel(name: string): string {
  const words = name.replace(/_/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export const isPercent = (spec: MetricSpec) => spec.unit === FRACTION_UNIT;

/** The unit as shown next to the title, or "" when unitless (fractions are shown as %). */
export function unitLabel(spec: MetricSpec): string {
  return isPercent(spec) ? "%" : (spec.unit ?? "");
}

/** The y axis label: the unit when it has one, else the metric's name. */
export function axisLabel(spec: MetricSpec): string {
  const unit = unitLabel(spec);
  return unit && unit !== "%" ? unit : metricLabel(spec.name);
}

/** The charted metrics of several runs (for Compare): each name once, first declaration kept, in order. */
export function unionSpecs(lists: readonly (readonly MetricSpec[])[]): MetricSpec[] {
  const byName = new Map<string, MetricSpec>();
  for (const list of lists)
    for (const spec of chartedSpecs(list)) if (!byName.has(spec.name)) byName.set(spec.name, spec);
  return [...byName.values()];
}
