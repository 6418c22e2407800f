/**
 * Several runs' curves of one metric on one chart: each line smoothed on its own points, then all
 * joined onto one x axis (lib/series alignSeries) with gaps spanned.
 */
import { useMemo } from "react";
import type uPlot from "uplot";
import { ChartTitle, percentTick } from "../components/MetricChart";
import { UPlotChart } from "../components/UPlotChart";
import { shortId } from "../lib/format";
import { alignSeries, type MetricSeries } from "../lib/series";
import { emaSmooth } from "../lib/smoothing";

export interface CompareLine {
  label: string;
  color: string;
  series: MetricSeries;
}

export interface CompareChartProps {
  title: string;
  unit?: string;
  description?: string;
  testId: string;
  lines: readonly CompareLine[];
  smoothing: number;
  xLabel: string;
  yLabel: string;
  percent?: boolean;
  /** Charts with the same key zoom together; give charts on another x axis their own. */
  syncKey?: string;
}

export function CompareChart(props: CompareChartProps) {
  const { title, testId, lines, smoothing, xLabel, yLabel, percent = false, syncKey = "compare" } = props;
  const { unit, description } = props;
  const data = useMemo<uPlot.AlignedData>(() => {
    const { x, ys } = alignSeries(lines.map((l) => ({ x: l.series.x, y: emaSmooth(l.series.y, smoothing) })));
    return [x, ...ys] as uPlot.AlignedData;
  }, [lines, smoothing]);

  const options = useMemo<Omit<uPlot.Options, "width" | "height">>(() => {
    const value = (_u: uPlot, v: number | null) =>
      v === null || v === undefined ? "—" : percent ? `${(v * 100).toFixed(1)}%` : v.toFixed(3);
    return {
      scales: { x: { time: false }, ...(percent ? { y: { range: [0, 1] as uPlot.Range.MinMax } } : {}) },
      axes: [
        { label: xLabel },
        {
          label: yLabel,
          size: 60,
          ...(percent ? { values: (_u: uPlot, ticks: number[]) => ticks.map(percentTick) } : {}),
        },
      ],
      series: [
        { label: xLabel },
        ...lines.map((l) => ({ label: shortId(l.label), stroke: l.color, width: 2, spanGaps: true, value })),
      ],
      cursor: { drag: { x: true, y: false, setScale: true }, sync: { key: syncKey } },
    };
  }, [lines, xLabel, yLabel, percent, syncKey]);

  const hasPoints = lines.some((l) => l.series.x.length > 0);
  return (
    <section className="card chart-card" aria-label={title}>
      <header className="chart-card__header">
        <ChartTitle title={title} unit={unit} description={description} testId={testId} />
      </header>
      {!hasPoints ? (
        <div className="chart-empty" data-testid={`${testId}-empty`}>
          No data for these runs.
        </div>
      ) : (
        <div className="chart-frame" data-testid={testId} data-series-count={lines.length} data-points={data[0].length}>
          <UPlotChart options={options} data={data} testId={`${testId}-plot`} />
        </div>
      )}
    </section>
  );
}
