/**
 * Shaping API metric points into plain chart series: reward and win-rate series (with the min/max
 * band of downsampled buckets), x alignment by episode or timestep, merging live episodes into
 * history, and joining several runs onto one x axis for the comparison overlay.
 * Pure functions; charts (components/MetricChart, pages/ComparePage) only draw what these return.
 */
import type { Episode, WinRatePoint } from "../api/types";

export type XAxis = "episode" | "timestep";

export interface MetricSeries {
  /** Ascending x values (episode numbers or timesteps). */
  x: number[];
  y: (number | null)[];
  /** Lower and upper edge of each downsampled bucket; absent when every point is raw. */
  band?: { min: (number | null)[]; max: (number | null)[] };
}

const num = (v: number | null | undefined): number | null =>
  v !== null && v !== undefined && Number.isFinite(v) ? v : null;

function isAscending(xs: readonly number[]): boolean {
  for (let i = 1; i < xs.length; i++) if (xs[i] < xs[i - 1]) return false;
  return true;
}

/** Sort the points of a series by x (stable), if they are not sorted already. */
function sortByX(series: MetricSeries): MetricSeries {
  if (isAscending(series.x)) return series;
  const order = series.x.map((_, i) => i).sort((a, b) => series.x[a] - series.x[b]);
  const pick = <T>(arr: readonly T[]) => order.map((i) => arr[i]);
  return {
    x: pick(series.x),
    y: pick(series.y),
    band: series.band && { min: pick(series.band.min), max: pick(series.band.max) },
  };
}

function xOf(ep: Episode, axis: XAxis): number | null {
  return axis === "episode" ? ep.episode : num(ep.timestep);
}

/** Episode reward over episodes (or timesteps; points without a timestep are dropped). */
export function rewardSeries(episodes: readonly Episode[], axis: XAxis = "episode"): MetricSeries {
  const x: number[] = [];
  const y: (number | null)[] = [];
  const min: (number | null)[] = [];
  const max: (number | null)[] = [];
  let banded = false;
  for (const ep of episodes) {
    const xv = xOf(ep, axis);
    if (xv === null) continue;
    x.push(xv);
    y.push(num(ep.total_reward));
    const lo = num(ep.total_reward_min);
    const hi = num(ep.total_reward_max);
    if (lo !== null || hi !== null) banded = true;
    min.push(lo ?? num(ep.total_reward));
    max.push(hi ?? num(ep.total_reward));
  }
  return sortByX(banded ? { x, y, band: { min, max } } : { x, y });
}

/** Episode number → timestep, from the episodes that carry one. */
export function timestepIndex(episodes: readonly Episode[]): Map<number, number> {
  const index = new Map<number, number>();
  for (const ep of episodes) {
    const t = num(ep.timestep);
    if (t !== null) index.set(ep.episode, t);
  }
  return index;
}

/**
 * Rolling win rate over episodes, or over timesteps through the episodes' timesteps (points whose
 * episode has no known timestep are dropped).
 */
export function winRateSeries(
  points: readonly WinRatePoint[],
  axis: XAxis = "episode",
  episodes: readonly Episode[] = [],
): MetricSeries {
  const steps = axis === "timestep" ? timestepIndex(episodes) : null;
  const x: number[] = [];
  const y: (number | null)[] = [];
  const min: (number | null)[] = [];
  const max: (number | null)[] = [];
  let banded = false;
  for (const p of points) {
    const xv = steps ? steps.get(p.episode) : p.episode;
    if (xv === undefined) continue;
    x.push(xv);
    y.push(num(p.win_rate));
    const lo = num(p.win_rate_min);
    const hi = num(p.win_rate_max);
    if (lo !== null || hi !== null) banded = true;
    min.push(lo ?? num(p.win_rate));
    max.push(hi ?? num(p.win_rate));
  }
  return sortByX(banded ? { x, y, band: { min, max } } : { x, y });
}

/**
 * Append live points to history, keeping only those past the last known episode (so a reconnecting
 * stream that repeats itself adds nothing twice). Returns `base` itself when nothing is new.
 */
export function appendByEpisode<T extends { episode: number }>(base: readonly T[], extra: readonly T[]): T[] {
  let last = base.length ? base[base.length - 1].episode : -Infinity;
  const fresh: T[] = [];
  for (const p of extra) {
    if (p.episode > last) {
      fresh.push(p);
      last = p.episode;
    }
  }
  return fresh.length ? [...base, ...fresh] : (base as T[]);
}

/** The highest episode number in a list of points, or 0 when empty. */
export function lastEpisode(points: readonly { episode: number }[]): number {
  let last = 0;
  for (const p of points) if (p.episode > last) last = p.episode;
  return last;
}

/**
 * Join series with different x values onto one ascending x axis (the union), as uPlot wants:
 * `[xs, ys0, ys1, ...]`, with `null` where a series has no point at that x.
 */
export function alignSeries(series: readonly { x: readonly number[]; y: readonly (number | null)[] }[]): {
  x: number[];
  ys: (number | null)[][];
} {
  const all = new Set<number>();
  for (const s of series) for (const v of s.x) all.add(v);
  const x = [...all].sort((a, b) => a - b);
  const position = new Map<number, number>();
  x.forEach((v, i) => position.set(v, i));
  const ys = series.map((s) => {
    const out: (number | null)[] = new Array(x.length).fill(null);
    s.x.forEach((v, i) => {
      out[position.get(v)!] = s.y[i] ?? null;
    });
    return out;
  });
  return { x, ys };
}
