/**
 * Shaping stored rollouts into the Training diagnostics charts (x = timestep) and the evaluation
 * history into win-rate-against-timesteps curves with their interval bands. Pure functions.
 */
import type { Evaluation, Rollout } from "../api/evaluation";
import type { MetricSpec } from "../api/types";
import { chartedSpecs } from "./metrics";
import type { MetricSeries } from "./series";

const num = (v: number | null | undefined): number | null =>
  v !== null && v !== undefined && Number.isFinite(v) ? v : null;

/**
 * The declared per-rollout metrics that get a diagnostics chart (built-in and custom, served with the
 * rollouts), in declaration order; invalid actions always has one (it must visibly stay 0), the others
 * only when some rollout has a value.
 */
export function diagnosticCharts(
  specs: readonly MetricSpec[],
  rollouts: readonly Rollout[],
): { spec: MetricSpec; series: MetricSeries }[] {
  return chartedSpecs(specs)
    .map((spec) => ({ spec, series: rolloutSeries(rollouts, spec.name) }))
    .filter((c) => c.spec.name === INVALID_ACTIONS || hasValues(c.series));
}

const INVALID_ACTIONS = "invalid_actions";

function byTimestep(rollouts: readonly Rollout[]): Rollout[] {
  return [...rollouts].sort((a, b) => a.timestep - b.timestep || a.rollout - b.rollout);
}

/**
 * Steps per second of each rollout: the stored value, else derived from the timesteps and times of
 * consecutive rollouts (older runs stored none). The first rollout of a derived series has none.
 */
export function stepsPerSecond(rollouts: readonly Rollout[]): (number | null)[] {
  const sorted = byTimestep(rollouts);
  return sorted.map((r, i) => {
    const stored = num(r.steps_per_second);
    if (stored !== null) return stored;
    const prev = sorted[i - 1];
    if (!prev || !r.time || !prev.time) return null;
    const seconds = (Date.parse(r.time) - Date.parse(prev.time)) / 1000;
    return seconds > 0 ? (r.timestep - prev.timestep) / seconds : null;
  });
}

/** The value of a per-rollout metric: a built-in one is a field of the rollout, a custom one in `metrics`. */
function rolloutValue(r: Rollout, name: string): number | null {
  const own = (r as Record<string, unknown>)[name];
  const v = own !== undefined && name !== "metrics" ? own : r.metrics?.[name];
  return typeof v === "number" ? num(v) : null;
}

/** One per-rollout metric over timesteps (rollouts sorted by timestep). */
export function rolloutSeries(rollouts: readonly Rollout[], name: string): MetricSeries {
  const sorted = byTimestep(rollouts);
  const x = sorted.map((r) => r.timestep);
  if (name === "steps_per_second") return { x, y: stepsPerSecond(sorted) };
  return { x, y: sorted.map((r) => rolloutValue(r, name)) };
}

/** Whether a field has any value at all (charts of absent fields are left out). */
export function hasValues(series: MetricSeries): boolean {
  return series.y.some((v) => v !== null);
}

/** Invalid actions over the whole run and the rollouts that had any (must be none). */
export function invalidActions(rollouts: readonly Rollout[]): { total: number; rollouts: number[] } {
  let total = 0;
  const bad: number[] = [];
  for (const r of rollouts) {
    const n = r.invalid_actions ?? 0;
    if (n > 0) {
      total += n;
      bad.push(r.rollout);
    }
  }
  return { total, rollouts: bad };
}

/** One point of an evaluation curve, with the evaluation it came from (for opening its games). */
export interface CurvePoint {
  timestep: number;
  winRate: number;
  low: number;
  high: number;
  games: number;
  evaluationId: string;
  firstGame: number;
}

/**
 * Win rate against timesteps per opponent: one point per evaluated timestep (the newest evaluation
 * of that timestep wins, as a re-evaluation supersedes), ascending. Opponents in name order.
 */
export function evaluationCurves(evaluations: readonly Evaluation[]): Map<string, CurvePoint[]> {
  const newest = new Map<string, Map<number, { time: number; point: CurvePoint }>>();
  for (const e of evaluations) {
    const time = Date.parse(e.time ?? "") || 0;
    for (const r of e.results ?? []) {
      const perTimestep = newest.get(r.opponent) ?? new Map();
      newest.set(r.opponent, perTimestep);
      const seen = perTimestep.get(e.timestep);
      if (seen && seen.time > time) continue;
      perTimestep.set(e.timestep, {
        time,
        point: {
          timestep: e.timestep,
          winRate: r.win_rate,
          low: r.win_rate_ci.low,
          high: r.win_rate_ci.high,
          games: r.games,
          evaluationId: e.id,
          firstGame: r.first_game ?? 1,
        },
      });
    }
  }
  const out = new Map<string, CurvePoint[]>();
  for (const opponent of [...newest.keys()].sort()) {
    const points = [...newest.get(opponent)!.values()].map((v) => v.point);
    out.set(
      opponent,
      points.sort((a, b) => a.timestep - b.timestep),
    );
  }
  return out;
}

/** The timestep axis of the evaluation curve. uPlot centres a single x value in a range twice as
 * wide (one evaluation at 600,000 showed an axis to 1,200,000); a lone evaluation is drawn on an
 * axis from 0 to its timestep instead. */
export function timestepRange(min: number, max: number): [number, number] {
  return min === max ? [0, max > 0 ? max : 1] : [min, max];
}

/** A curve as a chart series: win rate with its interval as the band. */
export function curveSeries(points: readonly CurvePoint[]): MetricSeries {
  return {
    x: points.map((p) => p.timestep),
    y: points.map((p) => p.winRate),
    band: { min: points.map((p) => p.low), max: points.map((p) => p.high) },
  };
}

/** Evaluations newest first, for the history table. */
export function evaluationHistory(evaluations: readonly Evaluation[]): Evaluation[] {
  return [...evaluations].sort((a, b) => (Date.parse(b.time ?? "") || 0) - (Date.parse(a.time ?? "") || 0));
}

/** Per opponent, each run's evaluation curve (for the Compare overlay); opponents in name order. */
export function compareEvaluationCurves<R extends { id: string; evaluations: readonly Evaluation[] }>(
  runs: readonly R[],
): { opponent: string; runs: { run: R; series: MetricSeries }[] }[] {
  const perRun = runs.map((run) => ({ run, curves: evaluationCurves(run.evaluations) }));
  const opponents = [...new Set(perRun.flatMap((r) => [...r.curves.keys()]))].sort();
  return opponents.map((opponent) => ({
    opponent,
    runs: perRun.map(({ run, curves }) => ({ run, series: curveSeries(curves.get(opponent) ?? []) })),
  }));
}
