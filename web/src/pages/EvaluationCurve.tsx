/**
 * Evaluation win rate against timesteps, one line per opponent with its 95% interval as a band
 * (lib/diagnostics evaluationCurves). Clicking near a point opens that evaluation's first game
 * against the opponent in the replay viewer. Shares the timestep sync key of the diagnostics charts.
 */
import { useEffect, useMemo, useRef } from "react";
import { useNavigate } from "react-router";
import type uPlot from "uplot";
import type { Evaluation } from "../api/evaluation";
import { percentTick } from "../components/MetricChart";
import { SERIES_COLORS, withAlpha } from "../components/palette";
import { UPlotChart } from "../components/UPlotChart";
import { curveSeries, evaluationCurves, timestepRange, type CurvePoint } from "../lib/diagnostics";
import { gamePath } from "../lib/replay";
import { alignSeries } from "../lib/series";

const pct = (_u: uPlot, v: number | null) => (v === null || v === undefined ? "—" : `${(v * 100).toFixed(1)}%`);

export function EvaluationCurve({ runId, evaluations }: { runId: string; evaluations: readonly Evaluation[] }) {
  const navigate = useNavigate();
  const curves = useMemo(() => evaluationCurves(evaluations), [evaluations]);
  const opponents = useMemo(() => [...curves.keys()], [curves]);
  const points = useMemo(() => opponents.map((o) => curves.get(o)!), [curves, opponents]);

  const data = useMemo<uPlot.AlignedData>(() => {
    const cols = points.flatMap((p) => {
      const s = curveSeries(p);
      return [
        { x: s.x, y: s.y },
        { x: s.x, y: s.band!.min },
        { x: s.x, y: s.band!.max },
      ];
    });
    const { x, ys } = alignSeries(cols);
    return [x, ...ys] as uPlot.AlignedData;
  }, [points]);

  // Click: the opponent whose curve is nearest the pointer at the hovered timestep.
  const openRef = useRef<(u: uPlot) => void>(() => {});
  const open = (u: uPlot) => {
    const idx = u.cursor.idx;
    if (idx === null || idx === undefined || u.cursor.top === undefined) return;
    const x = u.data[0][idx];
    const y = u.posToVal(u.cursor.top, "y");
    let best: CurvePoint | null = null;
    let bestDist = Infinity;
    points.forEach((curve) => {
      const p = curve.find((c) => c.timestep === x);
      if (p && Math.abs(p.winRate - y) < bestDist) {
        best = p;
        bestDist = Math.abs(p.winRate - y);
      }
    });
    if (best) void navigate(gamePath(runId, (best as CurvePoint).firstGame));
  };
  useEffect(() => {
    openRef.current = open;
  });

  const options = useMemo<Omit<uPlot.Options, "width" | "height">>(() => {
    const series: uPlot.Series[] = [{ label: "Timestep" }];
    const bands: uPlot.Band[] = [];
    opponents.forEach((o, i) => {
      const color = SERIES_COLORS[i % SERIES_COLORS.length];
      const base = series.length;
      series.push(
        { label: `vs ${o}`, stroke: color, width: 2, spanGaps: true, value: pct, points: { show: true, size: 7 } },
        {
          label: `${o} 95% low`,
          stroke: withAlpha(color, 0.3),
          width: 1,
          spanGaps: true,
          value: pct,
          points: { show: false },
        },
        {
          label: `${o} 95% high`,
          stroke: withAlpha(color, 0.3),
          width: 1,
          spanGaps: true,
          value: pct,
          points: { show: false },
        },
      );
      bands.push({ series: [base + 2, base + 1], fill: withAlpha(color, 0.15) });
    });
    return {
      scales: {
        x: { time: false, range: (_u: uPlot, min: number, max: number) => timestepRange(min, max) },
        y: { range: [0, 1] as uPlot.Range.MinMax },
      },
      axes: [
        { label: "Timestep" },
        { label: "Win rate", size: 60, values: (_u: uPlot, ticks: number[]) => ticks.map(percentTick) },
      ],
      series,
      bands,
      cursor: { drag: { x: true, y: false, setScale: true }, sync: { key: `run-${runId}-timestep` } },
      legend: { show: false }, // the band edges would crowd it; the card draws its own legend
      hooks: {
        ready: [
          (u: uPlot) => {
            u.over.addEventListener("click", () => openRef.current(u));
            u.over.style.cursor = "pointer";
          },
        ],
      },
    };
  }, [opponents, runId]);

  const evaluated = points.reduce((n, p) => n + p.length, 0);
  return (
    <section className="card chart-card" aria-label="Evaluation win rate" data-testid="evaluation-curve-card">
      <header className="chart-card__header">
        <h3>Evaluation win rate over timesteps</h3>
      </header>
      {evaluated === 0 ? (
        <div className="chart-empty" data-testid="evaluation-curve-empty">
          No evaluations yet. Set evaluation.every_timesteps to evaluate during training.
        </div>
      ) : (
        <div
          className="chart-frame"
          data-testid="evaluation-curve"
          data-series-count={opponents.length}
          data-series={opponents.join(",")}
          data-points={data[0].length}
        >
          <UPlotChart options={options} data={data} testId="evaluation-curve-plot" />
        </div>
      )}
      <div className="legend" data-testid="evaluation-curve-legend">
        {opponents.map((o, i) => (
          <span key={o}>
            <span className="legend__swatch" style={{ background: SERIES_COLORS[i % SERIES_COLORS.length] }} /> vs {o}
          </span>
        ))}
      </div>
      <footer className="chart-card__note">
        Each point is one evaluation (fixed seeds, seats alternating); the band is its 95% Wilson interval. Click a
        point to replay its games.
      </footer>
    </section>
  );
}
