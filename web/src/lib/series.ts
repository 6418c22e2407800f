/**
 * Plain chart series and their plumbing: the series type, episode → timestep lookup, merging live
 * episodes into history, and joining several runs onto one x axis for the comparison overlay. The
 * series of a metric by name is lib/metrics' `metricSeries`. Pure functions.
 */
import type { Episode } from "../api/types";

export type XAxis = "episode" | "timestep";

export interface MetricSeries {
  /** Ascending x values (episode numbers or timesteps). */
  x: number[];
  y: (number | null)[];
  /** Lower and upper edge of each downsampled bucket; absent when every point is raw. */
  band?: { min: (number | null)[]; max: (number | null)[] };
}

/** Episode number → timestep, from the episodes that carry one. */
export function timestepIndex(episodes: readonly Episode[]): Map<number, number> {
  const index = new Map<number, number>();
  for (const ep of episodes) {
    const t = ep.timestep;
    if (typeof t === "number" && Number.isFinite(t)) index.set(ep.episode, t);
  }
  return index;
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
